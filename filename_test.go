package mediagate

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzSanitizeFilename: whatever a client sends, a kept name is a plain base
// name: no separators, no control characters, no leading dot, not too long.
func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"cat.png", "../../etc/passwd", "a\\b\\c.txt", "..", ".hidden", "x\x00y", "a\"b;c", "/", "名前.jpg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := SanitizeFilename(name)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("code=%s, want invalid", ErrorCode(err))
			}
			return
		}
		if got == "" || len(got) > 255 || strings.ContainsAny(got, "/\\\";") || strings.HasPrefix(got, ".") {
			t.Fatalf("SanitizeFilename(%q)=%q", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("SanitizeFilename(%q)=%q keeps a control character", name, got)
			}
		}
		if again, err := SanitizeFilename(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", name, got, again, err)
		}
	})
}
