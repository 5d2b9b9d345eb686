package api

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"

	"mediagate"
	"mediagate/apiv1"
)

// FuzzSanitizeFilename: whatever a client sends, a kept name is a plain base
// name: no separators, no control characters, no leading dot, not too long.
func FuzzSanitizeFilename(f *testing.F) {
	for _, s := range []string{"cat.png", "../../etc/passwd", "a\\b\\c.txt", "..", ".hidden", "x\x00y", "a\"b;c", "/", "名前.jpg"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := sanitizeFilename(name)
		if err != nil {
			if mediagate.ErrorCode(err) != mediagate.EINVALID {
				t.Fatalf("code=%s, want invalid", mediagate.ErrorCode(err))
			}
			return
		}
		if got == "" || len(got) > 255 || strings.ContainsAny(got, "/\\\";") || strings.HasPrefix(got, ".") {
			t.Fatalf("sanitizeFilename(%q)=%q", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) {
				t.Fatalf("sanitizeFilename(%q)=%q keeps a control character", name, got)
			}
		}
		if again, err := sanitizeFilename(got); err != nil || again != got {
			t.Fatalf("not idempotent: %q → %q → %q (%v)", name, got, again, err)
		}
	})
}

// FuzzDecode: any body decodes or fails with a 4xx code, never a panic or 500.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"filename":"a","size":1}`, `{"size":"x"}`, `{`, `{} {}`, `{"nope":1}`, `null`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		_, err := decode[apiv1.CreateUploadRequest](httptest.NewRecorder(), r)
		if code := mediagate.ErrorCode(err); err != nil && statusOf[code] >= 500 {
			t.Fatalf("decode(%q): %v answers %d", body, err, statusOf[code])
		}
	})
}
