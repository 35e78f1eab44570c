package store_test

import (
	"context"
	"slices"
	"testing"

	"kith/store"
	"kith/store/storetest"
)

// TestSearchHits: the words a search matched are found as the index
// matched them: case and diacritics folded by FTS5 (not by Go), whole
// words, the last word typed as the start of words from three characters
// on, never a word that only holds the letters in its middle.
func TestSearchHits(t *testing.T) {
	db := storetest.Open(t)
	for _, tt := range []struct {
		q, text string
		want    []string
	}{
		{"cafe", "Café au lait, CAFÉS, cafe, cafetière; décafe", []string{"Café", "CAFÉ", "cafe", "cafe"}},
		{"CAFÉ", "café, Cafe, CAFE; cafés", []string{"café", "Cafe", "CAFE", "café"}},
		{"café lait", "Café au lait; CAFE laiteux, cafés", []string{"Café", "lait", "CAFE", "lait"}},
		{"cafe", "cafe\u0301 with a combining accent", []string{"cafe\u0301"}},
		{"Délív", "Next: delivery, DELIVERIES and redelivery", []string{"deliv", "DELIV"}},
		{"délívery", "Delivery", []string{"Delivery"}},
		{"straße", "Die Straße, die STRASSE, die Strasse, ſtraße", []string{"Straße", "ſtraße"}},
		{"STRASSE", "Die Straße, die STRASSE", []string{"STRASSE"}},
		{"river", "Riverbank and the river; unriver, deliverer", []string{"River", "river"}},
		{"pi", "Raspberry Pi and a pie, happiness. PI", []string{"Pi", "PI"}},
		{"ça", "Ça va; a cactus, ca", []string{"Ça", "ca"}},
		{"raspberry serv", "Raspberry servers served; raspberryish", []string{"Raspberry", "serv", "serv"}},
		{"日本", "日本語のテスト", []string{"日本"}},
		{"bc", "a\u0305bc: U+0305 is a separator to FTS5", []string{"bc"}},
		{"zyzzyva", "nothing here", nil},
	} {
		t.Run(tt.q, func(t *testing.T) {
			hits, err := db.SearchHits(context.Background(), store.SearchTerms(tt.q), []string{"", tt.text})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 2 || len(hits[0]) != 0 {
				t.Fatalf("hits %v; want none in the empty text, then the text's", hits)
			}
			var got []string
			for _, h := range hits[1] {
				got = append(got, tt.text[h[0]:h[1]])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("marks %q; want %q", got, tt.want)
			}
		})
	}
	// Again, once the folds are kept and after they are released.
	for range 2 {
		hits, err := db.SearchHits(context.Background(), store.SearchTerms("cafe"), []string{"Un café"})
		if err != nil || len(hits) != 1 || !slices.Equal(hits[0], [][2]int{{3, 8}}) {
			t.Errorf("hits %v, %v; want [[[3 8]]]", hits, err)
		}
		if err := db.ReleaseMemory(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
