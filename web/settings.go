package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"kith/ap"
	"kith/store"
)

// profileForm is the profile settings form as the owner filled it in.
type profileForm struct {
	DisplayName string
	Bio         string // Markdown
	Fields      []store.Field
	Locked      bool
	// AuthorizedFetch serves the ActivityPub documents only to signed
	// requests from servers that are not blocked.
	AuthorizedFetch bool
	RemoveAvatar    bool
	RemoveHeader    bool
}

// settingsPage is the data of settings.html.
type settingsPage struct {
	page
	Form      profileForm
	Avatar    string // the current avatar, or ""
	Header    string // the current header, or ""
	MaxFields int
	Error     string
}

// showProfileSettings shows the profile form filled in from the account.
func (h *Handler) showProfileSettings(w http.ResponseWriter, r *http.Request) {
	acct, err := h.account(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	f := profileForm{DisplayName: acct.DisplayName, Bio: acct.BioSource, Fields: acct.Fields, Locked: acct.Locked}
	if f.AuthorizedFetch, err = h.db.AuthorizedFetch(r.Context()); err != nil {
		h.serverError(w, r, err)
		return
	}
	q := r.URL.Query()
	flash, warn := "", ""
	if q.Get("saved") != "" {
		flash = "Saved. The servers of your followers are being sent the new profile."
		warn = unresolvedWarning(q) // the bio's mentions that were not found
	}
	h.renderSettings(w, r, http.StatusOK, acct, f, "", flash, warn)
}

// submitProfileSettings saves the profile. New avatar and header images
// are stored first; when one is refused, or the profile is, neither is
// kept and the form comes back as typed.
func (h *Handler) submitProfileSettings(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	acct, err := h.account(ctx)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	f := profileForm{
		DisplayName:     r.PostFormValue("display_name"),
		Bio:             r.PostFormValue("bio"),
		Locked:          r.PostFormValue("locked") != "",
		AuthorizedFetch: r.PostFormValue("authorized_fetch") != "",
		RemoveAvatar:    r.PostFormValue("remove_avatar") != "",
		RemoveHeader:    r.PostFormValue("remove_header") != "",
	}
	for i := range ap.MaxFields {
		f.Fields = append(f.Fields, store.Field{
			Name:  r.PostFormValue(fmt.Sprintf("field_name_%d", i)),
			Value: r.PostFormValue(fmt.Sprintf("field_value_%d", i)),
		})
	}

	var files []upload
	for _, img := range []upload{{field: "avatar", label: "The avatar"}, {field: "header", label: "The header image"}} {
		if img.file = formFile(r, img.field); img.file != nil {
			files = append(files, img)
		}
	}
	stored, problem, status, err := h.storeUploads(ctx, files)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	if problem != "" {
		h.renderSettings(w, r, status, acct, f, problem, "", "")
		return
	}

	in := ap.ProfileInput{
		DisplayName: f.DisplayName, Bio: f.Bio, Fields: f.Fields, Locked: f.Locked,
		AvatarMediaID: acct.AvatarMediaID, HeaderMediaID: acct.HeaderMediaID,
	}
	if f.RemoveAvatar {
		in.AvatarMediaID = ""
	}
	if f.RemoveHeader {
		in.HeaderMediaID = ""
	}
	var newIDs []string
	for n, m := range stored {
		newIDs = append(newIDs, m.ID)
		// A new image replaces the old one even when "remove" is ticked.
		if files[n].field == "avatar" {
			in.AvatarMediaID = m.ID
		} else {
			in.HeaderMediaID = m.ID
		}
	}
	unresolved, err := h.ap.UpdateProfile(ctx, in)
	if err != nil {
		if len(newIDs) > 0 {
			if err := h.db.DeleteMedia(ctx, newIDs...); err != nil {
				h.log.Error("delete uploads of a failed form", "err", err)
			}
		}
		if errors.Is(err, ap.ErrInvalid) {
			msg := ownerMessage(err)
			if len(newIDs) > 0 {
				msg += " Choose the images again after fixing it."
			}
			h.renderSettings(w, r, http.StatusUnprocessableEntity, acct, f, msg, "", "")
			return
		}
		h.serverError(w, r, err)
		return
	}
	if err := h.db.SetAuthorizedFetch(ctx, f.AuthorizedFetch); err != nil {
		h.serverError(w, r, err)
		return
	}
	q := url.Values{"saved": {"1"}, "unresolved": unresolved}
	http.Redirect(w, r, "/settings/profile?"+q.Encode(), http.StatusSeeOther)
}

// renderSettings shows the profile form.
func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, acct *store.Account, f profileForm, problem, flash, warn string) {
	p, err := h.basePage(r, "Profile settings")
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	for len(f.Fields) < ap.MaxFields {
		f.Fields = append(f.Fields, store.Field{})
	}
	data := &settingsPage{page: p, Form: f, MaxFields: ap.MaxFields, Error: problem}
	data.Title = "Profile settings · " + p.Site.Name
	data.Flash, data.FlashWarn = flash, warn
	if acct.AvatarMediaID != "" {
		data.Avatar = h.localPath(h.urls.MediaPreview(acct.AvatarMediaID, ".img"))
	}
	if acct.HeaderMediaID != "" {
		data.Header = h.localPath(h.urls.MediaPreview(acct.HeaderMediaID, ".img"))
	}
	h.render(w, r, status, "settings", data)
}
