package s3_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/s3"
)

// newProxiedStore returns a store whose public endpoint is a reverse proxy in
// front of MinIO, as a load balancer would be: pre-signed URLs name the
// proxy, which passes requests on with the Host the client used.
func newProxiedStore(t *testing.T) (*s3.BlobStore, string) {
	t.Helper()
	target, _ := url.Parse(server.Endpoint)
	proxy := httptest.NewServer(httputil.NewSingleHostReverseProxy(target))
	t.Cleanup(proxy.Close)
	s, _ := newStore(t, "public_endpoint", proxy.URL)
	return s, proxy.URL
}

// send makes a request with plain net/http and returns the status and body.
func send(t *testing.T, method, rawURL string, header http.Header, body []byte, length int64) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.ContentLength = length
	if length < 0 && body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body)) // hide the length: chunked
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer to %s: %v", method, err)
	}
	return resp, b
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPresignPutGet(t *testing.T) {
	s, public := newProxiedStore(t)
	ctx := t.Context()
	data := bytes.Repeat([]byte("presigned "), 1000)
	u, h, err := s.PresignPut(ctx, "up/one", time.Minute, int64(len(data)), "text/plain", hexSum(data))
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	if !strings.HasPrefix(u, public+"/") {
		t.Fatalf("PresignPut URL %s, want it on the public endpoint %s", u, public)
	}
	if resp, b := send(t, http.MethodPut, u, h, data, int64(len(data))); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT status=%d, want 200: %s", resp.StatusCode, b)
	}
	info, err := s.Stat(ctx, "up/one")
	if err != nil || info.Size != int64(len(data)) || info.SHA256 != hexSum(data) {
		t.Fatalf("Stat=%+v, %v, want %d bytes, sha256 %s", info, err, len(data), hexSum(data))
	}

	g, err := s.PresignGet(ctx, "up/one", time.Minute, "résumé 1.txt", "text/plain; charset=utf-8")
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	if !strings.HasPrefix(g, public+"/") {
		t.Fatalf("PresignGet URL %s, want it on the public endpoint %s", g, public)
	}
	resp, b := send(t, http.MethodGet, g, nil, nil, 0)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(b, data) {
		t.Fatalf("GET status=%d, %d bytes, want 200 and %d bytes", resp.StatusCode, len(b), len(data))
	}
	if got, want := resp.Header.Get("Content-Disposition"), `attachment; filename*=utf-8''r%C3%A9sum%C3%A9%201.txt`; got != want {
		t.Errorf("Content-Disposition=%q, want %q", got, want)
	}
	if got, want := resp.Header.Get("Content-Type"), "text/plain; charset=utf-8"; got != want {
		t.Errorf("Content-Type=%q, want %q", got, want)
	}
	// A range of a pre-signed GET.
	resp, b = send(t, http.MethodGet, g, http.Header{"Range": {"bytes=10-19"}}, nil, 0)
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, data[10:20]) {
		t.Fatalf("ranged GET status=%d, %q, want 206 and %q", resp.StatusCode, b, data[10:20])
	}
}

// TestPresignRefused checks that the store refuses whatever the signature
// does not allow, and that the blob stays as it was.
func TestPresignRefused(t *testing.T) {
	s, _ := newProxiedStore(t)
	ctx := t.Context()
	old := []byte("the old bytes")
	if _, err := s.Put(ctx, "kept", bytes.NewReader(old), -1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	data := []byte("exactly thirty-two bytes long!!!")
	u, h, err := s.PresignPut(ctx, "kept", time.Minute, int64(len(data)), "application/octet-stream", hexSum(data))
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	noSum, noSumH, err := s.PresignPut(ctx, "kept", time.Minute, int64(len(data)), "application/octet-stream", "")
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	other := bytes.ToUpper(data)
	withType := func(h http.Header, ct string) http.Header {
		h = h.Clone()
		h.Set("Content-Type", ct)
		return h
	}
	for _, tc := range []struct {
		name   string
		url    string
		header http.Header
		body   []byte
		length int64
	}{
		{"longer body", noSum, noSumH, append(data, '!'), int64(len(data) + 1)},
		{"shorter body", noSum, noSumH, data[1:], int64(len(data) - 1)},
		{"chunked body", noSum, noSumH, data, -1},
		{"other content type", noSum, withType(noSumH, "text/html"), data, int64(len(data))},
		{"other bytes", u, h, other, int64(len(other))},
		{"other key", alter(t, u, "/kept?", "/kept2?"), h, data, int64(len(data))},
		{"longer expiry", alter(t, u, "X-Amz-Expires=60", "X-Amz-Expires=600"), h, data, int64(len(data))},
		{"no signature", alter(t, u, "&X-Amz-Signature=", "&X-Amz-Unsigned="), h, data, int64(len(data))},
	} {
		resp, b := send(t, http.MethodPut, tc.url, tc.header, tc.body, tc.length)
		if resp.StatusCode/100 == 2 {
			t.Errorf("PUT with %s: status=%d, want a refusal", tc.name, resp.StatusCode)
		}
		t.Logf("PUT with %s: %d %.120s", tc.name, resp.StatusCode, b)
	}
	got, err := s.Stat(ctx, "kept")
	if err != nil || got.Size != int64(len(old)) {
		t.Fatalf("after refused PUTs: Stat=%+v, %v, want the old %d bytes", got, err, len(old))
	}
	if _, err := s.Stat(ctx, "kept2"); mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		t.Fatalf("Stat(kept2): err=%v, want ENOTFOUND", err)
	}
}

// alter replaces old in u with new; that old is there is part of the test.
func alter(t *testing.T, u, old, new string) string {
	t.Helper()
	if !strings.Contains(u, old) {
		t.Fatalf("URL %s lacks %q", u, old)
	}
	return strings.Replace(u, old, new, 1)
}

// TestPlantedSum checks that a client cannot make Stat report a SHA-256 of
// its choosing by sending the metadata header along with a pre-signed PUT.
func TestPlantedSum(t *testing.T) {
	s, _ := newStore(t)
	data := []byte("real bytes")
	u, h, err := s.PresignPut(t.Context(), "planted", time.Minute, int64(len(data)), "text/plain", "")
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	h = h.Clone()
	fake := strings.Repeat("0", 64)
	h.Set("X-Amz-Meta-Mediagate-Sha256", fake+"."+strings.Repeat("1", 32))
	resp, b := send(t, http.MethodPut, u, h, data, int64(len(data)))
	t.Logf("PUT with a planted sum: %d %.100s", resp.StatusCode, b)
	info, err := s.Stat(t.Context(), "planted")
	switch {
	case resp.StatusCode/100 != 2 && mediagate.ErrorCode(err) == mediagate.ENOTFOUND:
		// refused by the store: fine too
	case err != nil:
		t.Fatalf("Stat: %v", err)
	case info.SHA256 != "":
		t.Fatalf("Stat SHA256=%q after a PUT with a planted sum, want \"\"", info.SHA256)
	}
}

func TestPresignExpired(t *testing.T) {
	s, _ := newProxiedStore(t)
	ctx := t.Context()
	if _, err := s.Put(ctx, "soon", strings.NewReader("x"), -1); err != nil {
		t.Fatalf("Put: %v", err)
	}
	g, err := s.PresignGet(ctx, "soon", time.Second, "", "")
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	u, h, err := s.PresignPut(ctx, "soon", time.Second, 1, "text/plain", "")
	if err != nil {
		t.Fatalf("PresignPut: %v", err)
	}
	// A URL signed for a minute works. (Not the short one itself: S3 counts
	// its expiry from the signing time cut to the second, so under load it
	// may be over before a first request.)
	long, err := s.PresignGet(ctx, "soon", time.Minute, "", "")
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	if resp, _ := send(t, http.MethodGet, long, nil, nil, 0); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET of a live URL: status=%d, want 200", resp.StatusCode)
	}
	time.Sleep(2100 * time.Millisecond)
	if resp, _ := send(t, http.MethodGet, g, nil, nil, 0); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET after expiry: status=%d, want 403", resp.StatusCode)
	}
	if resp, _ := send(t, http.MethodPut, u, h, []byte("y"), 1); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("PUT after expiry: status=%d, want 403", resp.StatusCode)
	}
}

func TestPresignPart(t *testing.T) {
	s, public := newProxiedStore(t)
	ctx := t.Context()
	id, err := s.CreateMultipart(ctx, "mp/presigned")
	if err != nil {
		t.Fatalf("CreateMultipart: %v", err)
	}
	data := [][]byte{bytes.Repeat([]byte{7}, 5<<20), []byte("the last part")}
	var parts []mediagate.Part
	for i, b := range data {
		u, h, err := s.PresignPart(ctx, "mp/presigned", id, i+1, time.Minute, int64(len(b)))
		if err != nil {
			t.Fatalf("PresignPart(%d): %v", i+1, err)
		}
		if !strings.HasPrefix(u, public+"/") {
			t.Fatalf("PresignPart URL %s, want it on the public endpoint %s", u, public)
		}
		if resp, _ := send(t, http.MethodPut, u, h, append(b, 'x'), int64(len(b)+1)); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("PUT of part %d with a byte too many: status=%d, want 403", i+1, resp.StatusCode)
		}
		resp, body := send(t, http.MethodPut, u, h, b, int64(len(b)))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("PUT of part %d: status=%d, want 200: %s", i+1, resp.StatusCode, body)
		}
		parts = append(parts, mediagate.Part{Number: i + 1, Size: int64(len(b)), ETag: resp.Header.Get("ETag")})
	}
	listed, err := s.ListParts(ctx, "mp/presigned", id)
	if err != nil || len(listed) != 2 || listed[0] != parts[0] || listed[1] != parts[1] {
		t.Fatalf("ListParts=%+v, %v, want %+v", listed, err, parts)
	}
	info, err := s.CompleteMultipart(ctx, "mp/presigned", id, parts)
	if err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	if want := int64(len(data[0]) + len(data[1])); info.Size != want {
		t.Fatalf("CompleteMultipart size=%d, want %d", info.Size, want)
	}
	// A part URL for an upload that no longer exists does nothing.
	u, h, err := s.PresignPart(ctx, "mp/presigned", id, 3, time.Minute, 1)
	if err != nil {
		t.Fatalf("PresignPart: %v", err)
	}
	if resp, _ := send(t, http.MethodPut, u, h, []byte("x"), 1); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("PUT of a part of a completed upload: status=%d, want 404", resp.StatusCode)
	}
}

func TestPresignInvalid(t *testing.T) {
	s, _ := newStore(t)
	ctx := t.Context()
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"bad key", err3(s.PresignPut(ctx, "../x", time.Minute, 1, "text/plain", ""))},
		{"no expiry", err3(s.PresignPut(ctx, "x", 0, 1, "text/plain", ""))},
		{"expiry past 7 days", err3(s.PresignPut(ctx, "x", 8*24*time.Hour, 1, "text/plain", ""))},
		{"negative size", err3(s.PresignPut(ctx, "x", time.Minute, -1, "text/plain", ""))},
		{"bad content type", err3(s.PresignPut(ctx, "x", time.Minute, 1, "text plain", ""))},
		{"upper-case sum", err3(s.PresignPut(ctx, "x", time.Minute, 1, "text/plain", strings.ToUpper(sum)))},
		{"short sum", err3(s.PresignPut(ctx, "x", time.Minute, 1, "text/plain", sum[2:]))},
		{"part 0", err3(s.PresignPart(ctx, "x", "id", 0, time.Minute, 1))},
		{"part 10001", err3(s.PresignPart(ctx, "x", "id", mediagate.MaxParts+1, time.Minute, 1))},
		{"no upload id", err3(s.PresignPart(ctx, "x", "", 1, time.Minute, 1))},
		{"bad get key", err2(s.PresignGet(ctx, "a//b", time.Minute, "", ""))},
		{"filename with newline", err2(s.PresignGet(ctx, "x", time.Minute, "a\r\nSet-Cookie: x", ""))},
		{"bad response type", err2(s.PresignGet(ctx, "x", time.Minute, "", "/"))},
	} {
		if code := mediagate.ErrorCode(tc.err); code != mediagate.EINVALID {
			t.Errorf("%s: err=%v (code %q), want %q", tc.name, tc.err, code, mediagate.EINVALID)
		}
	}
}

func err3[A, B any](_ A, _ B, err error) error { return err }
func err2[A any](_ A, err error) error         { return err }
