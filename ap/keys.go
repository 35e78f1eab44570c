package ap

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"kith/store"
)

// GenerateKey makes a new RSA-2048 key pair and returns it as PKCS#8 and
// PKIX PEM. 2048 bits, not 4096: every delivery is signed, and a 4096-bit
// signature costs six times as much (perf.md §1a).
func GenerateKey() (privatePEM, publicPEM string, err error) {
	key, err := rsa.GenerateKey(randReader{}, 2048)
	if err != nil {
		return "", "", fmt.Errorf("generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("encode key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("encode public key: %w", err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})), nil
}

// ParsePrivateKey reads an RSA private key in PKCS#8 or PKCS#1 PEM.
func ParsePrivateKey(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, not RSA", k)
	}
	return rk, nil
}

// NewAccount returns a fresh account for username with new key pairs for
// the account and the instance actor.
func NewAccount(domain, username, passwordHash string, now time.Time) (*store.Account, error) {
	priv, pub, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	ipriv, ipub, err := GenerateKey()
	if err != nil {
		return nil, err
	}
	return &store.Account{
		Domain:                domain,
		Username:              username,
		PrivateKeyPEM:         priv,
		PublicKeyPEM:          pub,
		InstancePrivateKeyPEM: ipriv,
		InstancePublicKeyPEM:  ipub,
		PasswordHash:          passwordHash,
		CreatedAt:             now.UTC(),
		UpdatedAt:             now.UTC(),
	}, nil
}
