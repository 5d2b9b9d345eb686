package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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

func TestUploadFileSingle(t *testing.T) {
	srv, c := newClient(t)
	ctx := context.Background()
	path, data := writeText(t, t.TempDir(), "notes.txt", 300<<10)

	var last, calls int64
	o, err := c.UploadFile(ctx, path, client.UploadOptions{StateDir: t.TempDir(),
		Progress: func(done, total int64) { last, calls = done, calls+1 }})
	if err != nil {
		t.Fatal(err)
	}
	if o.State != client.StateReady || o.Size != int64(len(data)) || o.SHA256 != sha(data) ||
		o.Filename != "notes.txt" || o.ContentType != "text/plain" {
		t.Fatalf("object=%+v, want ready notes.txt text/plain of %d bytes with the file's sha256", o, len(data))
	}
	if got := srv.Bytes(t, o.ID); !bytes.Equal(got, data) {
		t.Fatalf("server holds %d bytes, want the file's %d", len(got), len(data))
	}
	if got := srv.BlobPuts(); len(got) != 1 || got[0].Part != 0 || got[0].ObjectID != o.ID || got[0].Status != http.StatusOK {
		t.Fatalf("puts=%+v, want one single PUT of %s", got, o.ID)
	}
	if last != int64(len(data)) || calls == 0 {
		t.Fatalf("progress ended at %d after %d calls, want %d", last, calls, len(data))
	}
}

func TestUploadFileMultipart(t *testing.T) {
	srv, c := newClient(t, smallParts)
	ctx := context.Background()
	path, data := writeText(t, t.TempDir(), "big.txt", 40<<10+123) // 11 parts of 4 KiB, the last short

	var mu sync.Mutex
	var last int64
	o, err := c.UploadFile(ctx, path, client.UploadOptions{MultipartThreshold: 8 << 10, PartSize: 4 << 10, Parallel: 3,
		Progress: func(done, total int64) {
			mu.Lock()
			last = done
			mu.Unlock()
			if total != int64(len(data)) {
				t.Errorf("progress total=%d, want %d", total, len(data))
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Bytes(t, o.ID); !bytes.Equal(got, data) || o.SHA256 != sha(data) {
		t.Fatalf("server holds %d bytes (sha %s), want the file's %d (sha %s)", len(got), o.SHA256, len(data), sha(data))
	}
	want := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if got := apitest.PartsPut(srv.BlobPuts(), o.ID); !slices.Equal(got, want) {
		t.Fatalf("parts put=%v, want %v", got, want)
	}
	if last != int64(len(data)) {
		t.Fatalf("progress ended at %d, want %d", last, len(data))
	}
}

func TestUploadFileResume(t *testing.T) {
	for _, parallel := range []int{1, 4} {
		t.Run(fmt.Sprintf("parallel=%d", parallel), func(t *testing.T) {
			srv, c := newClient(t, smallParts)
			ctx := context.Background()
			path, data := writeText(t, t.TempDir(), "big.txt", 10<<10+7) // 11 parts of 1 KiB
			stateDir := t.TempDir()
			opt := client.UploadOptions{MultipartThreshold: 1 << 10, PartSize: 1 << 10, Parallel: parallel, StateDir: stateDir}

			srv.SetBeforeBlobPut(apitest.FailPart(3, math.MaxInt, http.StatusInternalServerError))
			_, err := c.UploadFile(ctx, path, opt)
			var e *client.Error
			if !errors.As(err, &e) || e.Status != http.StatusInternalServerError {
				t.Fatalf("first run: err=%v, want the injected 500", err)
			}
			first := srv.BlobPuts()
			if len(first) == 0 {
				t.Fatal("first run put nothing")
			}
			id := first[0].ObjectID
			if st := srv.State(t, id); st != mediagate.StatePending {
				t.Fatalf("state after the failed run=%q, want pending", st)
			}
			tries := 0
			for _, p := range first {
				if p.Part == 3 {
					tries++
				}
			}
			if tries != 1+client.DefaultRetries {
				t.Fatalf("part 3 tried %d times, want %d", tries, 1+client.DefaultRetries)
			}
			if files, _ := os.ReadDir(stateDir); len(files) != 1 {
				t.Fatalf("state dir holds %d files after the failed run, want 1", len(files))
			}

			// The parts the server lists are exactly those it answered 200.
			received := apitest.PartsPut(first, id)
			have, err := c.ListParts(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var listed []int
			for _, p := range have {
				listed = append(listed, p.Number)
			}
			slices.Sort(listed)
			if !slices.Equal(listed, received) {
				t.Fatalf("the server lists parts %v, but took PUTs of %v", listed, received)
			}
			var want []int
			for n := 1; n <= 11; n++ {
				if !slices.Contains(received, n) {
					want = append(want, n)
				}
			}
			if parallel == 1 && !slices.Equal(received, []int{1, 2}) {
				t.Fatalf("with one worker the first run took parts %v, want 1 and 2", received)
			}
			if !slices.Contains(want, 3) {
				t.Fatalf("the first run took part 3 (%v) though every PUT of it failed", received)
			}

			srv.SetBeforeBlobPut(nil)
			srv.ResetBlobPuts()
			o, err := c.UploadFile(ctx, path, opt)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			if o.ID != id || o.State != client.StateReady {
				t.Fatalf("second run gave %s (%s), want %s ready", o.ID, o.State, id)
			}
			var second []int
			for _, p := range srv.BlobPuts() {
				second = append(second, p.Part)
			}
			slices.Sort(second)
			if !slices.Equal(second, want) {
				t.Fatalf("second run put parts %v, want only the missing %v", second, want)
			}
			if got := srv.Bytes(t, id); !bytes.Equal(got, data) {
				t.Fatalf("server holds %d bytes, want the file's %d", len(got), len(data))
			}
			if files, _ := os.ReadDir(stateDir); len(files) != 0 {
				t.Fatalf("state dir holds %d files after completion, want none", len(files))
			}
		})
	}
}

// An upload that can no longer be resumed, because it was aborted or its
// deadline passed, is started again as a new object.
func TestUploadFileResumeStartsAgain(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, srv *apitest.Server, c *client.Client, id string)
	}{
		{"aborted", func(t *testing.T, _ *apitest.Server, c *client.Client, id string) {
			if err := c.AbortUpload(context.Background(), id); err != nil {
				t.Fatal(err)
			}
		}},
		{"expired", func(t *testing.T, srv *apitest.Server, _ *client.Client, _ string) {
			srv.Clock.Advance(srv.Config.UploadTTL + time.Minute)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newClient(t, smallParts)
			ctx := context.Background()
			path, data := writeText(t, t.TempDir(), "big.txt", 5<<10)
			opt := client.UploadOptions{MultipartThreshold: 1 << 10, PartSize: 1 << 10, StateDir: t.TempDir(), Retries: -1}
			srv.SetBeforeBlobPut(func(*http.Request) (int, bool) { return http.StatusInternalServerError, true })
			if _, err := c.UploadFile(ctx, path, opt); err == nil || !strings.Contains(err.Error(), "resumable") {
				t.Fatalf("first run: err=%v, want a resumable failure", err)
			}
			old := srv.BlobPuts()[0].ObjectID
			tc.end(t, srv, c, old)
			srv.SetBeforeBlobPut(nil)
			o, err := c.UploadFile(ctx, path, opt)
			if err != nil {
				t.Fatal(err)
			}
			if o.ID == old || !bytes.Equal(srv.Bytes(t, o.ID), data) {
				t.Fatalf("got object %s, want a new one holding the file", o.ID)
			}
		})
	}
}

func TestUploadFileWithoutStateDirAborts(t *testing.T) {
	srv, c := newClient(t, smallParts)
	path, _ := writeText(t, t.TempDir(), "big.txt", 5<<10)
	srv.SetBeforeBlobPut(apitest.FailPart(2, 1, http.StatusInternalServerError))
	_, err := c.UploadFile(context.Background(), path, client.UploadOptions{MultipartThreshold: 1 << 10, PartSize: 1 << 10, Retries: -1})
	if err == nil {
		t.Fatal("upload succeeded, want an error")
	}
	if id := srv.BlobPuts()[0].ObjectID; srv.State(t, id) != mediagate.StateDeleted {
		t.Fatalf("state=%q after a failed upload that cannot resume, want deleted", srv.State(t, id))
	}
}

func TestUploadFileVerificationFailed(t *testing.T) {
	srv, c := newClient(t, smallParts)
	ctx := context.Background()
	dir := t.TempDir()
	// Text that claims to be a PNG: the server sniffs the bytes and refuses.
	for _, size := range []int{2 << 10, 8 << 10} {
		path, _ := writeText(t, dir, fmt.Sprintf("fake%d.png", size), size)
		stateDir := t.TempDir()
		_, err := c.UploadFile(ctx, path, client.UploadOptions{MultipartThreshold: 4 << 10, PartSize: 1 << 10, StateDir: stateDir})
		var e *client.Error
		if !errors.As(err, &e) || e.Code != "verification_failed" || e.Status != http.StatusUnprocessableEntity {
			t.Fatalf("size %d: err=%v, want verification_failed (422)", size, err)
		}
		puts := srv.BlobPuts()
		id := puts[len(puts)-1].ObjectID
		if st := srv.State(t, id); st != mediagate.StateDeleted {
			t.Fatalf("size %d: state=%q, want deleted", size, st)
		}
		if b := srv.Bytes(t, id); b != nil {
			t.Fatalf("size %d: the blob store still holds %d bytes of the refused upload", size, len(b))
		}
		if files, _ := os.ReadDir(stateDir); len(files) != 0 {
			t.Fatalf("size %d: state dir holds %d files, want none", size, len(files))
		}
	}
}

// A real PNG declared as one is taken, and keeps its sniffed type.
func TestUploadFilePNG(t *testing.T) {
	srv, c := newClient(t)
	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"),
		bytes.Repeat([]byte{7}, 4000)...)
	path := filepath.Join(t.TempDir(), "dot.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := c.UploadFile(context.Background(), path, client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o.ContentType != "image/png" || o.State != client.StateReady || !bytes.Equal(srv.Bytes(t, o.ID), png) {
		t.Fatalf("object=%+v, want a ready image/png holding the file", o)
	}
}

func TestDownload(t *testing.T) {
	srv, c := newClient(t, smallParts)
	ctx := context.Background()
	path, data := writeText(t, t.TempDir(), "song.txt", 20<<10)
	o, err := c.UploadFile(ctx, path, client.UploadOptions{MultipartThreshold: 4 << 10, PartSize: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := c.Download(ctx, o.ID, &buf)
	if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("Download: n=%d err=%v, equal=%v; want the %d bytes uploaded", n, err, bytes.Equal(buf.Bytes(), data), len(data))
	}
	u, err := c.DownloadURL(ctx, o.ID, 90*time.Second)
	if err != nil || u.Method != http.MethodGet || !strings.HasPrefix(u.URL, srv.URL+"/blob/") {
		t.Fatalf("DownloadURL=%+v, %v", u, err)
	}
	if left := u.ExpiresAt.Sub(srv.Clock.Now()); left < 89*time.Second || left > 92*time.Second {
		t.Fatalf("DownloadURL expires in %v, want about 90s", left)
	}
	// The signed URL is the only credential it needs.
	resp, err := http.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET of the signed URL: %s, %d bytes, %v; want the %d bytes uploaded", resp.Status, len(got), err, len(data))
	}
	if _, err := c.Download(ctx, mediagate.NewID(mediagate.PrefixObject), &buf); !client.IsCode(err, "not_found") {
		t.Fatalf("Download of a missing object: err=%v, want not_found", err)
	}
}

func TestObjects(t *testing.T) {
	_, c := newClient(t)
	ctx := context.Background()
	dir := t.TempDir()
	var ids []string
	for i := range 5 {
		path, _ := writeText(t, dir, fmt.Sprintf("f%d.txt", i), 100+i)
		o, err := c.UploadFile(ctx, path, client.UploadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append([]string{o.ID}, ids...) // newest first
	}
	page, err := c.Objects(ctx, client.ObjectFilter{Limit: 2})
	if err != nil || len(page.Objects) != 2 || page.NextCursor == "" || page.Objects[0].ID != ids[0] {
		t.Fatalf("first page=%+v err=%v, want the 2 newest and a cursor", page, err)
	}
	var all []string
	for o, err := range c.AllObjects(ctx, client.ObjectFilter{Limit: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, o.ID)
	}
	if !slices.Equal(all, ids) {
		t.Fatalf("AllObjects=%v, want %v", all, ids)
	}
	page, err = c.Objects(ctx, client.ObjectFilter{Name: "F3.TXT"})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].ID != ids[1] {
		t.Fatalf("objects named like F3.TXT=%+v err=%v, want only %s", page, err, ids[1])
	}

	if o, err := c.Pin(ctx, ids[1]); err != nil || !o.Pinned {
		t.Fatalf("Pin: %+v, %v", o, err)
	}
	yes := true
	page, err = c.Objects(ctx, client.ObjectFilter{Pinned: &yes})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].ID != ids[1] {
		t.Fatalf("pinned objects=%+v err=%v, want only %s", page, err, ids[1])
	}
	if o, err := c.Unpin(ctx, ids[1]); err != nil || o.Pinned {
		t.Fatalf("Unpin: %+v, %v", o, err)
	}
	if err := c.DeleteObject(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Object(ctx, ids[0]); !client.IsCode(err, "not_found") {
		t.Fatalf("Object after delete: err=%v, want not_found", err)
	}
	page, err = c.Objects(ctx, client.ObjectFilter{State: client.StateDeleted})
	if err != nil || len(page.Objects) != 1 || page.Objects[0].State != client.StateDeleted {
		t.Fatalf("deleted objects=%+v err=%v, want the one deleted", page, err)
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
