package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
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
