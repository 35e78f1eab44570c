// Command floorserver is the floor for kith's footprint figures: the
// smallest server on kith's stack that does what a start of kith must do
// (open a SQLite file in WAL mode, create its schema, parse a template,
// answer HTTP) and nothing else, like perf.md §1d's minimal server.
// go run ./bench footprint builds it with kith's release flags and measures
// both in the same run.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

const page = `<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body>
{{range .}}<article><a href="/p/{{.ID}}">{{.ID}}</a><div>{{.Content}}</div></article>{{else}}<p>Nothing yet.</p>{{end}}
</body></html>`

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	data := flag.String("data", ".", "directory for floor.db")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, *data); err != nil {
		fmt.Fprintln(os.Stderr, "floorserver:", err)
		os.Exit(1)
	}
}

type post struct {
	ID      int64
	Content template.HTML
}

func serve(ctx context.Context, listen, data string) error {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "floor.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, content TEXT NOT NULL)`); err != nil {
		return err
	}
	tpl := template.Must(template.New("page").Parse(page))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		var n int
		if err := db.QueryRowContext(r.Context(), `SELECT count(*) FROM posts`).Scan(&n); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		rows, err := db.QueryContext(r.Context(), `SELECT id, content FROM posts ORDER BY id DESC LIMIT 20`)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		var posts []post
		for rows.Next() {
			var p post
			var c string
			if err := rows.Scan(&p.ID, &c); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			p.Content = template.HTML(c)
			posts = append(posts, p)
		}
		tpl.Execute(w, posts)
	})
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
