package api

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"mediagate"
)

// Thumbnail sizes, in pixels of the longer side.
const (
	thumbMinSize     = 32
	thumbMaxSize     = 1024
	thumbDefaultSize = 256
)

// Thumbnail limits and output.
const (
	// thumbMaxPixels bounds the sources decoded: a decoded image takes 1 to
	// 8 bytes a pixel (a 16-bit PNG with alpha: 400 MB at 50 megapixels).
	thumbMaxPixels = 50_000_000
	// thumbDecodes bounds the decodes under way on one node, so a page
	// asking for dozens of thumbnails at once waits rather than takes
	// gigabytes.
	thumbDecodes     = 2
	thumbJPEGQuality = 80
	thumbCache       = "private, max-age=86400" // objects never change; a day keeps a browser from asking again
	// thumbVersion ends the ETag, so a browser holding a thumbnail made
	// otherwise asks again: 2 turns JPEGs as their EXIF Orientation says.
	thumbVersion = "v2"
)

// thumbMaxBytes bounds the sources read, in bytes. A variable for tests.
var thumbMaxBytes int64 = 64 << 20

// thumbnails makes downscaled copies of ready image objects.
type thumbnails struct {
	objects *objects
	// slots holds a token for each decode under way on this node.
	slots chan struct{}
}

func newThumbnails(obj *objects) *thumbnails {
	return &thumbnails{objects: obj, slots: make(chan struct{}, thumbDecodes)}
}

// thumbFormat reads one type of source: its header, all of it, and how it
// is to be shown.
type thumbFormat struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error) // a GIF's first frame
	// orientation is the EXIF Orientation (1 to 8) of a source that begins
	// with its first thumbHeadBytes; nil for a type always shown as stored.
	orientation func(head []byte) int
}

// thumbFormats are the types thumbnails are made of, by content type.
var thumbFormats = map[string]thumbFormat{
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode, exifOrientation},
	"image/png":  {png.DecodeConfig, png.Decode, nil},
	"image/gif":  {gif.DecodeConfig, gif.Decode, nil},
	"image/webp": {webp.DecodeConfig, webp.Decode, nil},
}

// thumbHeadBytes is how much of a source is read first: all exifOrientation
// needs, and nearly every header. The decoders are given these bytes again
// from memory, not from the store.
const thumbHeadBytes = exifHeadBytes

// thumbnail is a thumbnail encoded.
type thumbnail struct {
	data        []byte
	contentType string // image/jpeg for an opaque source, image/png for one with transparency
}

// handleThumbnail answers a copy of a ready JPEG, PNG, GIF (its first
// frame) or WebP object whose longer side is ?size= pixels (32 to 1024,
// default 256), never upscaled: a smaller source comes back at its own size.
// A JPEG is turned and mirrored as its EXIF Orientation says, after scaling,
// so a photo taken with the phone on its side comes back upright. It is a
// JPEG if the source is opaque, else a PNG.
//
// Its encoded bytes are charged at the download price once they are made
// and before they are sent (X-Mg-Charged says how much); short credit is 402
// and no body. Objects never change, so the ETag is the object's SHA-256,
// the size and thumbVersion, and a matching If-None-Match is 304, neither
// made nor charged. A HEAD answers the validators only, and is not charged
// either.
//
// Another type is 415; a source over 64 MiB, or whose header says it is
// over 50 megapixels, is 413 before it is decoded; an object not ready 409.
func handleThumbnail(h *thumbnails) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, err := thumbSize(r.URL.Query().Get("size"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		o, ok := h.objects.object(w, r)
		if !ok {
			return
		}
		f, err := thumbSource(o)
		if err != nil {
			writeError(w, r, err)
			return
		}
		etag := `"` + o.SHA256 + "-" + strconv.Itoa(size) + "-" + thumbVersion + `"`
		validators := func() {
			w.Header().Set("ETag", etag)
			w.Header().Set("Cache-Control", thumbCache)
		}
		if etagMatches(strings.Join(r.Header.Values("If-None-Match"), ","), etag) {
			validators()
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			validators()
			w.WriteHeader(http.StatusOK)
			return
		}
		t, err := h.make(r.Context(), o, f, size)
		if err != nil {
			if r.Context().Err() != nil {
				return // the client is gone: no one to answer
			}
			writeError(w, r, err)
			return
		}
		cost := mediagate.Cost(int64(len(t.data)), h.objects.cfg.Prices.DownloadPerMiB, mediagate.MiB)
		if _, err := h.objects.ledger.Charge(r.Context(), o.AccountID, cost, "thumbnail", mediagate.NewID("thumb_")); err != nil {
			writeError(w, r, err)
			return
		}
		validators()
		hd := w.Header()
		hd.Set("Content-Type", t.contentType)
		hd.Set("Content-Length", strconv.Itoa(len(t.data)))
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Mg-Charged", strconv.FormatInt(cost, 10))
		w.WriteHeader(http.StatusOK)
		w.Write(t.data)
	})
}

// thumbSize reads ?size=: 32 to 1024, default 256.
func thumbSize(v string) (int, error) {
	if v == "" {
		return thumbDefaultSize, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < thumbMinSize || n > thumbMaxSize {
		return 0, mediagate.Errorf(mediagate.EINVALID, "size must be %d to %d pixels", thumbMinSize, thumbMaxSize)
	}
	return n, nil
}

// thumbSource returns the format of o's bytes: ECONFLICT unless o is ready,
// EUNSUPPORTED unless it is a type thumbnails are made of, ETOOLARGE if it
// is over thumbMaxBytes.
func thumbSource(o *mediagate.Object) (thumbFormat, error) {
	if o.State != mediagate.StateReady {
		return thumbFormat{}, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s; thumbnails are made of ready objects", o.ID, o.State)
	}
	ct := mediaType(o.ContentType)
	f, ok := thumbFormats[ct]
	if !ok {
		return thumbFormat{}, mediagate.Errorf(mediagate.EUNSUPPORTED,
			"thumbnails are made of image/jpeg, image/png, image/gif and image/webp objects; object %s is %s", o.ID, ct)
	}
	if o.Size > thumbMaxBytes {
		return thumbFormat{}, mediagate.Errorf(mediagate.ETOOLARGE,
			"object %s has %d bytes; thumbnails are made of images of at most %d", o.ID, o.Size, thumbMaxBytes)
	}
	return f, nil
}

// make reads o's header, refuses a source over thumbMaxPixels, then decodes
// it in one of the node's slots (waiting for one until ctx ends), scales it,
// turns it as its orientation says and encodes the result.
//
// The source's first thumbHeadBytes are read once, for its orientation and
// header, and replayed to the decoder; only a header that goes on past them
// (a JPEG with large APP segments first) has the source read again from its
// start.
func (h *thumbnails) make(ctx context.Context, o *mediagate.Object, f thumbFormat, size int) (thumbnail, error) {
	rc, _, err := h.objects.blobs.Open(ctx, o.Key)
	if err != nil {
		return thumbnail{}, fmt.Errorf("thumbnail of %s: open its bytes: %w", o.ID, err)
	}
	defer rc.Close()
	src := &errReader{r: rc}
	rest := io.LimitReader(src, thumbMaxBytes)
	head, _ := io.ReadAll(io.LimitReader(rest, thumbHeadBytes))
	if src.err != nil {
		return thumbnail{}, fmt.Errorf("thumbnail of %s: read its bytes: %w", o.ID, src.err)
	}
	orientation := 1
	if f.orientation != nil {
		orientation = f.orientation(head)
	}
	replay := func() io.Reader { return bufio.NewReader(io.MultiReader(bytes.NewReader(head), rest)) }
	cfg, err := f.config(replay())
	if err != nil {
		return thumbnail{}, undecodable(o, src, err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > thumbMaxPixels {
		return thumbnail{}, mediagate.Errorf(mediagate.ETOOLARGE, "image %s is %d×%d pixels (%.1f megapixels); thumbnails are made of images of at most %d megapixels",
			o.ID, cfg.Width, cfg.Height, float64(px)/1e6, thumbMaxPixels/1_000_000)
	}
	read := replay
	if src.n > int64(len(head)) { // the header went on past head: read from the start again
		if _, err := rc.Seek(0, io.SeekStart); err != nil {
			return thumbnail{}, fmt.Errorf("thumbnail of %s: rewind its bytes: %w", o.ID, err)
		}
		read = func() io.Reader { return bufio.NewReader(io.LimitReader(src, thumbMaxBytes)) }
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return thumbnail{}, ctx.Err()
	}
	// The slot is held until the source is scaled and can be collected.
	dst, opaque, err := func() (*image.RGBA, bool, error) {
		defer func() { <-h.slots }()
		img, err := f.decode(read())
		if err != nil {
			return nil, false, undecodable(o, src, err)
		}
		return scale(img, size), isOpaque(img), nil
	}()
	if err != nil {
		return thumbnail{}, err
	}
	// Turned after scaling, the cheaper way round: the longer side is size
	// either way, and scale never upscales.
	t, err := encodeThumbnail(orient(dst, orientation), opaque)
	if err != nil {
		return thumbnail{}, fmt.Errorf("thumbnail of %s: %w", o.ID, err)
	}
	return t, nil
}

// encodeThumbnail encodes img as a JPEG if its source was opaque, else as
// a PNG, which keeps its transparency.
func encodeThumbnail(img image.Image, opaque bool) (thumbnail, error) {
	var buf bytes.Buffer
	if opaque {
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: thumbJPEGQuality}); err != nil {
			return thumbnail{}, fmt.Errorf("encode JPEG: %w", err)
		}
		return thumbnail{buf.Bytes(), "image/jpeg"}, nil
	}
	if err := png.Encode(&buf, img); err != nil {
		return thumbnail{}, fmt.Errorf("encode PNG: %w", err)
	}
	return thumbnail{buf.Bytes(), "image/png"}, nil
}

// scale returns img with its longer side at most size pixels (never
// larger), its aspect ratio kept.
//
// draw.ApproxBiLinear samples four source pixels per pixel made, so its cost
// is the thumbnail's size whatever the source's (~1 ms for 256×192 of 12
// megapixels); the kernel scalers weigh every source pixel (BiLinear ~160
// ms, CatmullRom ~320 ms there, as long again as the JPEG's decode) in the
// node's few decode slots. Its price is some aliasing of fine detail at
// large reductions, which a file browser's previews can bear.
func scale(img image.Image, size int) *image.RGBA {
	b := img.Bounds()
	w, h := thumbBounds(b.Dx(), b.Dy(), size)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if w == b.Dx() && h == b.Dy() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
		return dst
	}
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}

// thumbBounds is the size of the thumbnail of a w×h image: its longer side
// size, the other in proportion (rounded, at least 1), or w×h itself if no
// side is longer than size.
func thumbBounds(w, h, size int) (int, int) {
	if w <= size && h <= size {
		return w, h
	}
	prop := func(short, long int) int { return max(1, int((int64(short)*int64(size)+int64(long)/2)/int64(long))) }
	if w >= h {
		return size, prop(h, w)
	}
	return prop(w, h), size
}

// isOpaque reports whether every pixel of img is fully opaque. The images
// of the standard decoders say so themselves (a JPEG at once, others by a
// look at each pixel); any other is taken to have transparency.
func isOpaque(img image.Image) bool {
	o, ok := img.(interface{ Opaque() bool })
	return ok && o.Opaque()
}

// undecodable is the error of bytes of o that did not decode: the store's
// error if reading them failed, else EUNSUPPORTED with the decoder's.
func undecodable(o *mediagate.Object, src *errReader, err error) error {
	if src.err != nil {
		return fmt.Errorf("thumbnail of %s: read its bytes: %w", o.ID, src.err)
	}
	return mediagate.Errorf(mediagate.EUNSUPPORTED, "the bytes of object %s do not decode as %s: %v", o.ID, mediaType(o.ContentType), err)
}

// errReader remembers the first error of r other than io.EOF, so a failed
// read is told from bytes that do not decode, and counts the bytes read.
type errReader struct {
	r   io.Reader
	err error
	n   int64
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// etagMatches reports whether an If-None-Match value lists etag, or is "*",
// by the weak comparison RFC 9110 §13.1.2 asks of If-None-Match.
func etagMatches(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
