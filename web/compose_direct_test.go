package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestDirectPostNeedsRecipients: a direct post goes only to the people it
// mentions, so one that mentions nobody, or nobody who could be found, is
// refused on the form (preview and publish alike) with everything typed
// kept; with a mention that resolves, it is published.
func TestDirectPostNeedsRecipients(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	remote.AddActor("alice", aptest.Key(t, "remote"))
	k.login()
	for _, tt := range []struct{ name, text, want string }{
		{"no mention", "Just between us", "mentions nobody"},
		{"only myself", "Note to @me@" + k.inst.URLs.Domain(), "mentions nobody"},
		{"not found", "Hello @nobody@" + remote.Host, "@nobody@" + remote.Host + " could not be found"},
	} {
		for _, action := range []string{"preview", "publish"} {
			rec := k.postMultipart("/compose", url.Values{"text": {tt.text}, "visibility": {"direct"}, "cw": {"kept too"}, "action": {action}})
			body := rec.Body.String()
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(errorNotice(body), tt.want) {
				t.Errorf("%s, %s: status %d, notice %q; want 422 saying %q", tt.name, action, rec.Code, errorNotice(body), tt.want)
			}
			if !strings.Contains(body, ">"+tt.text+"</textarea>") || !strings.Contains(body, `value="kept too"`) ||
				!strings.Contains(body, `value="direct" checked`) {
				t.Errorf("%s, %s: the form does not keep what was typed", tt.name, action)
			}
		}
	}
	if posts, _ := k.counts(); posts != 0 {
		t.Fatalf("%d posts stored; want none", posts)
	}
	k.publish("Hello @alice@"+remote.Host, "direct")
	if posts, _ := k.counts(); posts != 1 {
		t.Errorf("%d posts after a direct post to someone found; want 1", posts)
	}
}
