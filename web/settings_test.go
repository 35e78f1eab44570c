package web

import (
	"context"
	"image/color"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"kith/ap/aptest"
)

// TestProfileSettings: the name, bio, fields, avatar and lock are saved,
// shown on the profile and in the actor document other servers read.
func TestProfileSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	k := newKit(t, aptest.InstanceOptions{})
	k.login()
	rec := k.postMultipart("/settings/profile", url.Values{
		"display_name":     {"Ada Lovelace"},
		"bio":              {"Writes about **engines** and #maths."},
		"field_name_0":     {"Website"},
		"field_value_0":    {"https://ada.example/"},
		"field_name_1":     {"Pronouns"},
		"field_value_1":    {"she/her"},
		"locked":           {"1"},
		"authorized_fetch": {"1"},
	}, file{"avatar", "me.png", pngImage(t, 16, 16, color.RGBA{B: 200, A: 255})})
	if rec.Code != http.StatusSeeOther || location(t, rec) != "/settings/profile?saved=1" {
		t.Fatalf("save: status %d to %q; want 303 back to the form\n%s", rec.Code, rec.Header().Get("Location"), errorNotice(rec.Body.String()))
	}
	acct, err := k.inst.DB.Account(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if acct.DisplayName != "Ada Lovelace" || !acct.Locked || acct.AvatarMediaID == "" || len(acct.Fields) != 2 {
		t.Fatalf("account: name %q locked %v avatar %q fields %d; want all saved", acct.DisplayName, acct.Locked, acct.AvatarMediaID, len(acct.Fields))
	}

	if on, err := k.inst.DB.AuthorizedFetch(ctx); err != nil || !on {
		t.Errorf("authorized fetch after saving it ticked: %v (%v)", on, err)
	}

	form := k.get("/settings/profile?saved=1").Body.String()
	for _, want := range []string{"Saved.", `value="Ada Lovelace"`, "engines** and #maths.</textarea>", `value="https://ada.example/"`,
		`name="locked" value="1" checked`, `name="authorized_fetch" value="1" checked`, `name="remove_avatar"`} {
		if !strings.Contains(form, want) {
			t.Errorf("settings form lacks %q", want)
		}
	}

	// Unsigned, the actor document is now the minimal one; the rest of
	// the test reads it whole.
	if err := k.inst.DB.SetAuthorizedFetch(ctx, false); err != nil {
		t.Fatal(err)
	}

	profile := k.visitor().get("/@me").Body.String()
	for _, want := range []string{
		"<h1>Ada Lovelace</h1>",
		"<strong>engines</strong>",
		`href="` + k.inst.URLs.Tag("maths") + `"`,
		"<dt>Website</dt>",
		`rel="me nofollow noopener noreferrer"`,
		"<dd>she/her</dd>",
		`src="` + k.inst.URLs.MediaPreview(acct.AvatarMediaID, ".img") + `"`,
		"approves followers",
	} {
		if !strings.Contains(profile, want) {
			t.Errorf("profile page lacks %q", want)
		}
	}

	status, actor := k.fedGET(k.inst.URLs.Actor())
	if status != http.StatusOK {
		t.Fatalf("actor: status %d", status)
	}
	if actor["name"] != "Ada Lovelace" || !strings.Contains(actor["summary"].(string), "<strong>engines</strong>") || actor["manuallyApprovesFollowers"] != true {
		t.Errorf("actor name %v summary %v locked %v; want the new profile", actor["name"], actor["summary"], actor["manuallyApprovesFollowers"])
	}
	att, _ := actor["attachment"].([]any)
	if len(att) != 2 {
		t.Fatalf("actor attachment = %v; want two fields", actor["attachment"])
	}
	f0 := att[0].(map[string]any)
	if f0["type"] != "PropertyValue" || f0["name"] != "Website" || !strings.Contains(f0["value"].(string), `rel="me`) {
		t.Errorf("first field = %v; want a PropertyValue whose link has rel=me", f0)
	}
	icon, _ := actor["icon"].(map[string]any)
	if icon == nil || !strings.Contains(icon["url"].(string), acct.AvatarMediaID) {
		t.Errorf("actor icon = %v; want the avatar", actor["icon"])
	}

	// Removing the avatar and a field.
	rec = k.postMultipart("/settings/profile", url.Values{
		"display_name": {"Ada Lovelace"}, "bio": {"Short bio."}, "field_name_0": {"Website"}, "field_value_0": {"https://ada.example/"},
		"remove_avatar": {"1"},
	})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("second save: status %d\n%s", rec.Code, errorNotice(rec.Body.String()))
	}
	acct, _ = k.inst.DB.Account(ctx)
	if acct.AvatarMediaID != "" || acct.Locked || len(acct.Fields) != 1 {
		t.Errorf("after the second save: avatar %q locked %v fields %d; want no avatar, unlocked, one field", acct.AvatarMediaID, acct.Locked, len(acct.Fields))
	}
}

// TestProfileSettingsRefusesBadInput: a bad image or an invalid profile is
// refused with one sentence, the form keeps what was typed, and no image of
// the request is kept.
func TestProfileSettingsRefusesBadInput(t *testing.T) {
	t.Parallel()
	good := pngImage(t, 8, 8, red)
	tests := []struct {
		name   string
		fields url.Values
		files  []file
		want   string
	}{
		{"avatar not an image", url.Values{}, []file{{"avatar", "me.png", []byte("hello")}},
			"The avatar “me.png” is not a JPEG, PNG, GIF or WebP image."},
		{"good avatar, bad header", url.Values{}, []file{{"avatar", "me.png", good}, {"header", "wide.png", good[:30]}},
			"The header image “wide.png” is damaged or incomplete"},
		{"field without name", url.Values{"field_value_0": {"orphan value"}}, []file{{"avatar", "me.png", good}},
			"A profile field has a value but no name. Choose the images again after fixing it."},
		{"name too long", url.Values{"display_name": {strings.Repeat("n", 101)}}, nil,
			"The display name has 101 characters; at most 100 fit."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newKit(t, aptest.InstanceOptions{})
			k.login()
			tt.fields.Set("bio", "my typed bio")
			rec := k.postMultipart("/settings/profile", tt.fields, tt.files...)
			body := rec.Body.String()
			if rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("status %d; want 422", rec.Code)
			}
			if !strings.Contains(body, tt.want) {
				t.Errorf("page lacks %q: %s", tt.want, errorNotice(body))
			}
			if !strings.Contains(body, ">my typed bio</textarea>") {
				t.Error("the form lost the typed bio")
			}
			if _, media := k.counts(); media != 0 {
				t.Errorf("%d uploads kept; want none", media)
			}
			acct, _ := k.inst.DB.Account(context.Background())
			if acct.BioSource != "" || acct.AvatarMediaID != "" {
				t.Errorf("account changed (bio %q, avatar %q); want it untouched", acct.BioSource, acct.AvatarMediaID)
			}
		})
	}
}

// TestBioMentions: a mention in the bio is linked like one in a post, and
// one that cannot be found stays text and is named in the notice.
func TestBioMentions(t *testing.T) {
	t.Parallel()
	k := newKit(t, aptest.InstanceOptions{})
	remote := aptest.NewRemote(t, false)
	remote.AddActor("bob", aptest.Key(t, "remote"))
	k.login()
	ghost := "@ghost@" + remote.Host
	rec := k.postMultipart("/settings/profile", url.Values{"bio": {"Friends with @bob@" + remote.Host + " and " + ghost + "."}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("save: status %d\n%s", rec.Code, errorNotice(rec.Body.String()))
	}
	page := k.get(location(t, rec)).Body.String()
	if !strings.Contains(page, ghost+" could not be found; it stays plain text.") {
		t.Errorf("the settings page does not name the unresolved mention %s", ghost)
	}
	profile := k.visitor().get("/@me").Body.String()
	if !strings.Contains(profile, `href="`+remote.Base+`/@bob"`) && !strings.Contains(profile, `href="`+remote.Base+`/users/bob"`) {
		t.Errorf("the bio's mention of bob is not linked:\n%s", profile)
	}
}
