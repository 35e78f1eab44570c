package ap

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Content types of the documents we serve.
const (
	activityJSON = "application/activity+json; charset=utf-8"
	jrdJSON      = "application/jrd+json; charset=utf-8"
)

// Handler serves the federation endpoints: discovery, the actors, the
// collections, posts as ActivityPub objects, and the inboxes.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", s.getWebFinger)
	mux.HandleFunc("GET /.well-known/host-meta", s.getHostMeta)
	mux.HandleFunc("GET /.well-known/host-meta.json", s.getHostMetaJSON)
	mux.HandleFunc("GET /.well-known/nodeinfo", s.getNodeInfoLinks)
	mux.HandleFunc("GET /nodeinfo/{version}", s.getNodeInfo)

	mux.HandleFunc("GET /users/{name}", s.getActor)
	mux.HandleFunc("GET /users/{name}/outbox", s.signedFetch(s.getOutbox))
	mux.HandleFunc("GET /users/{name}/followers", s.signedFetch(s.getFollowers))
	mux.HandleFunc("GET /users/{name}/following", s.signedFetch(s.getFollowing))
	mux.HandleFunc("GET /users/{name}/collections/featured", s.signedFetch(s.getFeatured))
	mux.HandleFunc("GET /users/{name}/statuses/{id}", s.signedFetch(s.getPost))
	mux.HandleFunc("GET /users/{name}/statuses/{id}/activity", s.signedFetch(s.getPostActivity))
	mux.HandleFunc("POST /users/{name}/inbox", s.postPersonalInbox)
	mux.HandleFunc("POST /inbox", s.postInbox)

	mux.HandleFunc("GET /tags/{tag}", s.signedFetch(s.getTag))
	mux.HandleFunc("GET /actor", s.getInstanceActor)
	mux.HandleFunc("GET /actor/outbox", s.getInstanceCollection)
	mux.HandleFunc("GET /actor/followers", s.getInstanceCollection)
	mux.HandleFunc("GET /actor/following", s.getInstanceCollection)
	mux.HandleFunc("GET /actor/collections/featured", s.getInstanceCollection)
	mux.HandleFunc("POST /actor/inbox", s.postInbox)
	return mux
}

// WantsActivityJSON reports whether a request asks for an ActivityPub
// document rather than a page: an Accept of activity+json, ld+json (with or
// without the ActivityStreams profile), or bare application/json, which
// helps tools and is harmless.
func WantsActivityJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/activity+json", "application/ld+json", "application/json":
			return true
		}
	}
	return false
}

// marshal encodes v without escaping <, > and & as \u003c and the like:
// valid either way, but content is HTML and the escaped form is bigger and
// unreadable in logs.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeJSON sends v with the given content type.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeActivity sends an ActivityPub document that any origin may read.
func writeActivity(w http.ResponseWriter, v any) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Add("Vary", "Accept")
	writeJSON(w, http.StatusOK, activityJSON, v)
}

func jsonNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, "application/json; charset=utf-8", map[string]string{"error": "not found"})
}

// ours reports whether the {name} in the path is our account, matched
// case-insensitively as WebFinger matches it.
func (s *Service) ours(r *http.Request) bool {
	return strings.EqualFold(r.PathValue("name"), s.urls.Username())
}
