package web

import (
	"crypto/rand"
	"errors"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptCost is a compromise for small machines: about 0.1 s on a laptop
// core, under a second on a Raspberry Pi.
const bcryptCost = 11

// MinPasswordLength is the shortest password kith accepts.
const MinPasswordLength = 10

// HashPassword hashes a password for storage.
func HashPassword(password string) (string, error) {
	if len(password) < MinPasswordLength {
		return "", errors.New("the password must be at least 10 characters long")
	}
	if len(password) > 72 {
		// bcrypt ignores everything past 72 bytes; refuse rather than
		// silently accept a password that is not what it seems.
		return "", errors.New("the password must be at most 72 bytes long")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// CheckPassword reports whether password matches hash, in constant time.
func CheckPassword(hash, password string) bool {
	if hash == "" {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// GeneratePassword returns a random password of four groups of five
// base-32 characters (100 bits), easy to type from a terminal.
func GeneratePassword() string {
	t := strings.ToLower(rand.Text()[:20])
	return t[0:5] + "-" + t[5:10] + "-" + t[10:15] + "-" + t[15:20]
}
