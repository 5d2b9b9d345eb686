package mediagate

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"strings"
)

// Prefixes of the ids the server generates, so an id says what it names.
const (
	PrefixAccount = "acct_"
	PrefixUser    = "user_"
	PrefixKey     = "key_"
	PrefixObject  = "obj_"
	PrefixUpload  = "upl_"
	PrefixLease   = "lease_"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix followed by 130 random bits in lower-case Crockford
// base32: unguessable, never sequential, safe in paths and file names.
func NewID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// DerivedID returns an id in NewID's form made from the SHA-256 of parts
// (joined by NUL): the same parts always give the same id, for things a
// retry must not make twice, such as the object of a fetched body.
func DerivedID(prefix string, parts ...string) string {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return prefix + idEncoding.EncodeToString(h.Sum(nil)[:16])
}

// ValidID reports whether s looks like an id NewID made with prefix. It lets
// handlers refuse junk before it reaches a store or a file path.
func ValidID(prefix, s string) bool {
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok || len(rest) != 26 {
		return false
	}
	for _, c := range rest {
		if !strings.ContainsRune("0123456789abcdefghjkmnpqrstvwxyz", c) {
			return false
		}
	}
	return true
}
