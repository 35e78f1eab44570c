package storetest

import (
	"database/sql"
	"fmt"
	"testing"
	"time"
)

// SeedHosts is how many servers SeedActors spreads its actors over.
const SeedHosts = 500

// SeedActors writes n cached remote actors into the database file at path,
// as a year of following, mentions and replies leaves behind: spread over
// SeedHosts servers, each with a shared inbox and a key. Actor i is
// https://r{i%SeedHosts}.example/users/u{i}. It returns their IRIs.
//
// The rows are those store.PutActor writes, inserted with one prepared
// statement in one transaction on a connection of its own, because
// benchmarks need tens of thousands of them in a second or two.
func SeedActors(tb testing.TB, path string, n int) []string {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	ins, err := tx.Prepare(`INSERT INTO actors (iri, type, username, host, name, inbox, shared_inbox,
		outbox, followers, following, key_id, public_key_pem, raw, fetched_at)
		VALUES (?, 'Person', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)`)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now().UnixMilli()
	iris := make([]string, n)
	for i := range n {
		host := fmt.Sprintf("r%d.example", i%SeedHosts)
		user := fmt.Sprintf("u%d", i)
		iri := "https://" + host + "/users/" + user
		iris[i] = iri
		if _, err := ins.Exec(iri, user, host, "User "+user, iri+"/inbox", "https://"+host+"/inbox",
			iri+"/outbox", iri+"/followers", iri+"/following", iri+"#main-key", seedKeyPEM, now); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	return iris
}

// seedKeyPEM is an RSA-2048 public key (snac's, from the fixtures), so that
// seeded rows are as long as real ones; nothing verifies with it.
const seedKeyPEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA022tnzlfBea35s7ovEvm
DP1z8LgjCcMBA0glbrhTln0V7/xwvGfjrUP2rB/pnk+G9YcrDrfUrhi77Jl9Gpph
NLGEnMTv8yh7N+mjEqt8wuqrbCtx7bwDxhE6zkaNQi1e3f1vKMrwVFjdl3eO3la1
OMWcfDyKALdTsLtN70FQLoV7AjtX9PW5OT4PcltWsE3PBJvzbulfsFmmccSQUbCm
Yo4M8VFV98CGWXG78Z754em6NcuHH6YJghYGhRTIs9Wo1D7dP3DW6rvroCg9ktld
LsEPrOp3UwOoCzoTB2HG/iWfsB3YAQ6FFFJ4dod/pI4e0z9gdMb5QZtJ+rYjZaTR
4wIDAQAB
-----END PUBLIC KEY-----
`
