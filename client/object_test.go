package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/client"
)

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
