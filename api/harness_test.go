package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/disk"
	"mediagate/internal/apitest"
	"mediagate/sqlite"
)

// tokenTTL outlives the upload TTL, so tests can let uploads expire.
const tokenTTL = 24 * time.Hour

// server is the real API over SQLite and disk on a loopback port
// (internal/apitest), with the helpers these tests share.
type server struct {
	*apitest.Server
	store *sqlite.DB
	blobs *disk.BlobStore
	clock *apitest.Clock
	cfg   api.Config
}

func newServer(t *testing.T, tweak ...func(*api.Config)) *server {
	t.Helper()
	opts := []apitest.Option{
		apitest.WithMinPartSize(5 << 10), // small parts keep multipart tests fast
		apitest.WithConfig(func(c *api.Config) { c.TokenTTL = tokenTTL }),
	}
	for _, f := range tweak {
		opts = append(opts, apitest.WithConfig(f))
	}
	a := apitest.Start(t, opts...)
	return &server{Server: a, store: a.Store, blobs: a.Blobs, clock: a.Clock, cfg: a.Config}
}

// response is a finished HTTP exchange.
type response struct {
	*http.Response
	body []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// problem decodes an RFC 9457 body and checks the status and code.
func (r response) problem(t *testing.T, status int, code string) map[string]any {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status=%d, want %d; body %s", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type=%q, want application/problem+json", ct)
	}
	var p map[string]any
	r.json(t, &p)
	if p["code"] != code {
		t.Fatalf("code=%v, want %s; body %s", p["code"], code, r.body)
	}
	if p["detail"] == "" || p["status"] != float64(status) {
		t.Fatalf("problem lacks detail or status: %s", r.body)
	}
	return p
}

func (r response) status(t *testing.T, want int) response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("status=%d, want %d; body %s", r.StatusCode, want, r.body)
	}
	return r
}

// do sends a request; body is JSON-encoded unless it is []byte or a string.
func (s *server) do(t *testing.T, method, path, token string, body any, headers ...string) response {
	t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		j, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(j), "application/json"
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = s.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, b}
}

// signup makes an account and returns a user token.
func (s *server) signup(t *testing.T, email string) string {
	t.Helper()
	var out struct{ Token string }
	s.do(t, "POST", "/v1/auth/signup", "", map[string]any{"email": email, "password": "correct horse"}).status(t, 201).json(t, &out)
	return out.Token
}

// key makes an API key with scopes for the token's account.
func (s *server) key(t *testing.T, token string, scopes ...string) string {
	t.Helper()
	var out struct{ Secret string }
	s.do(t, "POST", "/v1/keys", token, map[string]any{"name": "test", "scopes": scopes}).status(t, 201).json(t, &out)
	return out.Secret
}

type object struct {
	ID          string `json:"id"`
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	State       string `json:"state"`
	Pinned      bool   `json:"pinned"`
	Multipart   *struct {
		PartSize  int64 `json:"part_size"`
		PartCount int   `json:"part_count"`
	} `json:"multipart"`
}

type instruction struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

type created struct {
	Object object       `json:"object"`
	Upload *instruction `json:"upload"`
}

// createUpload declares an upload of data and returns the answer.
func (s *server) createUpload(t *testing.T, token, name, contentType string, data []byte, extra ...any) created {
	t.Helper()
	req := map[string]any{"filename": name, "content_type": contentType, "size": len(data)}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i].(string)] = extra[i+1]
	}
	var c created
	s.do(t, "POST", "/v1/uploads", token, req).status(t, 201).json(t, &c)
	return c
}

// put sends data as the instruction says.
func (s *server) put(t *testing.T, in *instruction, data []byte) response {
	t.Helper()
	var h []string
	for k, v := range in.Headers {
		h = append(h, k, v)
	}
	return s.do(t, in.Method, in.URL, "", data, h...)
}

// upload runs create → PUT → complete and returns the ready object.
func (s *server) upload(t *testing.T, token, name, contentType string, data []byte) object {
	t.Helper()
	c := s.createUpload(t, token, name, contentType, data)
	s.put(t, c.Upload, data).status(t, 200)
	var o object
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", token, nil).status(t, 200).json(t, &o)
	return o
}

// blobExists reports whether the store still has an object's bytes.
func (s *server) blobExists(t *testing.T, id string) bool {
	t.Helper()
	_, err := s.blobs.Stat(context.Background(), strings.TrimPrefix(id, "obj_")[:2]+"/"+id)
	if err != nil && mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		t.Fatal(err)
	}
	return err == nil
}

// Sample payloads whose magic bytes say what they are.
var (
	pngBytes = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"), bytes.Repeat([]byte{7}, 4000)...)
	pdfBytes = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("x"), 20000)...)
	txtBytes = []byte("hello, plain text\n")
)

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
