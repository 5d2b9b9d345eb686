package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"mediagate"
	"mediagate/client"
	"mediagate/internal/apitest"
)

// newClient starts the real API with opts and returns it and a client
// holding the API key of its account.
func newClient(t *testing.T, opts ...apitest.Option) (*apitest.Server, *client.Client) {
	t.Helper()
	srv := apitest.Start(t, opts...)
	return srv, client.New(srv.URL, srv.Key)
}

// smallParts makes the API take 1 KiB parts, so multipart uploads are quick
// to test.
var smallParts = apitest.WithMinPartSize(1 << 10)

// writeText writes size bytes of numbered text lines (content the server
// sniffs as text/plain) to dir/name and returns the path and the bytes.
func writeText(t *testing.T, dir, name string, size int) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "line %08d: the quick brown fox jumps over the lazy dog\n", i)
	}
	data := b.Bytes()[:size]
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestProblemBodyIsError(t *testing.T) {
	srv, c := newClient(t)
	ctx := context.Background()

	_, err := c.Object(ctx, mediagate.NewID(mediagate.PrefixObject))
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("err=%v (%T), want *client.Error", err, err)
	}
	if e.Status != http.StatusNotFound || e.Code != "not_found" || e.Detail == "" || e.Title != "Not Found" {
		t.Fatalf("error=%+v, want status 404, code not_found, a detail and a title", e)
	}
	if got, want := e.Error(), "not_found: "+e.Detail; got != want {
		t.Fatalf("Error()=%q, want %q", got, want)
	}
	if !client.IsCode(fmt.Errorf("wrapped: %w", err), "not_found") {
		t.Fatal("IsCode does not see through wrapping")
	}

	_, err = client.New(srv.URL, "mg_nonsense").Keys(ctx)
	if !client.IsCode(err, "unauthorized") || err.(*client.Error).Status != http.StatusUnauthorized {
		t.Fatalf("err=%v, want unauthorized with status 401", err)
	}
	_, err = c.CreateUpload(ctx, client.UploadRequest{Filename: "x.exe", ContentType: "application/x-msdownload", Size: 10})
	if !client.IsCode(err, "unsupported_type") || err.(*client.Error).Status != http.StatusUnsupportedMediaType {
		t.Fatalf("err=%v, want unsupported_type with status 415", err)
	}
}

func TestNonProblemErrorIsOneLine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>bad gateway\n<body>upstream down</body></html>")
	}))
	defer srv.Close()
	_, err := client.New(srv.URL, "k").Keys(context.Background())
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "" {
		t.Fatalf("err=%#v, want *client.Error with status 502 and no code", err)
	}
	if got, want := err.Error(), "HTTP 502 Bad Gateway: <html>bad gateway"; got != want {
		t.Fatalf("Error()=%q, want %q", got, want)
	}
}

func TestRetryAfter(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			w.Header().Set("Retry-After", "0")
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"code":"rate_limited","detail":"slow down","status":429}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"keys":[{"id":"key_1","name":"a"}]}`)
	}))
	defer srv.Close()
	keys, err := client.New(srv.URL, "k").Keys(context.Background())
	if err != nil || len(keys) != 1 || calls != 2 {
		t.Fatalf("keys=%v err=%v calls=%d, want one key after 2 calls", keys, err, calls)
	}
}

func TestAuthAndKeys(t *testing.T) {
	srv := apitest.Start(t)
	ctx := context.Background()
	anon := client.New(srv.URL, "")
	su, err := anon.Signup(ctx, client.SignupRequest{Email: "Ann@Example.com", Password: "correct horse"})
	if err != nil || su.Token == "" || su.User.Email != "ann@example.com" || su.Account.ID == "" {
		t.Fatalf("Signup=%+v, %v", su, err)
	}
	if _, err := anon.Signup(ctx, client.SignupRequest{Email: "ann@example.com", Password: "correct horse"}); !client.IsCode(err, "conflict") {
		t.Fatalf("second signup: err=%v, want conflict", err)
	}
	if _, err := anon.Login(ctx, "ann@example.com", "wrong password"); !client.IsCode(err, "unauthorized") {
		t.Fatalf("login with a wrong password: err=%v, want unauthorized", err)
	}
	s, err := anon.Login(ctx, "ann@example.com", "correct horse")
	if err != nil || s.AccountID != su.Account.ID {
		t.Fatalf("Login=%+v, %v", s, err)
	}

	user := client.New(srv.URL, s.Token)
	k, err := user.CreateKey(ctx, "laptop", "objects:read")
	if err != nil || !strings.HasPrefix(k.Secret, "mg_") || !slices.Equal(k.Scopes, []string{"objects:read"}) {
		t.Fatalf("CreateKey=%+v, %v", k, err)
	}
	if _, err := user.CreateKey(ctx, "root", "admin"); !client.IsCode(err, "forbidden") {
		t.Fatalf("CreateKey with a scope the user lacks: err=%v, want forbidden", err)
	}
	reader := client.New(srv.URL, k.Secret)
	if _, err := reader.Objects(ctx, client.ObjectFilter{}); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.CreateUpload(ctx, client.UploadRequest{Filename: "a.txt", ContentType: "text/plain", Size: 1}); !client.IsCode(err, "forbidden") {
		t.Fatalf("upload with a read-only key: err=%v, want forbidden", err)
	}
	keys, err := user.Keys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].Secret != "" || keys[0].LastUsedAt == nil {
		t.Fatalf("Keys=%+v, %v; want the one key, used, without its secret", keys, err)
	}
	if err := user.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Objects(ctx, client.ObjectFilter{}); !client.IsCode(err, "unauthorized") {
		t.Fatalf("revoked key: err=%v, want unauthorized", err)
	}
}
