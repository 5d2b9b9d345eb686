package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestStatusWriterReadFromWithoutReaderFrom: a download through a writer that
// has no ReadFrom (a recorder, another middleware) still sends every byte.
func TestStatusWriterReadFromWithoutReaderFrom(t *testing.T) {
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec}
	n, err := sw.ReadFrom(strings.NewReader("hello bytes"))
	if err != nil || n != 11 || rec.Body.String() != "hello bytes" || sw.written != 11 || sw.status != http.StatusOK {
		t.Fatalf("n=%d err=%v body=%q written=%d status=%d", n, err, rec.Body.String(), sw.written, sw.status)
	}
}
