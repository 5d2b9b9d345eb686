package api

import (
	"net/http/httptest"
	"strings"
	"testing"

	"mediagate"
	"mediagate/apiv1"
)

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
