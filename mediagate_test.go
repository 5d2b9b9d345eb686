package mediagate_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"mediagate"
)

func TestNewID(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := mediagate.NewID(mediagate.PrefixObject)
		if !mediagate.ValidID(mediagate.PrefixObject, id) {
			t.Fatalf("ValidID(%q)=false", id)
		}
		if seen[id] {
			t.Fatalf("NewID repeated %s", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "obj_", "key_0123456789abcdefghjkmnpqrs", "obj_0123456789abcdefghjkmnpqr", "obj_0123456789abcdefghjkmnpqrU", "obj_../../../../../../../../etc"} {
		if mediagate.ValidID(mediagate.PrefixObject, bad) {
			t.Errorf("ValidID(%q)=true", bad)
		}
	}
}

func TestErrors(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", mediagate.Errorf(mediagate.ENOTFOUND, "object %s not found", "obj_1"))
	if got := mediagate.ErrorCode(err); got != mediagate.ENOTFOUND {
		t.Fatalf("code=%q, want %q", got, mediagate.ENOTFOUND)
	}
	if got := mediagate.ErrorMessage(err); got != "object obj_1 not found" {
		t.Fatalf("message=%q", got)
	}
	other := errors.New("disk on fire at /secret/path")
	if mediagate.ErrorCode(other) != mediagate.EINTERNAL || strings.Contains(mediagate.ErrorMessage(other), "secret") {
		t.Fatalf("a plain error must be internal and not leak: %q", mediagate.ErrorMessage(other))
	}
	if mediagate.ErrorCode(nil) != "" || mediagate.ErrorMessage(nil) != "" {
		t.Fatal("nil error has a code or message")
	}
}

func TestNewAPIKey(t *testing.T) {
	k, secret := mediagate.NewAPIKey("acct_1", "ci", []mediagate.Scope{mediagate.ScopeObjectsRead}, time.Now())
	sum := sha256.Sum256([]byte(secret))
	switch {
	case !strings.HasPrefix(secret, mediagate.KeySecretPrefix) || len(secret) < 50:
		t.Fatalf("secret %q", secret)
	case string(k.Hash) != string(sum[:]):
		t.Fatal("hash is not the SHA-256 of the secret")
	case !strings.HasPrefix(secret, k.Hint) || len(k.Hint) >= len(secret)/2:
		t.Fatalf("hint %q gives away too much or is not a prefix", k.Hint)
	case !k.Has(mediagate.ScopeObjectsRead) || k.Has(mediagate.ScopeAdmin):
		t.Fatalf("scopes %v", k.Scopes)
	}
	_, again := mediagate.NewAPIKey("acct_1", "ci", nil, time.Now())
	if again == secret {
		t.Fatal("two keys share a secret")
	}
}
