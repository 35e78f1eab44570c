package mastoapi

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"strings"

	"kith/ap"
	"kith/ap/media"
)

// mastodonVersion is the Mastodon API level kith answers as. Clients gate
// features on the version string and masto.js needs it to start with a
// semantic version, so kith says which Mastodon it is compatible with and
// then what it really is, the shape Pixelfed uses.
const mastodonVersion = "4.3.0"

// Limits the instance announces; they are the ones ap enforces.
const (
	maxPollOptions    = 4
	maxPollOptionLen  = 50
	minPollExpiration = 300
	maxPollExpiration = 2629746
)

// supportedMediaTypes are the uploads ap/media accepts.
var supportedMediaTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// versionString is the instance's version.
func (h *Handler) versionString() string {
	return mastodonVersion + " (compatible; kith " + h.version + ")"
}

// streamingURL is where the streaming API lives: the same host, over
// WebSocket.
func (h *Handler) streamingURL() string {
	if h.urls.Scheme() == "https" {
		return "wss://" + h.urls.Domain()
	}
	return "ws://" + h.urls.Domain()
}

// configurationV1 is the configuration object both instance versions
// share.
func (h *Handler) statusLimits() map[string]any {
	return map[string]any{
		"max_characters":              ap.MaxPostRunes,
		"max_media_attachments":       ap.MaxAttachments,
		"characters_reserved_per_url": 23,
	}
}

func (h *Handler) mediaLimits() map[string]any {
	return map[string]any{
		"supported_mime_types":   supportedMediaTypes,
		"description_limit":      ap.MaxAltRunes,
		"image_size_limit":       ap.MaxUploadBytes,
		"image_matrix_limit":     media.DefaultMaxPixels,
		"video_size_limit":       0,
		"video_frame_rate_limit": 0,
		"video_matrix_limit":     0,
	}
}

func pollLimits() map[string]any {
	return map[string]any{
		"max_options":               maxPollOptions,
		"max_characters_per_option": maxPollOptionLen,
		"min_expiration":            minPollExpiration,
		"max_expiration":            maxPollExpiration,
	}
}

// instanceBasics reads what both instance versions show.
func (h *Handler) instanceBasics(r *http.Request) (title, description, thumb string, contact *Account, err error) {
	contact, err = h.ownerAccount(r.Context(), false)
	if err != nil {
		return "", "", "", nil, err
	}
	title = contact.DisplayName
	if title == "" {
		title = contact.Username
	}
	title += " (kith)"
	acct, err := h.db.Account(r.Context())
	if err != nil {
		return "", "", "", nil, err
	}
	description = strings.TrimSpace(acct.BioSource)
	if description == "" {
		description = "The personal fediverse server of @" + h.urls.Acct() + "."
	}
	thumb = contact.Header
	if acct.HeaderMediaID == "" {
		thumb = contact.Avatar
	}
	return title, description, thumb, contact, nil
}

// instanceV1 answers GET /api/v1/instance, which toot reads before it
// logs in (title, version, uri).
func (h *Handler) instanceV1(w http.ResponseWriter, r *http.Request) {
	title, description, thumb, contact, err := h.instanceBasics(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, map[string]any{
		"uri":               h.urls.Domain(),
		"title":             title,
		"short_description": description,
		"description":       description,
		"email":             "",
		"version":           h.versionString(),
		"urls":              map[string]string{"streaming_api": h.streamingURL()},
		"stats":             map[string]int{"user_count": 1, "status_count": contact.StatusesCount, "domain_count": 0},
		"thumbnail":         thumb,
		"languages":         []string{"en"},
		"registrations":     false,
		"approval_required": false,
		"invites_enabled":   false,
		"configuration": map[string]any{
			"accounts":          map[string]int{"max_featured_tags": 0},
			"statuses":          h.statusLimits(),
			"media_attachments": h.mediaLimits(),
			"polls":             pollLimits(),
		},
		"contact_account": contact,
		"rules":           []struct{}{},
	})
}

// instanceV2 answers GET /api/v2/instance; Ivory stops when it is
// missing.
func (h *Handler) instanceV2(w http.ResponseWriter, r *http.Request) {
	title, description, thumb, contact, err := h.instanceBasics(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	vapid, err := h.vapidPublic(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, map[string]any{
		"domain":      h.urls.Domain(),
		"title":       title,
		"version":     h.versionString(),
		"source_url":  "https://github.com/kith-social/kith",
		"description": description,
		"usage":       map[string]any{"users": map[string]int{"active_month": 1}},
		"thumbnail":   map[string]any{"url": thumb, "blurhash": nil, "versions": map[string]string{}},
		"icon":        []struct{}{},
		"languages":   []string{"en"},
		"configuration": map[string]any{
			"urls":              map[string]any{"streaming": h.streamingURL(), "status": nil, "about": nil, "privacy_policy": nil, "terms_of_service": nil},
			"vapid":             map[string]string{"public_key": vapid},
			"accounts":          map[string]int{"max_featured_tags": 0, "max_pinned_statuses": 5},
			"statuses":          h.statusLimits(),
			"media_attachments": h.mediaLimits(),
			"polls":             pollLimits(),
			"translation":       map[string]bool{"enabled": false},
		},
		"registrations": map[string]any{"enabled": false, "approval_required": false, "message": nil, "url": nil},
		"api_versions":  map[string]int{"mastodon": 2},
		"contact":       map[string]any{"email": "", "account": contact},
		"rules":         []struct{}{},
	})
}

// defaultImages are the avatar and header of accounts that have none:
// clients need a real image URL there (Toot! shows nothing without one),
// and a PNG, which every client can draw, unlike SVG.
type defaultImages struct {
	avatar, header []byte
}

func newDefaultImages() defaultImages {
	return defaultImages{avatar: defaultAvatar(), header: flatPNG(600, 200, color.NRGBA{0x8c, 0x8c, 0xa3, 0xff})}
}

// defaultAvatar draws a head and shoulders on a grey square.
func defaultAvatar() []byte {
	const n = 120
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	bg, fg := color.NRGBA{0xd9, 0xd9, 0xe3, 0xff}, color.NRGBA{0x8c, 0x8c, 0xa3, 0xff}
	for y := range n {
		for x := range n {
			c := bg
			dx, dy := x-n/2, y-n*2/5
			if dx*dx+dy*dy < (n/5)*(n/5) {
				c = fg
			}
			dy = y - n
			if y > n*3/5 && dx*dx+dy*dy < (n*2/5)*(n*2/5) {
				c = fg
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return encodePNG(img)
}

func flatPNG(w, h int, c color.NRGBA) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, c)
		}
	}
	return encodePNG(img)
}

func encodePNG(img image.Image) []byte {
	var buf bytes.Buffer
	png.Encode(&buf, img) // writing to memory does not fail
	return buf.Bytes()
}

func (d defaultImages) avatarURL(u ap.URLs) string { return u.Base() + "/api/kith/avatar.png" }
func (d defaultImages) headerURL(u ap.URLs) string { return u.Base() + "/api/kith/header.png" }

func (d defaultImages) serveAvatar(w http.ResponseWriter, r *http.Request) { servePNG(w, d.avatar) }
func (d defaultImages) serveHeader(w http.ResponseWriter, r *http.Request) { servePNG(w, d.header) }

func servePNG(w http.ResponseWriter, b []byte) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}
