package web

import "net/http"

// routes registers every browser route. The whole mux sits behind the
// session loader and Go's cross-origin protection, which refuses unsafe
// requests (POST and the like) that a browser marks as coming from another
// site.
func (h *Handler) routes() {
	m := h.mux
	m.HandleFunc("GET /{$}", h.showHome)
	// Go's patterns match whole segments, so /@name is /{handle} with the
	// @ checked by the handlers.
	m.HandleFunc("GET /{handle}", h.showProfile)
	m.HandleFunc("GET /{handle}/{id}", h.showPost)
	m.HandleFunc("GET /tags/{tag}", h.showTag)
	m.HandleFunc("GET /media/{file}", h.serveMedia)
	m.HandleFunc("GET /media/{id}/{file}", h.serveMediaPreview)
	m.HandleFunc("GET /static/{file}", h.static.serve)
	m.HandleFunc("GET /robots.txt", h.serveRobots)

	m.HandleFunc("GET /login", h.showLogin)
	m.HandleFunc("POST /login", h.submitLogin)
	m.HandleFunc("POST /logout", h.owner(h.submitLogout))

	m.HandleFunc("/", h.notFound)

	cop := http.NewCrossOriginProtection()
	h.handler = h.withSession(cop.Handler(m))
}
