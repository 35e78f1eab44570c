// Command floorserver is the floor for kith's footprint and inbound
// figures: the smallest server on kith's stack that does what a start of
// kith must do (open a SQLite file in WAL mode, create its schema, parse a
// template, answer HTTP) and nothing else, like perf.md §1d's minimal
// server. With -keys it also has the minimal inbox: POST /inbox checks the
// Digest and the draft-cavage signature (go-fed/httpsig) with a key it was
// given, decodes the activity and inserts it (one transaction each). go run
// ./bench footprint and go run ./bench inbound build it with kith's release
// flags and measure both in the same run.
package main

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/go-fed/httpsig"
	_ "modernc.org/sqlite"
)

const page = `<!doctype html><html><head><meta charset="utf-8"><title>floor</title></head><body>
{{range .}}<article><a href="/p/{{.ID}}">{{.ID}}</a><div>{{.Content}}</div></article>{{else}}<p>Nothing yet.</p>{{end}}
</body></html>`

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	data := flag.String("data", ".", "directory for floor.db")
	var o options
	flag.StringVar(&o.keys, "keys", "", "JSON file of keyId → public key PEM; enables POST /inbox")
	flag.StringVar(&o.cert, "tls-cert", "", "TLS certificate file (PEM)")
	flag.StringVar(&o.key, "tls-key", "", "TLS key file (PEM)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *listen, *data, o); err != nil {
		fmt.Fprintln(os.Stderr, "floorserver:", err)
		os.Exit(1)
	}
}

type post struct {
	ID      int64
	Content template.HTML
}

// options are the inbox and TLS settings; all empty, the server is the
// footprint floor alone.
type options struct {
	keys, cert, key string
}

func serve(ctx context.Context, listen, data string, o options) error {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "floor.db")+
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS posts (id INTEGER PRIMARY KEY, content TEXT NOT NULL)`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY,
		dedup_key TEXT NOT NULL UNIQUE, type TEXT NOT NULL, actor TEXT NOT NULL, body BLOB NOT NULL,
		received_at INTEGER NOT NULL)`); err != nil {
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
	if o.keys != "" {
		keys, err := readKeys(o.keys)
		if err != nil {
			return err
		}
		// One connection, as kith has one writer: concurrent writers would
		// only wait on SQLite's lock.
		db.SetMaxOpenConns(1)
		mux.Handle("POST /inbox", inbox(db, keys))
	}
	srv := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() {
		if o.cert != "" {
			errc <- srv.ListenAndServeTLS(o.cert, o.key)
			return
		}
		errc <- srv.ListenAndServe()
	}()
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

// readKeys reads the signers' public keys: the floor is given them, as
// kith has them cached once it has seen a signer.
func readKeys(path string) (map[string]*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pems map[string]string
	if err := json.Unmarshal(b, &pems); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	keys := make(map[string]*rsa.PublicKey, len(pems))
	for id, p := range pems {
		block, _ := pem.Decode([]byte(p))
		if block == nil {
			return nil, fmt.Errorf("key %s: no PEM block", id)
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("key %s is %T, not RSA", id, k)
		}
		keys[id] = rk
	}
	return keys, nil
}

// inbox is the minimal inbox: Digest, signature, decode, insert, 202.
func inbox(db *sql.DB, keys map[string]*rsa.PublicKey) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "could not read the body", http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(body)
		if r.Header.Get("Digest") != "SHA-256="+base64.StdEncoding.EncodeToString(sum[:]) {
			http.Error(w, "Digest does not match the body", http.StatusBadRequest)
			return
		}
		v, err := httpsig.NewVerifier(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		key, ok := keys[v.KeyId()]
		if !ok {
			http.Error(w, "unknown key", http.StatusUnauthorized)
			return
		}
		if err := v.Verify(key, httpsig.RSA_SHA256); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var act struct {
			ID    string `json:"id"`
			Type  string `json:"type"`
			Actor string `json:"actor"`
		}
		if err := json.Unmarshal(body, &act); err != nil || act.ID == "" {
			http.Error(w, "not an activity", http.StatusBadRequest)
			return
		}
		if _, err := db.ExecContext(r.Context(), `INSERT INTO inbox (dedup_key, type, actor, body, received_at)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING`,
			act.ID, act.Type, act.Actor, body, time.Now().UnixMilli()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}
