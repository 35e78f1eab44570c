package ap

import (
	"encoding/json"
	"testing"
)

// TestPlainString: the shortcut for JSON strings without escapes gives
// what json.Unmarshal gives, and leaves everything else to it.
func TestPlainString(t *testing.T) {
	for _, tt := range []struct {
		in    string
		plain bool
	}{
		{`"https://a.example/users/x"`, true}, {`""`, true}, {`"é"`, true},
		{`"a\"b"`, false}, {`"a\nb"`, false}, {`"\u00e9"`, false}, {"\"a\nb\"", false},
		{"\"\xff\"", false}, {`"a"b"`, false}, {`"abc`, false}, {`abc"`, false}, {`"`, false},
	} {
		got, ok := plainString([]byte(tt.in))
		if ok != tt.plain {
			t.Errorf("plainString(%q) ok = %v; want %v", tt.in, ok, tt.plain)
		}
		var want string
		if ok && (json.Unmarshal([]byte(tt.in), &want) != nil || got != want) {
			t.Errorf("plainString(%q) = %q; json.Unmarshal gives %q", tt.in, got, want)
		}
	}
}
