package mastoapi

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"kith/ap"
	"kith/store"
)

// verifyCredentials answers GET /api/v1/accounts/verify_credentials: the
// owner's account with its source, which apps edit the profile from.
func (h *Handler) verifyCredentials(w http.ResponseWriter, r *http.Request) {
	a, err := h.ownerAccount(r.Context(), true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, a)
}

// accountByID reads the account id in the path: the owner's, or a cached
// remote actor's row id. Anything else is 404.
func (h *Handler) accountByID(ctx context.Context, id string) (*Account, *store.Actor, error) {
	if id == ownerID {
		a, err := h.ownerAccount(ctx, false)
		return a, nil, err
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, nil, store.ErrNotFound
	}
	actor, err := h.db.ActorByID(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	return h.remoteAccount(actor), actor, nil
}

// getAccount answers GET /api/v1/accounts/:id; Ivory stops without it.
func (h *Handler) getAccount(w http.ResponseWriter, r *http.Request) {
	a, _, err := h.accountByID(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, a)
}

// lookupAccount answers GET /api/v1/accounts/lookup?acct=: the owner by
// name or handle, or a remote account kith has cached.
func (h *Handler) lookupAccount(w http.ResponseWriter, r *http.Request) {
	acct := strings.TrimPrefix(strings.TrimSpace(r.URL.Query().Get("acct")), "@")
	user, host, hasHost := strings.Cut(acct, "@")
	if user == "" {
		h.apiError(w, r, http.StatusNotFound, msgNotFound)
		return
	}
	if strings.EqualFold(user, h.urls.Username()) && (!hasHost || strings.EqualFold(host, h.urls.Domain())) {
		h.getOwner(w, r)
		return
	}
	if !hasHost {
		h.apiError(w, r, http.StatusNotFound, msgNotFound)
		return
	}
	actor, err := h.db.ActorByHandle(r.Context(), user, host)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, h.remoteAccount(actor))
}

func (h *Handler) getOwner(w http.ResponseWriter, r *http.Request) {
	a, err := h.ownerAccount(r.Context(), false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, a)
}

// page reads Mastodon's paging parameters; limit defaults to 20 and is
// capped at 40, as Mastodon caps statuses.
func page(q url.Values) store.Page {
	pg := store.Page{MaxID: q.Get("max_id"), SinceID: q.Get("since_id"), MinID: q.Get("min_id"), Limit: 20}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		pg.Limit = min(n, 40)
	}
	return pg
}

// setLink writes the Link header of a page whose first and last ids are
// newest and oldest: "next" for older entries, "prev" for newer ones.
func (h *Handler) setLink(w http.ResponseWriter, r *http.Request, newest, oldest string) {
	if newest == "" {
		return
	}
	link := func(key, id string) string {
		q := url.Values{}
		for k, vs := range r.URL.Query() {
			if k != "max_id" && k != "min_id" && k != "since_id" && k != "access_token" {
				q[k] = vs
			}
		}
		q.Set(key, id)
		return h.urls.Base() + r.URL.Path + "?" + q.Encode()
	}
	w.Header().Set("Link", `<`+link("max_id", oldest)+`>; rel="next", <`+link("min_id", newest)+`>; rel="prev"`)
}

// writeStatuses answers with a page of statuses and its Link header.
func (h *Handler) writeStatuses(w http.ResponseWriter, r *http.Request, statuses []*Status) {
	if len(statuses) > 0 {
		h.setLink(w, r, statuses[0].ID, statuses[len(statuses)-1].ID)
	}
	h.writeJSON(w, r, http.StatusOK, nonNilStatuses(statuses))
}

// accountStatuses answers GET /api/v1/accounts/:id/statuses with pinned,
// exclude_replies, only_media and paging.
func (h *Handler) accountStatuses(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	_, actor, err := h.accountByID(ctx, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pg := page(q)
	if actor != nil {
		if isTrue(q.Get("pinned")) {
			h.writeStatuses(w, r, nil) // kith does not keep others' pins
			return
		}
		entries, err := h.db.PostsOf(ctx, actor.IRI, h.urls.Actor(), pg)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeEntries(w, r, entries)
		return
	}
	vis := []string{store.Public, store.Unlisted}
	if isOwner(r) {
		vis = nil // all of them
	}
	if !isTrue(q.Get("pinned")) {
		// The owner's boosts are among their statuses, as on Mastodon.
		entries, err := h.db.OwnEntries(ctx, store.OwnPostsQuery{
			Page: pg, Owner: h.urls.Actor(), Visibilities: vis,
			ExcludeReplies: isTrue(q.Get("exclude_replies")), OnlyMedia: isTrue(q.Get("only_media")),
		}, isTrue(q.Get("exclude_reblogs")))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.writeEntries(w, r, entries)
		return
	}
	var posts []store.Post
	if pg.MaxID == "" && pg.MinID == "" && pg.SinceID == "" {
		posts, err = h.db.LocalPosts(ctx, store.PostQuery{Visibilities: vis, Pinned: true, Limit: pg.Limit})
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	statuses, err := h.statusViews(ctx, r, posts)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatuses(w, r, statuses)
}

// writeEntries answers with a page of timeline entries.
func (h *Handler) writeEntries(w http.ResponseWriter, r *http.Request, entries []store.Entry) {
	statuses, err := h.entryStatuses(r, entries)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeStatuses(w, r, statuses)
}

// entryStatuses converts timeline entries, boosts with their post
// embedded.
func (h *Handler) entryStatuses(r *http.Request, entries []store.Entry) ([]*Status, error) {
	ptrs := make([]*store.Post, len(entries))
	for i := range entries {
		ptrs[i] = &entries[i].Post
	}
	v, err := h.newViews(r.Context(), ptrs, isOwner(r))
	if err != nil {
		return nil, err
	}
	out := make([]*Status, len(entries))
	for i := range entries {
		out[i] = v.entry(&entries[i])
	}
	return out, nil
}

// isTrue reads a boolean query parameter.
func isTrue(s string) bool {
	return params{url.Values{"b": {s}}}.bool("b")
}

// maxProfileBody bounds an update_credentials request: two images and
// the text fields.
const maxProfileBody = 2*ap.MaxUploadBytes + 1<<20

// updateCredentials answers PATCH /api/v1/accounts/update_credentials:
// what is sent changes, the rest stays, and ap.Service.UpdateProfile
// saves it and tells the followers, as the profile page does.
func (h *Handler) updateCredentials(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var p params
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		r.Body = http.MaxBytesReader(w, r.Body, maxProfileBody)
		if err := r.ParseMultipartForm(maxProfileBody); err != nil {
			h.fail(w, r, uploadError(err))
			return
		}
		p = params{Values: url.Values(r.MultipartForm.Value)}
	} else {
		var err error
		if p, err = readParams(w, r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	acct, err := h.db.Account(ctx)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	in := ap.ProfileInput{
		DisplayName: acct.DisplayName, Bio: acct.BioSource, Fields: acct.Fields,
		AvatarMediaID: acct.AvatarMediaID, HeaderMediaID: acct.HeaderMediaID, Locked: acct.Locked,
	}
	if p.has("display_name") {
		in.DisplayName = p.Get("display_name")
	}
	if p.has("note") {
		in.Bio = p.Get("note")
	}
	if p.has("locked") {
		in.Locked = p.bool("locked")
	}
	if fields, ok := profileFields(p); ok {
		in.Fields = fields
	}
	for _, img := range []struct {
		name string
		id   *string
	}{{"avatar", &in.AvatarMediaID}, {"header", &in.HeaderMediaID}} {
		if r.MultipartForm == nil || len(r.MultipartForm.File[img.name]) == 0 {
			continue
		}
		f, err := r.MultipartForm.File[img.name][0].Open()
		if err != nil {
			h.fail(w, r, err)
			return
		}
		m, err := h.ap.StoreUpload(ctx, f)
		f.Close()
		if err != nil {
			h.fail(w, r, uploadError(err))
			return
		}
		*img.id = m.ID
	}
	if _, err := h.ap.UpdateProfile(ctx, in); err != nil {
		h.fail(w, r, err)
		return
	}
	h.verifyCredentials(w, r)
}

// profileFields reads fields_attributes[i][name] and [value], sent as a
// form, as a JSON array or as a JSON object keyed by index.
func profileFields(p params) ([]store.Field, bool) {
	var out []store.Field
	found := false
	for i := 0; i < 16; i++ {
		key := "fields_attributes[" + strconv.Itoa(i) + "]"
		if !p.has(key+"[name]") && !p.has(key+"[value]") {
			continue
		}
		found = true
		out = append(out, store.Field{Name: p.Get(key + "[name]"), Value: p.Get(key + "[value]")})
	}
	return out, found
}

// uploadError maps what an upload can fail with to what fail answers.
func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return err
	}
	return mediaError(err)
}
