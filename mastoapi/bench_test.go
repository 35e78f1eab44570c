package mastoapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"kith/ap/aptest"
	"kith/store/storetest"
)

// benchContent is a seeded post's HTML: a paragraph with a link and a tag.
const benchContent = `<p>A post of ordinary length, with <a href="https://example.org/a">a link</a> and <a href="https://r.example/tags/kith" rel="tag">#kith</a>, about what someone had for lunch and why it mattered.</p>`

// BenchmarkHomeTimelineAPI: GET /api/v1/timelines/home?limit=40 with
// 100,000 remote posts by 10,000 actors on the home timeline (issue 9's
// figure), newest and an older page, with the p50 and p99 of its requests.
func BenchmarkHomeTimelineAPI(b *testing.B) {
	k := newKit(b, aptest.InstanceOptions{})
	began := time.Now()
	actors := storetest.SeedActors(b, k.inst.DB.Path(), 10_000)
	sids := storetest.SeedHome(b, k.inst.DB.Path(), actors, 100_000, benchContent)
	b.Logf("seeded %d actors and %d posts in %s", len(actors), len(sids), time.Since(began).Round(time.Millisecond))
	tok := k.login("read")
	for _, bc := range []struct{ name, path string }{
		{"newest", "/api/v1/timelines/home?limit=40"},
		{"older", "/api/v1/timelines/home?limit=40&max_id=" + sids[len(sids)/2]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bc.path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				t0 := time.Now()
				k.h.ServeHTTP(rec, req)
				lat = append(lat, time.Since(t0))
				if rec.Code != http.StatusOK || strings.Count(rec.Body.String(), `"reblog":`) != 40 {
					b.Fatalf("GET %s: status %d, not 40 statuses", bc.path, rec.Code)
				}
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}

// BenchmarkStatusJSONFloor is the floor of the figure above: encoding 40
// statuses already in memory, shaped like the timeline's, which any
// server answering this endpoint must at least do.
func BenchmarkStatusJSONFloor(b *testing.B) {
	acc := &Account{ID: "1", Username: "u1", Acct: "u1@r1.example", Avatar: "https://r1.example/a.png", Emojis: []CustomEmoj{}, Roles: []struct{}{}, Fields: []Field{}}
	url := "https://r1.example/users/u1/statuses/1"
	statuses := make([]*Status, 40)
	for i := range statuses {
		statuses[i] = &Status{ID: "01jeh00000000000000000000", CreatedAt: timeJSON(time.Now()), Visibility: "public", URI: url, URL: &url,
			Content: benchContent, Account: acc, MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{{Name: "kith", URL: url}}, Emojis: []CustomEmoj{}}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := json.Marshal(statuses); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	reportLatency(b, lat)
}

// reportLatency adds the p50 and p99 of lat to the benchmark's output.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) }
	b.ReportMetric(pct(0.50), "p50-ns")
	b.ReportMetric(pct(0.99), "p99-ns")
}
