package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"mediagate"
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

// TestProblemDetails: an error's Details become extension members of the
// problem body, and cannot override its standard members.
func TestProblemDetails(t *testing.T) {
	rec := httptest.NewRecorder()
	err := mediagate.Errorf(mediagate.EPAYMENT, "not enough credit")
	err.Details = map[string]any{"needed": 5000000, "available": 1200000, "status": 200}
	writeError(rec, httptest.NewRequest("POST", "/v1/uploads", nil), err)
	var got map[string]any
	if e := json.Unmarshal(rec.Body.Bytes(), &got); e != nil {
		t.Fatal(e)
	}
	if rec.Code != http.StatusPaymentRequired || got["code"] != "insufficient_credit" ||
		got["needed"] != float64(5000000) || got["available"] != float64(1200000) || got["status"] != float64(402) {
		t.Fatalf("status=%d body=%s", rec.Code, rec.Body.String())
	}
}
