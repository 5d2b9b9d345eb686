package api_test

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestListObjects(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	var ids []string
	for i := range 5 {
		ids = append(ids, s.upload(t, tok, fmt.Sprintf("img%d.png", i), "image/png", pngBytes).ID)
		s.clock.Advance(time.Millisecond)
	}
	doc := s.upload(t, tok, "doc.pdf", "application/pdf", pdfBytes)
	s.clock.Advance(time.Millisecond)
	s.createUpload(t, tok, "pending.txt", "text/plain", txtBytes)

	// Walk every page of two: each ready or pending object once, newest first.
	var seen []string
	cursor := ""
	for page := 0; page < 10; page++ {
		var out struct {
			Objects    []object
			NextCursor string `json:"next_cursor"`
		}
		s.do(t, "GET", "/v1/objects?limit=2&cursor="+cursor, tok, nil).status(t, 200).json(t, &out)
		for _, o := range out.Objects {
			seen = append(seen, o.ID)
		}
		if cursor = out.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 7 || seen[1] != doc.ID || seen[6] != ids[0] {
		t.Fatalf("pages gave %d objects %v; want 7, newest first", len(seen), seen)
	}

	count := func(query string) int {
		var out struct{ Objects []object }
		s.do(t, "GET", "/v1/objects?"+query, tok, nil).status(t, 200).json(t, &out)
		return len(out.Objects)
	}
	s.do(t, "POST", "/v1/objects/"+ids[2]+"/pin", tok, nil).status(t, 200)
	for query, want := range map[string]int{
		"type=image/": 5, "type=IMAGE/PNG": 5, "type=application/pdf": 1, "state=pending": 1, "state=ready": 6,
		"pinned=true": 1, "pinned=false": 6,
		"name=IMG": 5, "name=img3.PNG": 1, "name=.p": 6, "name=%25": 0, "name=_": 0, "name=img&type=application/": 0,
		"name=d&type=application/pdf&state=ready": 1, "name=" + strings.Repeat("x", 200): 0,
	} {
		if got := count(query); got != want {
			t.Errorf("%s: %d objects, want %d", query, got, want)
		}
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "state=lost", "pinned=maybe", "cursor=bm90IGEgY3Vyc29y",
		"name=" + strings.Repeat("x", 201), "name=%FF", "name=a%00b"} {
		s.do(t, "GET", "/v1/objects?"+q, tok, nil).problem(t, 400, "invalid")
	}
}

func TestPinAndDelete(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	o := s.upload(t, tok, "a.png", "image/png", pngBytes)
	var got object
	s.do(t, "POST", "/v1/objects/"+o.ID+"/pin", tok, nil).status(t, 200).json(t, &got)
	if !got.Pinned {
		t.Fatal("pin did not pin")
	}
	s.do(t, "DELETE", "/v1/objects/"+o.ID+"/pin", tok, nil).status(t, 200).json(t, &got)
	if got.Pinned {
		t.Fatal("unpin did not unpin")
	}
	pending := s.createUpload(t, tok, "p.png", "image/png", pngBytes)
	s.do(t, "POST", "/v1/objects/"+pending.Object.ID+"/pin", tok, nil).problem(t, 409, "conflict")
	s.do(t, "POST", "/v1/objects/"+pending.Object.ID+"/url", tok, nil).problem(t, 409, "conflict")

	var u struct{ URL string }
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil).status(t, 200).json(t, &u)
	s.do(t, "DELETE", "/v1/objects/"+o.ID, tok, nil).status(t, 204)
	s.do(t, "GET", "/v1/objects/"+o.ID, tok, nil).problem(t, 404, "not_found")
	s.do(t, "DELETE", "/v1/objects/"+o.ID, tok, nil).problem(t, 404, "not_found")
	if s.blobExists(t, o.ID) {
		t.Fatal("delete left the bytes")
	}
	s.do(t, "GET", u.URL, "", nil).problem(t, 404, "not_found")
	s.do(t, "GET", "/v1/objects/obj_%2e%2e%2fetc", tok, nil).problem(t, 404, "not_found")
}

func TestBlobGet(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	o := s.upload(t, tok, "report \"final\"; v2.pdf", "application/pdf", pdfBytes)
	var u struct{ URL string }
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, map[string]any{"expires_in": 60}).status(t, 200).json(t, &u)

	full := s.do(t, "GET", u.URL, "", nil).status(t, 200)
	h := full.Header
	if h.Get("Content-Type") != "application/pdf" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("ETag") == "" {
		t.Fatalf("headers %v", h)
	}
	_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil || params["filename"] != "report final v2.pdf" {
		t.Fatalf("Content-Disposition %q (%v): want the sanitized file name", h.Get("Content-Disposition"), err)
	}
	if !bytes.Equal(full.body, pdfBytes) {
		t.Fatal("GET body differs")
	}

	head := s.do(t, "HEAD", u.URL, "", nil).status(t, 200)
	if head.ContentLength != int64(len(pdfBytes)) || len(head.body) != 0 {
		t.Fatalf("HEAD: length %d body %d", head.ContentLength, len(head.body))
	}
	r := s.do(t, "GET", u.URL, "", nil, "Range", "bytes=5-14").status(t, 206)
	if !bytes.Equal(r.body, pdfBytes[5:15]) || r.Header.Get("Content-Range") != fmt.Sprintf("bytes 5-14/%d", len(pdfBytes)) {
		t.Fatalf("range: %q %q", r.body, r.Header.Get("Content-Range"))
	}
	multi := s.do(t, "GET", u.URL, "", nil, "Range", "bytes=0-3,100-109").status(t, 206)
	mt, mp, _ := mime.ParseMediaType(multi.Header.Get("Content-Type"))
	if mt != "multipart/byteranges" {
		t.Fatalf("multi-range Content-Type %q", multi.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(bytes.NewReader(multi.body), mp["boundary"])
	var parts [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, b)
	}
	if len(parts) != 2 || !bytes.Equal(parts[0], pdfBytes[0:4]) || !bytes.Equal(parts[1], pdfBytes[100:110]) {
		t.Fatalf("multi-range parts %q", parts)
	}
	s.do(t, "GET", u.URL, "", nil, "If-None-Match", h.Get("ETag")).status(t, 304)
	s.do(t, "GET", u.URL, "", nil, "Range", fmt.Sprintf("bytes=%d-", len(pdfBytes)+10)).status(t, 416)

	// Altered or expired URLs are refused.
	s.do(t, "GET", strings.Replace(u.URL, "X-Mg-Name=", "X-Mg-Name=evil", 1), "", nil).problem(t, 403, "forbidden")
	s.do(t, "PUT", u.URL, "", []byte("x")).problem(t, 403, "forbidden")
	s.clock.Advance(61e9)
	s.do(t, "GET", u.URL, "", nil).problem(t, 403, "forbidden")
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, map[string]any{"expires_in": -1}).problem(t, 400, "invalid")
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, map[string]any{"expires_in": 99999999}).problem(t, 400, "invalid")
}

func TestOperationsEndpoints(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	s.upload(t, tok, "a.png", "image/png", pngBytes)
	s.do(t, "GET", "/healthz", "", nil).status(t, 200)
	s.do(t, "GET", "/readyz", "", nil).status(t, 200)
	m := s.do(t, "GET", "/metrics", "", nil).status(t, 200)
	for _, want := range []string{
		`mediagate_http_requests_total{route="POST /v1/uploads",status="201"} 1`,
		`mediagate_objects{state="ready"} 1`,
		`mediagate_http_request_duration_seconds_bucket{route="PUT /blob/{key...}"`,
		"mediagate_http_response_bytes_total",
	} {
		if !strings.Contains(string(m.body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	docs := s.do(t, "GET", "/docs", "", nil).status(t, 200)
	if !strings.Contains(docs.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(docs.body), "/v1/uploads/{id}/complete") {
		t.Fatal("docs page does not list the routes")
	}
	s.do(t, "GET", "/nope", "", nil).problem(t, 404, "not_found")
	r := s.do(t, "PATCH", "/v1/objects", tok, nil)
	r.problem(t, http.StatusMethodNotAllowed, "method_not_allowed")
	if !strings.Contains(r.Header.Get("Allow"), "GET") {
		t.Fatalf("Allow=%q", r.Header.Get("Allow"))
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id")
	}
}
