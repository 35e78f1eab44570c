package web

import (
	"context"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store"
)

var (
	postIDs   = regexp.MustCompile(`id="post-(p\d+)"`)
	pagerLink = regexp.MustCompile(`<a href="([^"]+)" rel="(prev|next)"`)
)

// TestPaging walks the profile and a tag page through 45 posts both ways:
// every page but the last holds 20 posts, Older appears only when older
// posts exist (not on a full last page), and Newer leads to the page just
// before, not back to the start.
func TestPaging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	put := func(n int) {
		err := k.inst.DB.Update(ctx, func(tx *store.Tx) error {
			for i := 1; i <= n; i++ {
				id := fmt.Sprintf("p%03d", i)
				p := &store.Post{
					IRI: k.inst.URLs.Post(id), LocalID: id, AuthorIRI: k.inst.URLs.Actor(), Type: "Note",
					Visibility: store.Public, ContentHTML: "<p>post " + id + "</p>", Published: time.Now(),
					Tags: []string{"all"},
				}
				if err := tx.PutPost(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(45)
	visitor := k.visitor()
	type view struct {
		first, last  string // post ids
		n            int
		newer, older string
	}
	read := func(path string) view {
		t.Helper()
		body := visitor.get(path).Body.String()
		ids := postIDs.FindAllStringSubmatch(body, -1)
		v := view{n: len(ids)}
		if len(ids) > 0 {
			v.first, v.last = ids[0][1], ids[len(ids)-1][1]
		}
		for _, m := range pagerLink.FindAllStringSubmatch(body, -1) {
			u := strings.TrimPrefix(html.UnescapeString(m[1]), k.inst.URLs.Base())
			if m[2] == "prev" {
				v.newer = u
			} else {
				v.older = u
			}
		}
		return v
	}
	for _, base := range []string{"/@me", "/tags/all"} {
		t.Run(base, func(t *testing.T) {
			p1 := read(base)
			if p1.n != 20 || p1.first != "p045" || p1.last != "p026" || p1.newer != "" || p1.older == "" {
				t.Fatalf("page 1 = %+v; want p045…p026, Older only", p1)
			}
			p2 := read(p1.older)
			if p2.n != 20 || p2.first != "p025" || p2.last != "p006" || p2.newer == "" || p2.older == "" {
				t.Fatalf("page 2 = %+v; want p025…p006 with both links", p2)
			}
			p3 := read(p2.older)
			if p3.n != 5 || p3.first != "p005" || p3.last != "p001" || p3.older != "" {
				t.Fatalf("page 3 = %+v; want p005…p001 and no Older", p3)
			}
			back := read(p3.newer)
			if back.first != "p025" || back.last != "p006" {
				t.Errorf("Newer from page 3 = %+v; want page 2 again (p025…p006)", back)
			}
			top := read(back.newer)
			if top.first != "p045" || top.last != "p026" || top.newer != "" {
				t.Errorf("Newer from page 2 = %+v; want the newest posts and no Newer", top)
			}
		})
	}

	// With exactly 40 posts, page 2 is the last: no Older to an empty page.
	k2 := newKit(t, aptest.InstanceOptions{})
	k = k2
	visitor = k.visitor()
	put(40)
	p2 := read(read("/@me").older)
	if p2.n != 20 || p2.older != "" {
		t.Errorf("page 2 of 40 = %+v; want 20 posts and no Older", p2)
	}
}
