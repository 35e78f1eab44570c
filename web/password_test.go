package web

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestHashPassword: the stored hash is bcrypt at kith's cost (tests use a
// cheaper one for speed), checks in both directions, and passwords that
// bcrypt would shorten or that are too short are refused.
func TestHashPassword(t *testing.T) {
	t.Parallel()
	h, err := HashPassword(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := bcrypt.Cost([]byte(h)); err != nil || c != bcryptCost {
		t.Errorf("cost %d, %v; want %d", c, err, bcryptCost)
	}
	if !CheckPassword(h, testPassword) || CheckPassword(h, testPassword+"x") || CheckPassword("", "") {
		t.Error("CheckPassword does not tell the right password from others")
	}
	for _, p := range []string{"short", strings.Repeat("x", 73)} {
		if _, err := HashPassword(p); err == nil {
			t.Errorf("HashPassword accepted a password of %d bytes", len(p))
		}
	}
}
