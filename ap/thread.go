package ap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kith/store"
)

// ThreadLimits bound the fetching of a conversation, so that a thread of
// ten thousand posts, a reply chain that loops or a server that answers
// slowly costs a known amount of work.
type ThreadLimits struct {
	Ancestors int           // posts followed up the inReplyTo chain
	Depth     int           // levels of replies read below the root
	Fetches   int           // documents fetched in all (posts, collection pages, authors)
	Time      time.Duration // the whole fetch
}

// DefaultThreadLimits are the limits a Service uses unless told otherwise:
// a 200-post conversation fits, as the page shows it.
func DefaultThreadLimits() ThreadLimits {
	return ThreadLimits{Ancestors: 40, Depth: 20, Fetches: 300, Time: 30 * time.Second}
}

// threadMaxAge is how long a fetched thread is shown as it is before it is
// fetched again.
const threadMaxAge = 15 * time.Minute

// ThreadFetch reports what a thread fetch did.
type ThreadFetch struct {
	Root    string // the topmost post reached
	Stored  int    // posts fetched and stored
	Fetches int    // documents fetched
	Stopped string // why it ended early ("" when it read everything offered)
}

// threadRun is the state of one thread fetch.
type threadRun struct {
	s        *Service
	lim      ThreadLimits
	seen     map[string]bool // IRIs read or tried: never fetched twice
	expanded map[string]bool // posts whose replies were listed
	res      ThreadFetch
}

func newThreadRun(s *Service, lim ThreadLimits) *threadRun {
	return &threadRun{s: s, lim: lim, seen: map[string]bool{}, expanded: map[string]bool{}}
}

// errBudget ends a thread fetch that has used its fetches.
var errBudget = errors.New("fetch budget used")

// FetchThread fetches the conversation around the post iri and stores its
// posts: the ancestors up the inReplyTo chain, then the replies from each
// post's replies collection, breadth first from the root, and the posts of
// the root's context collection where its server offers one (FEP-7888;
// Pleroma's and Mastodon's context or conversation ids that do not answer
// with a collection are passed over). Every object is taken only from its
// own host, and only public and unlisted posts are stored. It stops at the
// limits and records when it ran.
func (s *Service) FetchThread(ctx context.Context, iri string) (ThreadFetch, error) {
	lim := s.threadLimits
	ctx, cancel := context.WithTimeout(ctx, lim.Time)
	defer cancel()
	t := newThreadRun(s, lim)
	err := t.run(ctx, iri)
	switch {
	case t.res.Root == "" && err == nil:
		err = ctx.Err()
	case t.res.Root == "":
		// The post itself could not be read: nothing to show.
	case errors.Is(err, errBudget):
		t.res.Stopped, err = "fetch limit", nil
	case ctx.Err() != nil:
		t.res.Stopped, err = "time limit", nil
	}
	if err != nil {
		return t.res, err
	}
	if err := s.db.MarkThreadFetched(context.WithoutCancel(ctx), iri, s.now(), t.res.Stored); err != nil {
		return t.res, err
	}
	if t.res.Stopped != "" {
		s.log.Info("thread fetch stopped at its limit", "post", iri, "why", t.res.Stopped, "stored", t.res.Stored)
	}
	return t.res, nil
}

func (t *threadRun) run(ctx context.Context, iri string) error {
	focus, err := t.post(ctx, iri)
	if err != nil {
		return err
	}
	if focus == nil {
		return fmt.Errorf("%s is not a public post", iri)
	}
	t.res.Root = focus.IRI
	// Up the chain, as far as the limit; a chain that comes back on
	// itself ends where it would repeat.
	root := focus
	for range t.lim.Ancestors {
		parent := root.InReplyTo
		if parent == "" || t.seen[parent] {
			break
		}
		p, err := t.post(ctx, parent)
		if err != nil || p == nil {
			if errors.Is(err, errBudget) || ctx.Err() != nil {
				return err
			}
			break // a deleted or unreachable parent: the thread starts below it
		}
		root = p
	}
	t.res.Root = root.IRI
	t.expanded[root.IRI] = true
	if err := t.context(ctx, root); err != nil {
		return err
	}
	// Down from the root, a level at a time, so that when a limit stops
	// the walk the posts nearest the root are the ones read.
	level := []*store.Post{root}
	for depth := 0; depth < t.lim.Depth && len(level) > 0; depth++ {
		var next []*store.Post
		for _, p := range level {
			for _, c := range t.replies(ctx, p) {
				if t.expanded[c] {
					continue
				}
				t.expanded[c] = true
				r, err := t.post(ctx, c)
				if err != nil {
					if errors.Is(err, errBudget) || ctx.Err() != nil {
						return err
					}
					continue
				}
				if r != nil {
					next = append(next, r)
				}
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		level = next
	}
	return nil
}

// spend counts one fetch against the budget.
func (t *threadRun) spend() error {
	if t.res.Fetches >= t.lim.Fetches {
		return errBudget
	}
	t.res.Fetches++
	return nil
}

// post returns the post iri, from the store or fetched from its origin
// and stored. It returns nil, nil for what is not a public or unlisted
// post (a deleted post, an actor, a followers-only note).
func (t *threadRun) post(ctx context.Context, iri string) (*store.Post, error) {
	if p, err := t.s.db.PostByIRI(ctx, iri); err == nil {
		t.seen[iri] = true
		return p, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	tried := t.seen[iri]
	t.seen[iri] = true
	if tried || t.s.urls.IsLocal(iri) || hostOf(iri) == "" {
		return nil, nil
	}
	if gone, err := t.s.db.IsTombstoned(ctx, iri); err != nil || gone {
		return nil, err
	}
	if err := t.spend(); err != nil {
		return nil, err
	}
	body, id, err := t.s.fetch.GetObject(ctx, iri)
	if err != nil {
		return nil, err
	}
	return t.store(ctx, body, id)
}

// store keeps an object that came from the host of its id, if it is a
// public or unlisted post written by an actor of that host.
func (t *threadRun) store(ctx context.Context, raw []byte, id string) (*store.Post, error) {
	var o Object
	if err := json.Unmarshal(raw, &o); err != nil || o.ID != id || !isPostType(o.Type) {
		return nil, nil
	}
	t.seen[id] = true
	author := string(o.AttributedTo)
	if !sameOrigin(author, o.ID) {
		return nil, nil
	}
	// As at the inbox: nothing of a blocked account or domain is kept.
	if blocked, err := t.s.db.IsBlocked(ctx, append(blockTargets(author), author)...); err != nil || blocked {
		return nil, err
	}
	a, err := t.s.db.ActorByIRI(ctx, author)
	if errors.Is(err, store.ErrNotFound) {
		a = &store.Actor{IRI: author}
		if t.spend() == nil {
			if fetched, err := t.s.fetch.Actor(ctx, author, ""); err == nil && fetched.IRI == author {
				if err := t.s.db.PutActor(ctx, fetched); err == nil {
					a = fetched
				}
			}
		}
	} else if err != nil {
		return nil, err
	}
	p := remotePost(&o, raw, a, t.s.now())
	if p.Visibility != store.Public && p.Visibility != store.Unlisted {
		return nil, nil
	}
	if t.s.urls.IsLocal(p.InReplyTo) {
		// A reply to us that was never delivered shows or waits exactly
		// as it would have, had it come to the inbox.
		if p.Approval, err = t.s.replyApproval(ctx, a.IRI); err != nil {
			return nil, err
		}
	}
	err = t.s.db.Update(ctx, func(tx *store.Tx) error {
		if old, err := tx.PostByIRI(ctx, p.IRI); err == nil {
			*p = *old // stored meanwhile (by the inbox): that copy stands
			return nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.PutPost(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	t.res.Stored++
	return p, nil
}

// maxCollectionPages is how many pages of one replies collection are read.
const maxCollectionPages = 10

// replies returns the IRIs of the replies to p: those stored, and those
// its replies collection lists. Errors end the listing, not the thread.
func (t *threadRun) replies(ctx context.Context, p *store.Post) []string {
	out, err := t.s.db.ChildIRIs(ctx, p.IRI, t.lim.Fetches)
	if err != nil {
		return nil
	}
	if p.LocalID != "" || p.Raw == "" {
		return out // replies to our posts arrive in the inbox
	}
	var doc struct {
		Replies json.RawMessage `json:"replies"`
	}
	if json.Unmarshal([]byte(p.Raw), &doc) != nil {
		return out
	}
	return append(out, t.collection(ctx, doc.Replies, p.IRI)...)
}

// context reads the root's context collection, where its server offers
// one, and stores the posts it lists.
func (t *threadRun) context(ctx context.Context, root *store.Post) error {
	if root.Raw == "" {
		return nil
	}
	var doc struct {
		Context json.RawMessage `json:"context"`
	}
	if json.Unmarshal([]byte(root.Raw), &doc) != nil || len(doc.Context) == 0 {
		return nil
	}
	for _, iri := range t.collection(ctx, doc.Context, root.IRI) {
		if t.seen[iri] {
			continue
		}
		if _, err := t.post(ctx, iri); errors.Is(err, errBudget) || ctx.Err() != nil {
			return err
		}
	}
	return nil
}

// collectionDoc is the lenient view of a Collection, an OrderedCollection
// or one of their pages.
type collectionDoc struct {
	ID           string          `json:"id"`
	Type         Types           `json:"type"`
	First        json.RawMessage `json:"first"`
	Next         json.RawMessage `json:"next"`
	Items        json.RawMessage `json:"items"`
	OrderedItems json.RawMessage `json:"orderedItems"`
	TotalItems   *int            `json:"totalItems"` // for the remote profile's counts
}

func (c *collectionDoc) isCollection() bool {
	for _, s := range []string{"Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage"} {
		if c.Type.Is(s) {
			return true
		}
	}
	return false
}

// collection lists the items of a collection given as an IRI or embedded
// in a document from origin's host, reading at most maxCollectionPages
// pages. Embedded items from the host that served them are stored as they
// are; items from elsewhere are listed by id, to be fetched from their
// own host.
func (t *threadRun) collection(ctx context.Context, raw json.RawMessage, origin string) []string {
	var out []string
	for page := 0; page <= maxCollectionPages && len(raw) > 0 && ctx.Err() == nil; page++ {
		var c collectionDoc
		if raw[0] == '"' {
			iri := IDOf(raw)
			if hostOf(iri) == "" || t.seen["collection "+iri] || t.spend() != nil {
				break
			}
			t.seen["collection "+iri] = true
			body, id, err := t.s.fetch.GetObject(ctx, iri)
			if err != nil || json.Unmarshal(body, &c) != nil {
				break
			}
			origin = id
		} else if json.Unmarshal(raw, &c) != nil || (c.ID != "" && !sameOrigin(c.ID, origin)) {
			break
		}
		if !c.isCollection() {
			break
		}
		for _, items := range []json.RawMessage{c.OrderedItems, c.Items} {
			var list Many[json.RawMessage]
			if json.Unmarshal(items, &list) != nil {
				continue
			}
			for _, it := range list {
				if iri := t.item(ctx, it, origin); iri != "" {
					out = append(out, iri)
				}
			}
		}
		raw = c.following()
	}
	return out
}

// following is what to read after c: its first page (c is the collection
// itself), else its next page (c is a page), else nothing.
func (c *collectionDoc) following() json.RawMessage {
	switch {
	case len(c.First) > 0 && string(c.First) != "null":
		return c.First
	case len(c.Next) > 0 && string(c.Next) != "null":
		return c.Next
	}
	return nil
}

// item reads one entry of a collection: an IRI, a post, or an activity
// (FEP-7888 context collections may list Create activities) whose object
// is the post.
func (t *threadRun) item(ctx context.Context, raw json.RawMessage, origin string) string {
	iri := IDOf(raw)
	if hostOf(iri) == "" || raw[0] == '"' {
		return iri
	}
	var head struct {
		Type   Types           `json:"type"`
		Object json.RawMessage `json:"object"`
	}
	if json.Unmarshal(raw, &head) != nil {
		return ""
	}
	if head.Type.Is("Create") && len(head.Object) > 0 {
		return t.item(ctx, head.Object, origin)
	}
	if sameOrigin(iri, origin) && !t.seen[iri] && isPostType(head.Type) {
		// Embedded by its own host: as good as fetched. Stored here,
		// and listed so that its replies are read too.
		if _, err := t.s.db.PostByIRI(ctx, iri); errors.Is(err, store.ErrNotFound) {
			t.store(ctx, raw, iri)
		}
	}
	return iri
}

// RefreshThread makes sure the thread around iri is fetched and fresh. A
// thread fetched less than threadMaxAge ago is left alone; otherwise a
// fetch starts in the background (one per thread at a time) with its own
// deadline, and RefreshThread waits for it at most wait, so that a page
// never hangs on a slow server: it shows what is stored, and the rest on
// the next visit.
func (s *Service) RefreshThread(ctx context.Context, iri string, wait time.Duration) (done bool) {
	at, err := s.db.ThreadFetchedAt(ctx, iri)
	if err != nil {
		return false
	}
	if !at.IsZero() && s.now().Sub(at) < threadMaxAge {
		return true
	}
	s.threadMu.Lock()
	ch, running := s.threads[iri]
	if !running {
		ch = make(chan struct{})
		s.threads[iri] = ch
		go func() {
			defer func() {
				s.threadMu.Lock()
				delete(s.threads, iri)
				s.threadMu.Unlock()
				close(ch)
			}()
			if _, err := s.FetchThread(context.WithoutCancel(ctx), iri); err != nil {
				s.log.Info("thread fetch failed", "post", iri, "err", err)
			}
		}()
	}
	s.threadMu.Unlock()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-ch:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

// FetchPost returns the post at iri (an id or a URL the owner pasted),
// from the store or fetched from its origin and stored, for search.
func (s *Service) FetchPost(ctx context.Context, iri string) (*store.Post, error) {
	if p, err := s.db.PostByIRI(ctx, iri); err == nil {
		return p, nil
	}
	t := newThreadRun(s, ThreadLimits{Fetches: 2})
	if t.spend() != nil {
		return nil, errBudget
	}
	body, id, err := s.fetch.GetObject(ctx, iri)
	if err != nil {
		return nil, err
	}
	if p, err := s.db.PostByIRI(ctx, id); err == nil {
		return p, nil // a URL of a post we hold under its id
	}
	p, err := t.store(ctx, body, id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("%s is not a public post", strings.TrimSpace(iri))
	}
	return p, nil
}
