package ap

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
)

// getWebFinger answers acct:user@domain, user@domain, @user@domain, the
// actor URL and the profile URL, ignoring case in the user and domain, and
// the instance actor as acct:domain@domain.
func (s *Service) getWebFinger(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	resource := strings.TrimSpace(r.URL.Query().Get("resource"))
	if resource == "" {
		writeJSON(w, http.StatusBadRequest, "application/json; charset=utf-8", map[string]string{"error": "the resource parameter is required"})
		return
	}
	if !wellFormedResource(resource) {
		writeJSON(w, http.StatusBadRequest, "application/json; charset=utf-8", map[string]string{"error": "resource must be acct:user@domain or an http(s) URL"})
		return
	}
	switch s.webFingerTarget(resource) {
	case "account":
		w.Header().Set("Cache-Control", "max-age=86400, public")
		w.Header().Add("Vary", "Accept")
		writeJSON(w, http.StatusOK, jrdJSON, jsonJRD{
			Subject: "acct:" + s.urls.Acct(),
			Aliases: []string{s.urls.Profile(), s.urls.Actor()},
			Links: []jsonLink{
				{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: s.urls.Profile()},
				{Rel: "self", Type: "application/activity+json", Href: s.urls.Actor()},
			},
		})
	case "instance":
		writeJSON(w, http.StatusOK, jrdJSON, jsonJRD{
			Subject: "acct:" + s.urls.Domain() + "@" + s.urls.Domain(),
			Aliases: []string{s.urls.InstanceActor()},
			Links: []jsonLink{
				{Rel: "self", Type: "application/activity+json", Href: s.urls.InstanceActor()},
			},
		})
	default:
		jsonNotFound(w)
	}
}

// wellFormedResource reports whether a WebFinger resource is an http(s)
// URL with a host or an account (user@domain, with or without acct: or a
// leading @). Anything else is garbled input, not an unknown user.
func wellFormedResource(resource string) bool {
	if strings.HasPrefix(resource, "http://") || strings.HasPrefix(resource, "https://") {
		u, err := url.Parse(resource)
		return err == nil && u.Host != ""
	}
	acct := strings.TrimPrefix(strings.TrimPrefix(resource, "acct:"), "@")
	user, host, ok := strings.Cut(acct, "@")
	return ok && user != "" && host != "" && !strings.ContainsAny(host, "@/ ")
}

// webFingerTarget says which of our actors a resource names: "account",
// "instance" or "".
func (s *Service) webFingerTarget(resource string) string {
	if strings.HasPrefix(resource, "http://") || strings.HasPrefix(resource, "https://") {
		u, err := url.Parse(resource)
		if err != nil || !strings.EqualFold(u.Host, s.urls.Domain()) {
			return ""
		}
		switch {
		case strings.EqualFold(u.Path, "/users/"+s.urls.Username()), strings.EqualFold(u.Path, "/@"+s.urls.Username()):
			return "account"
		case u.Path == "/actor":
			return "instance"
		}
		return ""
	}
	acct := strings.TrimPrefix(strings.TrimPrefix(resource, "acct:"), "@")
	i := strings.LastIndex(acct, "@")
	if i < 0 {
		return ""
	}
	user, host := acct[:i], acct[i+1:]
	if !strings.EqualFold(host, s.urls.Domain()) {
		return ""
	}
	switch {
	case strings.EqualFold(user, s.urls.Username()):
		return "account"
	case strings.EqualFold(user, s.urls.Domain()):
		return "instance"
	}
	return ""
}

// jsonJRD is a WebFinger answer (RFC 7033).
type jsonJRD struct {
	Subject string     `json:"subject"`
	Aliases []string   `json:"aliases,omitempty"`
	Links   []jsonLink `json:"links"`
}

type jsonLink struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// getHostMeta serves the XRD document older software and Mastodon's
// WebFinger fallback read.
func (s *Service) getHostMeta(w http.ResponseWriter, r *http.Request) {
	type link struct {
		Rel      string `xml:"rel,attr"`
		Template string `xml:"template,attr"`
	}
	doc := struct {
		XMLName xml.Name `xml:"XRD"`
		NS      string   `xml:"xmlns,attr"`
		Link    link     `xml:"Link"`
	}{NS: "http://docs.oasis-open.org/ns/xri/xrd-1.0", Link: link{Rel: "lrdd", Template: s.urls.Base() + "/.well-known/webfinger?resource={uri}"}}
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(body)
	w.Write([]byte("\n"))
}

func (s *Service) getHostMetaJSON(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, jrdJSON, map[string]any{
		"links": []jsonLink{{Rel: "lrdd", Template: s.urls.Base() + "/.well-known/webfinger?resource={uri}"}},
	})
}

// getNodeInfoLinks points at both NodeInfo versions; clients pick the
// highest they know.
func (s *Service) getNodeInfoLinks(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, "application/json; charset=utf-8", map[string]any{
		"links": []jsonLink{
			{Rel: "http://nodeinfo.diaspora.software/ns/schema/2.0", Href: s.urls.Base() + "/nodeinfo/2.0"},
			{Rel: "http://nodeinfo.diaspora.software/ns/schema/2.1", Href: s.urls.Base() + "/nodeinfo/2.1"},
		},
	})
}

// getNodeInfo serves NodeInfo 2.0 or 2.1. Other servers read
// software.name to apply per-software quirks, so it stays "kith".
func (s *Service) getNodeInfo(w http.ResponseWriter, r *http.Request) {
	version := r.PathValue("version")
	if version != "2.0" && version != "2.1" {
		jsonNotFound(w)
		return
	}
	ctx := r.Context()
	posts, err := s.db.CountLocalPosts(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	acct, err := s.db.Account(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	software := map[string]string{"name": "kith", "version": s.version}
	name := acct.DisplayName
	if name == "" {
		name = s.urls.Acct()
	}
	doc := map[string]any{
		"version":           version,
		"software":          software,
		"protocols":         []string{"activitypub"},
		"services":          map[string][]string{"inbound": {}, "outbound": {"atom1.0", "rss2.0"}},
		"openRegistrations": false,
		"usage": map[string]any{
			"users":      map[string]int{"total": 1, "activeMonth": 1, "activeHalfyear": 1},
			"localPosts": posts,
		},
		"metadata": map[string]string{"nodeName": name, "nodeDescription": "A single-user kith server"},
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"`, doc)
}
