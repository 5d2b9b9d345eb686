package mediagate

import "testing"

func TestTypeAllowed(t *testing.T) {
	allowed := []string{"image/*", "application/pdf", "image/svg+xml", "text/*"}
	for _, tc := range []struct {
		ct   string
		want bool
	}{
		{"image/png", true},
		{"IMAGE/PNG; charset=x", true},
		{"application/pdf", true},
		{"application/pdfx", false},
		{"image/svg+xml", true}, // an exact entry admits an active type
		{"text/plain; charset=utf-8", true},
		{"text/html", false}, // a family never does
		{"video/mp4", false},
		{"", false},
		{"image", false},
		{"image/", false},
	} {
		if got := TypeAllowed(allowed, tc.ct); got != tc.want {
			t.Errorf("TypeAllowed(%q) = %v, want %v", tc.ct, got, tc.want)
		}
	}
}
