package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"mediagate/api"
	"mediagate/sweeper"
)

func TestUploadRoundTrip(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	c := s.createUpload(t, tok, "../../etc/passwd/cat\x00.png", "image/png", pngBytes, "sha256", sha(pngBytes))
	if c.Object.State != "pending" || c.Object.Filename != "cat.png" || c.Upload == nil || c.Upload.Method != "PUT" {
		t.Fatalf("created %+v upload %+v", c.Object, c.Upload)
	}
	s.put(t, c.Upload, pngBytes).status(t, 200)
	var o object
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).status(t, 200).json(t, &o)
	if o.State != "ready" || o.Size != int64(len(pngBytes)) || o.SHA256 != sha(pngBytes) || o.ContentType != "image/png" {
		t.Fatalf("completed %+v", o)
	}
	// The signed PUT URL takes no more bytes once the object is ready.
	s.put(t, c.Upload, pngBytes).problem(t, 409, "conflict")
	s.do(t, "POST", "/v1/uploads/"+o.ID+"/complete", tok, nil).problem(t, 409, "conflict")

	r := s.do(t, "GET", "/v1/objects/"+o.ID+"/content", tok, nil).status(t, 302)
	got := s.do(t, "GET", r.Header.Get("Location"), "", nil).status(t, 200)
	if !bytes.Equal(got.body, pngBytes) {
		t.Fatalf("downloaded %d bytes, not the %d uploaded", len(got.body), len(pngBytes))
	}
}

func TestUploadRefusals(t *testing.T) {
	s := newServer(t, func(c *api.Config) { c.MaxObjectSize = 1 << 20 })
	tok := s.signup(t, "a@example.com")
	create := func(body map[string]any) response { return s.do(t, "POST", "/v1/uploads", tok, body) }
	tests := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"no filename", map[string]any{"content_type": "image/png", "size": 10}, 400, "invalid"},
		{"dots only", map[string]any{"filename": "../..", "content_type": "image/png", "size": 10}, 400, "invalid"},
		{"no type", map[string]any{"filename": "a", "size": 10}, 400, "invalid"},
		{"bad type", map[string]any{"filename": "a", "content_type": "png", "size": 10}, 400, "invalid"},
		{"html not allowed", map[string]any{"filename": "a.html", "content_type": "text/html", "size": 10}, 415, "unsupported_type"},
		{"svg not allowed", map[string]any{"filename": "a.svg", "content_type": "image/svg+xml", "size": 10}, 415, "unsupported_type"},
		{"zip not allowed", map[string]any{"filename": "a.zip", "content_type": "application/zip", "size": 10}, 415, "unsupported_type"},
		{"zero size", map[string]any{"filename": "a", "content_type": "image/png", "size": 0}, 400, "invalid"},
		{"too large", map[string]any{"filename": "a", "content_type": "image/png", "size": 2 << 20}, 413, "too_large"},
		{"bad sha", map[string]any{"filename": "a", "content_type": "image/png", "size": 10, "sha256": "abc"}, 400, "invalid"},
		{"tiny parts", map[string]any{"filename": "a", "content_type": "image/png", "size": 100000, "part_size": 10}, 400, "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { create(tt.body).problem(t, tt.status, tt.code) })
	}
	var list struct{ Objects []object }
	s.do(t, "GET", "/v1/objects?state=pending", tok, nil).status(t, 200).json(t, &list)
	if len(list.Objects) != 0 {
		t.Fatalf("refused uploads left %d objects", len(list.Objects))
	}
}

func TestUploadBadBytes(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")

	t.Run("body larger than declared", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
		s.put(t, c.Upload, append(pngBytes, 'x')).problem(t, 413, "too_large")
		if s.blobExists(t, c.Object.ID) {
			t.Fatal("an oversized body left bytes behind")
		}
		// The upload is still pending: the right bytes can follow.
		s.put(t, c.Upload, pngBytes).status(t, 200)
	})
	t.Run("body shorter than declared", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
		s.put(t, c.Upload, pngBytes[:100]).status(t, 200)
		s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 422, "verification_failed")
		s.do(t, "GET", "/v1/objects/"+c.Object.ID, tok, nil).problem(t, 404, "not_found")
		if s.blobExists(t, c.Object.ID) {
			t.Fatal("a failed verification left bytes behind")
		}
	})
	t.Run("wrong checksum", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes, "sha256", sha([]byte("other")))
		s.put(t, c.Upload, pngBytes).status(t, 200)
		p := s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 422, "verification_failed")
		if !strings.Contains(p["detail"].(string), "checksum") {
			t.Fatalf("detail=%v, want it to name the checksum", p["detail"])
		}
		if s.blobExists(t, c.Object.ID) {
			t.Fatal("a failed verification left bytes behind")
		}
	})
	t.Run("bytes are not the declared type", func(t *testing.T) {
		fake := append([]byte(nil), pdfBytes...)
		c := s.createUpload(t, tok, "cat.png", "image/png", fake)
		s.put(t, c.Upload, fake).status(t, 200)
		p := s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 422, "verification_failed")
		if !strings.Contains(p["detail"].(string), "application/pdf") {
			t.Fatalf("detail=%v, want it to name the real type", p["detail"])
		}
	})
	t.Run("html declared as text", func(t *testing.T) {
		html := []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
		c := s.createUpload(t, tok, "a.txt", "text/plain", html)
		s.put(t, c.Upload, html).status(t, 200)
		s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 415, "unsupported_type")
	})
	t.Run("wrong Content-Type on PUT", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
		s.do(t, "PUT", c.Upload.URL, "", pngBytes, "Content-Type", "text/html").problem(t, 403, "forbidden")
	})
	t.Run("complete before bytes", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
		s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 409, "conflict")
		s.do(t, "GET", "/v1/objects/"+c.Object.ID, tok, nil).status(t, 200)
	})
	t.Run("tampered URL", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
		u, _ := url.Parse(c.Upload.URL)
		q := u.Query()
		q.Set("X-Mg-Max", "999999999")
		u.RawQuery = q.Encode()
		s.do(t, "PUT", u.String(), "", pngBytes, "Content-Type", "image/png").problem(t, 403, "forbidden")
		other := strings.Replace(c.Upload.URL, c.Object.ID, "obj_00000000000000000000000000", 1)
		s.do(t, "PUT", other, "", pngBytes, "Content-Type", "image/png").problem(t, 403, "forbidden")
	})
	t.Run("expired URL and upload", func(t *testing.T) {
		c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
		s.clock.Advance(s.cfg.UploadTTL + time.Second)
		defer s.clock.Advance(-s.cfg.UploadTTL - time.Second)
		p := s.put(t, c.Upload, pngBytes).problem(t, 403, "forbidden")
		if !strings.Contains(p["detail"].(string), "expired") {
			t.Fatalf("detail=%v", p["detail"])
		}
		s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 410, "gone")
	})
}

func TestOtherAccountSeesNothing(t *testing.T) {
	s := newServer(t)
	a, b := s.signup(t, "a@example.com"), s.signup(t, "b@example.com")
	o := s.upload(t, a, "a.png", "image/png", pngBytes)
	pending := s.createUpload(t, a, "p.png", "image/png", pngBytes)
	for _, req := range []struct{ method, path string }{
		{"GET", "/v1/objects/" + o.ID},
		{"DELETE", "/v1/objects/" + o.ID},
		{"POST", "/v1/objects/" + o.ID + "/pin"},
		{"POST", "/v1/objects/" + o.ID + "/url"},
		{"GET", "/v1/objects/" + o.ID + "/content"},
		{"POST", "/v1/uploads/" + pending.Object.ID + "/complete"},
		{"DELETE", "/v1/uploads/" + pending.Object.ID},
	} {
		t.Run(req.method+" "+req.path, func(t *testing.T) {
			s.do(t, req.method, req.path, b, nil).problem(t, 404, "not_found")
		})
	}
	var list struct{ Objects []object }
	s.do(t, "GET", "/v1/objects", b, nil).status(t, 200).json(t, &list)
	if len(list.Objects) != 0 {
		t.Fatalf("b sees %d of a's objects", len(list.Objects))
	}
	s.do(t, "GET", "/v1/objects/"+o.ID, a, nil).status(t, 200)
}

func TestMultipartUpload(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	data := append(append([]byte(nil), pdfBytes...), bytes.Repeat([]byte("0123456789"), 3000)...) // 50 KB
	const partSize = 8 << 10
	c := s.createUpload(t, tok, "doc.pdf", "application/pdf", data, "part_size", partSize, "sha256", sha(data))
	if c.Upload != nil || c.Object.Multipart == nil || c.Object.Multipart.PartCount != 7 {
		t.Fatalf("created %+v, want a multipart layout of 7 parts", c.Object)
	}
	id := c.Object.ID
	var signed struct {
		Parts []struct {
			Number int
			instruction
		}
	}
	s.do(t, "POST", "/v1/uploads/"+id+"/parts", tok, map[string]any{"parts": []int{7, 3, 1, 5, 2, 4}}).status(t, 200).json(t, &signed)
	part := func(n int) []byte { return data[(n-1)*partSize : min(n*partSize, len(data))] }
	for _, p := range signed.Parts {
		r := s.put(t, &p.instruction, part(p.Number)).status(t, 200)
		if r.Header.Get("ETag") == "" {
			t.Fatalf("part %d answered no ETag", p.Number)
		}
	}
	// A part URL refuses a body longer than its part.
	s.put(t, &signed.Parts[0].instruction, part(1)).problem(t, 413, "too_large")

	s.do(t, "POST", "/v1/uploads/"+id+"/complete", tok, nil).problem(t, 409, "conflict") // part 6 missing
	var listed struct{ Parts []struct{ Number int } }
	s.do(t, "GET", "/v1/uploads/"+id+"/parts", tok, nil).status(t, 200).json(t, &listed)
	if fmt.Sprint(listed.Parts) != "[{1} {2} {3} {4} {5} {7}]" {
		t.Fatalf("parts=%v", listed.Parts)
	}
	s.do(t, "POST", "/v1/uploads/"+id+"/parts", tok, map[string]any{"parts": []int{8}}).problem(t, 400, "invalid")
	s.do(t, "POST", "/v1/uploads/"+id+"/parts", tok, map[string]any{"parts": []int{6}}).status(t, 200).json(t, &signed)
	s.put(t, &signed.Parts[0].instruction, part(6)).status(t, 200)

	var o object
	s.do(t, "POST", "/v1/uploads/"+id+"/complete", tok, nil).status(t, 200).json(t, &o)
	if o.State != "ready" || o.Size != int64(len(data)) || o.SHA256 != sha(data) || o.ContentType != "application/pdf" {
		t.Fatalf("completed %+v", o)
	}
	var u struct{ URL string }
	s.do(t, "POST", "/v1/objects/"+id+"/url", tok, nil).status(t, 200).json(t, &u)
	if got := s.do(t, "GET", u.URL, "", nil).status(t, 200); !bytes.Equal(got.body, data) {
		t.Fatal("multipart download differs from the upload")
	}
	s.do(t, "GET", "/v1/uploads/"+id+"/parts", tok, nil).problem(t, 409, "conflict")
}

func TestAbortAndExpiry(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")

	c := s.createUpload(t, tok, "a.png", "image/png", pngBytes)
	s.put(t, c.Upload, pngBytes).status(t, 200)
	s.do(t, "DELETE", "/v1/uploads/"+c.Object.ID, tok, nil).status(t, 204)
	if s.blobExists(t, c.Object.ID) {
		t.Fatal("abort left bytes behind")
	}
	s.put(t, c.Upload, pngBytes).problem(t, 404, "not_found")

	// An upload nobody completes is swept after its TTL, bytes and all.
	stale := s.createUpload(t, tok, "b.png", "image/png", pngBytes)
	s.put(t, stale.Upload, pngBytes).status(t, 200)
	fresh := s.createUpload(t, tok, "c.png", "image/png", pngBytes)
	sw := &sweeper.Sweeper{Objects: s.store, Blobs: s.blobs, Now: s.clock.Now}
	if res, err := sw.Sweep(context.Background()); err != nil || res.Expired != 0 {
		t.Fatalf("early sweep=%+v, %v; want nothing expired", res, err)
	}
	s.clock.Advance(s.cfg.UploadTTL + time.Second)
	res, err := sw.Sweep(context.Background())
	if err != nil || res.Expired != 2 || res.Purged != 2 {
		t.Fatalf("sweep=%+v, %v; want 2 expired and purged", res, err)
	}
	if s.blobExists(t, stale.Object.ID) {
		t.Fatal("the sweeper left an expired upload's bytes")
	}
	s.do(t, "GET", "/v1/objects/"+fresh.Object.ID, tok, nil).problem(t, 404, "not_found")
}
