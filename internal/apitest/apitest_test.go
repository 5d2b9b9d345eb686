package apitest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/client"
	"mediagate/disk"
	"mediagate/internal/apitest"
)

func writeFile(t *testing.T, name string, size int) (string, []byte) {
	t.Helper()
	data := []byte(strings.Repeat("plain text for apitest\n", size/23+1)[:size])
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

func TestCredentialsAndClock(t *testing.T) {
	srv := apitest.Start(t)
	ctx := context.Background()
	for name, cred := range map[string]string{"token": srv.Token, "key": srv.Key} {
		keys, err := client.New(srv.URL, cred).Keys(ctx)
		if err != nil || len(keys) != 1 || keys[0].Name != "test" {
			t.Fatalf("Keys with the %s: %+v, %v; want the one key Start made", name, keys, err)
		}
	}
	s, err := client.New(srv.URL, "").Login(ctx, srv.Email, srv.Password)
	if err != nil || s.AccountID != srv.AccountID {
		t.Fatalf("Login=%+v, %v; want account %s", s, err, srv.AccountID)
	}
	// The server's clock decides when tokens expire; API keys do not.
	srv.Clock.Advance(srv.Config.TokenTTL + time.Minute)
	if _, err := client.New(srv.URL, srv.Token).Keys(ctx); !client.IsCode(err, "unauthorized") {
		t.Fatalf("Keys with an expired token: err=%v, want unauthorized", err)
	}
	if _, err := client.New(srv.URL, srv.Key).Keys(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestBlobPuts(t *testing.T) {
	srv := apitest.Start(t, apitest.WithMinPartSize(1<<10),
		apitest.WithBeforeBlobPut(apitest.FailPart(0, 1, http.StatusServiceUnavailable)))
	c := client.New(srv.URL, srv.Key)
	ctx := context.Background()

	// The first single PUT is failed by the hook; the client's retry is let through.
	path, data := writeFile(t, "one.txt", 2000)
	o, err := c.UploadFile(ctx, path, client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []apitest.BlobPut{
		{Method: http.MethodPut, ObjectID: o.ID, Part: 0, Status: http.StatusServiceUnavailable, Injected: true},
		{Method: http.MethodPut, ObjectID: o.ID, Part: 0, Status: http.StatusOK},
	}
	if got := srv.BlobPuts(); !slices.Equal(got, want) {
		t.Fatalf("BlobPuts=%+v, want %+v", got, want)
	}
	if srv.State(t, o.ID) != mediagate.StateReady || !bytes.Equal(srv.Bytes(t, o.ID), data) {
		t.Fatalf("state %q, want ready with the file's bytes", srv.State(t, o.ID))
	}

	// Part numbers come from the signed URLs.
	srv.ResetBlobPuts()
	path, data = writeFile(t, "three.txt", 2500)
	o, err = c.UploadFile(ctx, path, client.UploadOptions{MultipartThreshold: 1 << 10, PartSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := apitest.PartsPut(srv.BlobPuts(), o.ID); !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("parts put=%v, want 1 to 3", got)
	}
	if !bytes.Equal(srv.Bytes(t, o.ID), data) {
		t.Fatal("the server does not hold the file")
	}

	if err := c.DeleteObject(ctx, o.ID); err != nil {
		t.Fatal(err)
	}
	if st := srv.State(t, o.ID); st != mediagate.StateDeleted || srv.Bytes(t, o.ID) != nil {
		t.Fatalf("after delete: state %q, want deleted without bytes", st)
	}
	if st := srv.State(t, mediagate.NewID(mediagate.PrefixObject)); st != "" {
		t.Fatalf("state of an unknown object=%q, want none", st)
	}
}

// TestWithBlobStore checks that the API keeps its bytes in the store given,
// and that Bytes reads them from it.
func TestWithBlobStore(t *testing.T) {
	blobs, err := disk.Open(filepath.Join(t.TempDir(), "given"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	srv := apitest.Start(t, apitest.WithBlobStore(func(testing.TB) mediagate.BlobStore { return blobs }))
	if srv.Blobs != nil || srv.BlobStore != mediagate.BlobStore(blobs) {
		t.Fatalf("Blobs=%v, BlobStore=%v; want nil and the store given", srv.Blobs, srv.BlobStore)
	}
	path, data := writeFile(t, "given.txt", 3000)
	o, err := client.New(srv.URL, srv.Key).UploadFile(t.Context(), path, client.UploadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := blobs.Open(t.Context(), srv.Object(t, o.ID).Key)
	if err != nil {
		t.Fatalf("the store given does not hold the upload: %v", err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the store given holds %d bytes (%v), want the file's %d", len(got), err, len(data))
	}
	if !bytes.Equal(srv.Bytes(t, o.ID), data) {
		t.Fatal("Bytes does not read the file's bytes from the store given")
	}
}
