package api

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"mediagate"
	"mediagate/disk"
)

func TestThumbBounds(t *testing.T) {
	for _, tc := range []struct{ w, h, size, wantW, wantH int }{
		{800, 600, 256, 256, 192},
		{600, 800, 256, 192, 256},
		{1000, 333, 100, 100, 33},
		{1000, 335, 100, 100, 34}, // rounded to the nearest
		{256, 256, 256, 256, 256},
		{100, 50, 256, 100, 50}, // never upscaled
		{257, 1, 256, 256, 1},
		{50_000_000, 1, 32, 32, 1}, // the short side is at least 1
		{1, 50_000_000, 1024, 1, 1024},
	} {
		if w, h := thumbBounds(tc.w, tc.h, tc.size); w != tc.wantW || h != tc.wantH {
			t.Errorf("thumbBounds(%d, %d, %d)=%d×%d, want %d×%d", tc.w, tc.h, tc.size, w, h, tc.wantW, tc.wantH)
		}
	}
}

func TestETagMatches(t *testing.T) {
	const etag = `"abc-256"`
	for header, want := range map[string]bool{
		`"abc-256"`: true, `W/"abc-256"`: true, `"x", "abc-256"`: true, ` "abc-256" ,"y"`: true, "*": true,
		"": false, `"abc-512"`: false, `abc-256`: false, `"abc-256`: false, `"x","y"`: false,
	} {
		if got := etagMatches(header, etag); got != want {
			t.Errorf("etagMatches(%q)=%v, want %v", header, got, want)
		}
	}
}

// TestThumbnailSlots: a thumbnail waits for a decode slot while the node's
// are taken, and stops waiting when its request ends.
func TestThumbnailSlots(t *testing.T) {
	blobs, err := disk.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	var src bytes.Buffer
	png.Encode(&src, image.NewGray(image.Rect(0, 0, 40, 20)))
	o := &mediagate.Object{ID: mediagate.NewID(mediagate.PrefixObject), Key: "th/src", ContentType: "image/png", State: mediagate.StateReady}
	if _, err := blobs.Put(t.Context(), o.Key, &src, -1); err != nil {
		t.Fatal(err)
	}
	h := newThumbnails(&objects{blobs: blobs})
	for range thumbDecodes {
		h.slots <- struct{}{}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := h.make(ctx, o, thumbFormats["image/png"], 32); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("make with every slot taken: %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("make waited %v after its context ended", d)
	}

	<-h.slots // one slot free
	th, err := h.make(t.Context(), o, thumbFormats["image/png"], 32)
	if err != nil || th.contentType != "image/jpeg" {
		t.Fatalf("make with a free slot: %v, %q; want a JPEG", err, th.contentType)
	}
	if n := len(h.slots); n != thumbDecodes-1 {
		t.Fatalf("%d slots taken after make, want %d: it gives its slot back", n, thumbDecodes-1)
	}
}

// countingBlobs counts the seeks in the blobs it opens: without one, each
// byte is read once.
type countingBlobs struct {
	mediagate.BlobStore
	seeks int
}

func (c *countingBlobs) Open(ctx context.Context, key string) (io.ReadSeekCloser, mediagate.BlobInfo, error) {
	rc, info, err := c.BlobStore.Open(ctx, key)
	if err != nil {
		return nil, info, err
	}
	return &countingReader{rc, c}, info, nil
}

type countingReader struct {
	io.ReadSeekCloser
	c *countingBlobs
}

func (r *countingReader) Seek(off int64, whence int) (int64, error) {
	r.c.seeks++
	return r.ReadSeekCloser.Seek(off, whence)
}

// TestThumbnailReadsOnce: the bytes read for a source's orientation and
// header are replayed to its decoder, so it is read once, without a seek
// (a second GET from S3), unless its header goes on past them.
func TestThumbnailReadsOnce(t *testing.T) {
	store, err := disk.Open(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	blobs := &countingBlobs{BlobStore: store}
	h := newThumbnails(&objects{blobs: blobs})

	// Noise, so the JPEG is several times thumbHeadBytes.
	noise := image.NewRGBA(image.Rect(0, 0, 600, 400))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.IntN(256))
	}
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, noise, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	src := enc.Bytes()
	exif := app1(tiff("MM", 0, orientationEntry(6)))
	pad := segment(0xE2, -1, make([]byte, 0xFFFF-2))
	for _, tc := range []struct {
		name  string
		data  []byte
		seeks int
	}{
		{"header in the head", append(append([]byte{0xFF, 0xD8}, exif...), src[2:]...), 0},
		{"header past the head", append(append(append([]byte{0xFF, 0xD8}, exif...), bytes.Repeat(pad, 3)...), src[2:]...), 1},
	} {
		if len(tc.data) < 3*thumbHeadBytes {
			t.Fatalf("%s: source of %d bytes, want more than 3×%d", tc.name, len(tc.data), thumbHeadBytes)
		}
		o := &mediagate.Object{ID: mediagate.NewID(mediagate.PrefixObject), Key: "th/" + mediagate.NewID("k_"), ContentType: "image/jpeg", State: mediagate.StateReady}
		if _, err := store.Put(t.Context(), o.Key, bytes.NewReader(tc.data), -1); err != nil {
			t.Fatal(err)
		}
		blobs.seeks = 0
		th, err := h.make(t.Context(), o, thumbFormats["image/jpeg"], 60)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		img, err := jpeg.Decode(bytes.NewReader(th.data))
		if err != nil {
			t.Fatal(err)
		}
		if b := img.Bounds(); b.Dx() != 40 || b.Dy() != 60 {
			t.Fatalf("%s: thumbnail is %v, want 40×60: turned", tc.name, b)
		}
		if blobs.seeks != tc.seeks {
			t.Errorf("%s: %d seeks, want %d", tc.name, blobs.seeks, tc.seeks)
		}
	}
}
