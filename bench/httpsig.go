package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The fake inboxes check every POST the way a strict Mastodon-like peer
// does, written here from the draft-cavage text rather than taken from
// kith's own code: rsa-sha256, (request-target) host date digest signed,
// Digest equal to the body's SHA-256, Date within five minutes, and the
// RSA signature valid for the expected key.

// verifySignature checks req (whose body was read into body) against pub
// and the expected keyId.
func verifySignature(req *http.Request, body []byte, pub *rsa.PublicKey, keyID string) error {
	params := map[string]string{}
	for part := range strings.SplitSeq(req.Header.Get("Signature"), ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("malformed Signature parameter %q", part)
		}
		params[strings.TrimSpace(k)] = strings.Trim(v, `"`)
	}
	if params["keyId"] != keyID {
		return fmt.Errorf("keyId %q, want %q", params["keyId"], keyID)
	}
	if a := params["algorithm"]; a != "rsa-sha256" && a != "hs2019" {
		return fmt.Errorf("algorithm %q", a)
	}
	headers := strings.Fields(params["headers"])
	for _, need := range []string{"(request-target)", "host", "date", "digest"} {
		if !contains(headers, need) {
			return fmt.Errorf("%s is not signed", need)
		}
	}
	sum := sha256.Sum256(body)
	if want := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:]); req.Header.Get("Digest") != want {
		return errors.New("Digest does not match the body")
	}
	date, err := http.ParseTime(req.Header.Get("Date"))
	if err != nil || time.Since(date).Abs() > 5*time.Minute {
		return fmt.Errorf("Date %q is not within 5 minutes", req.Header.Get("Date"))
	}
	lines := make([]string, 0, len(headers))
	for _, h := range headers {
		switch h {
		case "(request-target)":
			lines = append(lines, "(request-target): "+strings.ToLower(req.Method)+" "+req.URL.RequestURI())
		case "host":
			lines = append(lines, "host: "+req.Host)
		default:
			lines = append(lines, h+": "+req.Header.Get(h))
		}
	}
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	hashed := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed[:], sig)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// signBare signs a POST of body the minimal way, for the floor: one
// SHA-256 of the body, one RSA-2048 signature over (request-target) host
// date digest.
func signBare(req *http.Request, body []byte, key *rsa.PrivateKey, keyID string) error {
	sum := sha256.Sum256(body)
	digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
	date := time.Now().UTC().Format(http.TimeFormat)
	host := req.Host // the name the server answers to, when it differs from the address dialled
	if host == "" {
		host = req.URL.Host
	}
	signing := "(request-target): post " + req.URL.RequestURI() + "\nhost: " + host + "\ndate: " + date + "\ndigest: " + digest
	hashed := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, hashed[:])
	if err != nil {
		return err
	}
	req.Header.Set("Date", date)
	req.Header.Set("Digest", digest)
	req.Header.Set("Signature", `keyId="`+keyID+`",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="`+
		base64.StdEncoding.EncodeToString(sig)+`"`)
	return nil
}

// parsePublicKey reads a PKIX PEM RSA public key.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block in the public key")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, not RSA", k)
	}
	return rk, nil
}
