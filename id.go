package mediagate

import (
	"crypto/rand"
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
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix followed by 130 random bits in lower-case Crockford
// base32: unguessable, never sequential, safe in paths and file names.
func NewID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])
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
