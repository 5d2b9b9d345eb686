package api_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"strconv"
	"strings"
	"testing"

	"mediagate"
	"mediagate/api"
	"mediagate/internal/apitest"
)

// thumbServer is a server where uploads are free, downloads cost the
// default per MiB, new accounts start with nothing, and SVG may be stored.
func thumbServer(t *testing.T) *server {
	return newServer(t, func(c *api.Config) {
		c.Prices.UploadPerMiB, c.SignupCredit = 0, 0
		c.AllowedTypes = append(api.DefaultAllowedTypes, "image/svg+xml")
	})
}

// picture draws a w×h image with a gradient, so every encoder has work to
// do; alpha is the alpha of its left half (the right half is opaque).
func picture(w, h int, alpha uint8) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if x < w/2 {
				a = alpha
			}
			img.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: uint8(x + y), A: a})
		}
	}
	return img
}

func pngOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegOf(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is the start of a PNG whose header claims w×h pixels, with a
// valid CRC, and no pixels after it.
func pngHeader(w, h uint32) []byte {
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	b := []byte("\x89PNG\r\n\x1a\n")
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, ihdr...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(ihdr))
	return append(b, bytes.Repeat([]byte{0}, 1000)...)
}

// thumb asks for the thumbnail of id; size "" leaves ?size= out.
func (s *server) thumb(t *testing.T, token, id, size string, headers ...string) response {
	t.Helper()
	path := "/v1/objects/" + id + "/thumbnail"
	if size != "" {
		path += "?size=" + size
	}
	return s.do(t, "GET", path, token, nil, headers...)
}

// decodeThumb checks a 200 thumbnail's type and answers its image.
func decodeThumb(t *testing.T, r response, contentType string) image.Image {
	t.Helper()
	r.status(t, 200)
	if ct := r.Header.Get("Content-Type"); ct != contentType {
		t.Fatalf("Content-Type=%q, want %s", ct, contentType)
	}
	img, format, err := image.Decode(bytes.NewReader(r.body))
	if err != nil || "image/"+format != contentType {
		t.Fatalf("body decodes as %q (%v), want %s", format, err, contentType)
	}
	return img
}

// charged is the X-Mg-Charged of a 200.
func charged(t *testing.T, r response) int64 {
	t.Helper()
	n, err := strconv.ParseInt(r.Header.Get("X-Mg-Charged"), 10, 64)
	if err != nil {
		t.Fatalf("X-Mg-Charged=%q: %v", r.Header.Get("X-Mg-Charged"), err)
	}
	return n
}

func TestThumbnailSizes(t *testing.T) {
	s := thumbServer(t)
	tok, _ := s.funded(t, "a@example.com", 1_000_000)
	webpOpaque, err := os.ReadFile("testdata/thumbnail/blue-purple-pink.lossy.webp") // from golang.org/x/image
	if err != nil {
		t.Fatal(err)
	}
	webpAlpha, err := os.ReadFile("testdata/thumbnail/gopher-doc.with-alpha.lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	// An animation: a white frame, then a black one.
	var gifData bytes.Buffer
	white := image.NewPaletted(image.Rect(0, 0, 600, 300), []color.Color{color.Black, color.White})
	for i := range white.Pix {
		white.Pix[i] = 1
	}
	black := image.NewPaletted(white.Rect, white.Palette)
	if err := gif.EncodeAll(&gifData, &gif.GIF{Image: []*image.Paletted{white, black}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, contentType string
		data              []byte
		size              string
		want              string // Content-Type of the thumbnail
		w, h              int
		alpha             uint8 // at (0, 0)
	}{
		{"landscape JPEG", "image/jpeg", jpegOf(t, picture(800, 600, 255)), "256", "image/jpeg", 256, 192, 255},
		{"default size", "image/jpeg", jpegOf(t, picture(800, 600, 255)), "", "image/jpeg", 256, 192, 255},
		{"smallest size", "image/jpeg", jpegOf(t, picture(800, 600, 255)), "32", "image/jpeg", 32, 24, 255},
		{"portrait opaque PNG", "image/png", pngOf(t, picture(300, 600, 255)), "128", "image/jpeg", 64, 128, 255},
		{"rounded side", "image/png", pngOf(t, picture(1000, 333, 255)), "100", "image/jpeg", 100, 33, 255},
		{"transparent PNG", "image/png", pngOf(t, picture(400, 200, 0)), "256", "image/png", 256, 128, 0},
		{"half-transparent PNG", "image/png", pngOf(t, picture(400, 200, 128)), "200", "image/png", 200, 100, 128},
		{"no upscaling", "image/png", pngOf(t, picture(50, 40, 255)), "256", "image/jpeg", 50, 40, 255},
		{"no upscaling, transparent", "image/png", pngOf(t, picture(50, 40, 0)), "1024", "image/png", 50, 40, 0},
		{"exact size", "image/png", pngOf(t, picture(64, 32, 255)), "64", "image/jpeg", 64, 32, 255},
		{"GIF's first frame", "image/gif", gifData.Bytes(), "300", "image/jpeg", 300, 150, 255},
		{"WebP", "image/webp", webpOpaque, "75", "image/jpeg", 75, 50, 255},
		{"WebP with alpha", "image/webp", webpAlpha, "50", "image/png", 38, 50, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := s.upload(t, tok, "src", tc.contentType, tc.data)
			img := decodeThumb(t, s.thumb(t, tok, o.ID, tc.size), tc.want)
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("thumbnail is %d×%d, want %d×%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			if _, _, _, a := img.At(0, 0).RGBA(); uint8(a>>8) != tc.alpha {
				t.Fatalf("alpha at (0,0)=%d, want %d", a>>8, tc.alpha)
			}
			if r, _, _, _ := img.At(tc.w/2, tc.h/2).RGBA(); tc.contentType == "image/gif" && r>>8 < 250 {
				t.Fatalf("red at the centre=%d, want white: the first frame", r>>8)
			}
		})
	}
}

func TestThumbnailCharge(t *testing.T) {
	s := thumbServer(t)
	tok, acct := s.funded(t, "a@example.com", 100_000)
	src := jpegOf(t, picture(1200, 900, 255))
	o := s.upload(t, tok, "photo.jpg", "image/jpeg", src)
	s.balance(t, acct, 100_000, 0)

	r := s.thumb(t, tok, o.ID, "512")
	decodeThumb(t, r, "image/jpeg")
	cost := charged(t, r)
	if want := mediagate.Cost(int64(len(r.body)), s.cfg.Prices.DownloadPerMiB, mediagate.MiB); cost != want || cost == 0 {
		t.Fatalf("X-Mg-Charged=%d, want %d for %d bytes", cost, want, len(r.body))
	}
	s.balance(t, acct, 100_000-cost, 0)
	var led struct {
		Entries []struct {
			Kind, Operation, Reference string
			Amount                     int64
		}
	}
	s.do(t, "GET", "/v1/ledger?limit=1", tok, nil).status(t, 200).json(t, &led)
	if e := led.Entries[0]; e.Kind != "settle" || e.Operation != "thumbnail" || e.Amount != cost || !strings.HasPrefix(e.Reference, "thumb_") {
		t.Fatalf("last ledger entry %+v, want a thumbnail settle of %d", e, cost)
	}

	// Cached: the ETag names the object's bytes, the size and the version
	// of the thumbnails (v2 turns JPEGs upright); a match is 304, with no
	// body and no charge.
	etag := r.Header.Get("ETag")
	if etag != `"`+o.SHA256+`-512-v2"` || r.Header.Get("Cache-Control") != "private, max-age=86400" {
		t.Fatalf("ETag=%q Cache-Control=%q, want the object's SHA-256, the size and v2, private for a day", etag, r.Header.Get("Cache-Control"))
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		r := s.thumb(t, tok, o.ID, "512", "If-None-Match", inm).status(t, 304)
		if len(r.body) != 0 || r.Header.Get("ETag") != etag {
			t.Fatalf("304 for %q: body %d bytes, ETag %q", inm, len(r.body), r.Header.Get("ETag"))
		}
	}
	s.balance(t, acct, 100_000-cost, 0)
	// Another size is another thumbnail, made and charged again.
	r = s.thumb(t, tok, o.ID, "256", "If-None-Match", etag)
	decodeThumb(t, r, "image/jpeg")
	cost2 := charged(t, r)
	s.balance(t, acct, 100_000-cost-cost2, 0)
	// HEAD tells the validators, free.
	if r := s.do(t, "HEAD", "/v1/objects/"+o.ID+"/thumbnail", tok, nil).status(t, 200); r.Header.Get("ETag") != `"`+o.SHA256+`-256-v2"` {
		t.Fatalf("HEAD ETag=%q", r.Header.Get("ETag"))
	}
	s.balance(t, acct, 100_000-cost-cost2, 0)
	// One cached before v2, perhaps sideways, is made (the same bytes) and
	// charged again.
	r = s.thumb(t, tok, o.ID, "512", "If-None-Match", `"`+o.SHA256+`-512"`)
	decodeThumb(t, r, "image/jpeg")
	s.balance(t, acct, 100_000-2*cost-cost2, 0)

	// Short credit: 402 with the figures, no image, nothing charged.
	poor, poorAcct := s.funded(t, "b@example.com", cost-1)
	p := s.upload(t, poor, "photo.jpg", "image/jpeg", src)
	r = s.thumb(t, poor, p.ID, "512")
	pr := r.problem(t, 402, mediagate.EPAYMENT)
	if pr["needed"] != float64(cost) || pr["available"] != float64(cost-1) {
		t.Fatalf("402 says needed=%v available=%v, want %d and %d", pr["needed"], pr["available"], cost, cost-1)
	}
	if r.Header.Get("ETag") != "" || r.Header.Get("Cache-Control") == "private, max-age=86400" {
		t.Fatalf("402 carries the thumbnail's validators: ETag %q, Cache-Control %q", r.Header.Get("ETag"), r.Header.Get("Cache-Control"))
	}
	s.balance(t, poorAcct, cost-1, 0)
}

func TestThumbnailRefusals(t *testing.T) {
	s := thumbServer(t)
	tok, acct := s.funded(t, "a@example.com", 100_000)
	img := s.upload(t, tok, "a.png", "image/png", pngOf(t, picture(100, 100, 255)))

	for _, size := range []string{"0", "31", "1025", "-5", "x", "256.0", "1e3"} {
		p := s.thumb(t, tok, img.ID, size).problem(t, 400, mediagate.EINVALID)
		if !strings.Contains(p["detail"].(string), "32 to 1024") {
			t.Fatalf("size %q: detail %q, want the range", size, p["detail"])
		}
	}

	txt := s.upload(t, tok, "a.txt", "text/plain", txtBytes)
	svg := s.upload(t, tok, "a.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>`))
	for _, o := range []object{txt, svg} {
		p := s.thumb(t, tok, o.ID, "").problem(t, 415, mediagate.EUNSUPPORTED)
		if !strings.Contains(p["detail"].(string), o.ContentType) {
			t.Fatalf("detail %q does not name %s", p["detail"], o.ContentType)
		}
	}
	corrupt := s.upload(t, tok, "bad.png", "image/png", pngBytes) // a header and no image
	s.thumb(t, tok, corrupt.ID, "").problem(t, 415, mediagate.EUNSUPPORTED)

	pending := s.createUpload(t, tok, "p.png", "image/png", pngOf(t, picture(10, 10, 255)))
	s.thumb(t, tok, pending.Object.ID, "").problem(t, 409, mediagate.ECONFLICT)

	other := s.signup(t, "b@example.com")
	s.thumb(t, other, img.ID, "").problem(t, 404, mediagate.ENOTFOUND)
	s.thumb(t, tok, mediagate.NewID(mediagate.PrefixObject), "").problem(t, 404, mediagate.ENOTFOUND)
	s.thumb(t, tok, "nope", "").problem(t, 404, mediagate.ENOTFOUND)
	s.thumb(t, "", img.ID, "").problem(t, 401, mediagate.EUNAUTHORIZED)
	s.thumb(t, s.key(t, tok, "objects:write"), img.ID, "").problem(t, 403, mediagate.EFORBIDDEN)

	// A header claiming 100,000 × 100,000 pixels: refused from the header.
	// Decoding it would ask for 40 GB.
	huge := s.upload(t, tok, "huge.png", "image/png", pngHeader(100_000, 100_000))
	p := s.thumb(t, tok, huge.ID, "").problem(t, 413, mediagate.ETOOLARGE)
	if d := p["detail"].(string); !strings.Contains(d, "10000.0 megapixels") || !strings.Contains(d, "at most 50") {
		t.Fatalf("detail %q, want the image's and the limit's megapixels", d)
	}
	// Just over 50 megapixels is too many, too.
	s.thumb(t, tok, s.upload(t, tok, "wide.png", "image/png", pngHeader(50_000_001, 1)).ID, "").problem(t, 413, mediagate.ETOOLARGE)

	// A source over the byte limit is refused from its size.
	api.SetThumbnailMaxBytes(t, int64(len(pngBytes))-1)
	p = s.thumb(t, tok, corrupt.ID, "").problem(t, 413, mediagate.ETOOLARGE)
	if !strings.Contains(p["detail"].(string), strconv.Itoa(len(pngBytes))+" bytes") {
		t.Fatalf("detail %q, want the object's size", p["detail"])
	}

	// None of it was charged.
	s.balance(t, acct, 100_000, 0)
}

// TestThumbnailTiny: apitest.PNG's 2×2 images, transparent but for one
// pixel, come back as they are, as PNGs.
func TestThumbnailTiny(t *testing.T) {
	s := thumbServer(t)
	tok, _ := s.funded(t, "a@example.com", 100_000)
	o := s.upload(t, tok, "tiny.png", "image/png", apitest.PNG(7))
	if b := decodeThumb(t, s.thumb(t, tok, o.ID, ""), "image/png").Bounds(); b.Dx() != 2 || b.Dy() != 2 {
		t.Fatalf("thumbnail of a 2×2 PNG is %v, want 2×2", b)
	}
}

// quadrants is a w×h image whose top left quarter is red, top right green,
// bottom left blue and bottom right white.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := [2][2]color.RGBA{
				{{255, 0, 0, 255}, {0, 255, 0, 255}},
				{{0, 0, 255, 255}, {255, 255, 255, 255}},
			}[2*y/h][2*x/w]
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// withOrientation is src, a JPEG, with an Exif APP1 after its SOI whose
// IFD0 (little-endian) says Orientation o, after a Make, then pad: APP2
// segments of 64 KiB each.
func withOrientation(t *testing.T, src []byte, o uint16, pad int) []byte {
	t.Helper()
	if !bytes.HasPrefix(src, []byte{0xFF, 0xD8}) {
		t.Fatal("not a JPEG")
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, 2)                    // entries
	tiff = append(tiff, 0x0F, 0x01, 2, 0, 4, 0, 0, 0, 'A', 'c', 'm', 0) // Make "Acm", inline ASCII
	tiff = append(tiff, 0x12, 0x01, 3, 0, 1, 0, 0, 0, byte(o), byte(o>>8), 0, 0)
	tiff = append(tiff, 0, 0, 0, 0) // no IFD1
	app1 := append([]byte("Exif\x00\x00"), tiff...)
	b := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(app1)))
	b = append(b, app1...)
	for range pad {
		b = append(b, 0xFF, 0xE2, 0xFF, 0xFF)
		b = append(b, make([]byte, 0xFFFF-2)...)
	}
	return append(b, src[2:]...)
}

// TestThumbnailOrientation: a JPEG comes back turned as its EXIF
// Orientation says, its sides swapped for 5 to 8, the longer still the size
// asked for and never upscaled.
func TestThumbnailOrientation(t *testing.T) {
	s := thumbServer(t)
	tok, _ := s.funded(t, "a@example.com", 1_000_000)
	var (
		red   = color.RGBA{255, 0, 0, 255}
		green = color.RGBA{0, 255, 0, 255}
		blue  = color.RGBA{0, 0, 255, 255}
		white = color.RGBA{255, 255, 255, 255}
	)
	landscape := jpegOf(t, quadrants(400, 200))
	for _, tc := range []struct {
		name    string
		data    []byte
		size    string
		w, h    int
		corners [4]color.RGBA // top left, top right, bottom left, bottom right
	}{
		{"no EXIF", landscape, "100", 100, 50, [4]color.RGBA{red, green, blue, white}},
		{"1", withOrientation(t, landscape, 1, 0), "100", 100, 50, [4]color.RGBA{red, green, blue, white}},
		{"3: turned 180°", withOrientation(t, landscape, 3, 0), "100", 100, 50, [4]color.RGBA{white, blue, green, red}},
		{"6: turned clockwise", withOrientation(t, landscape, 6, 0), "100", 50, 100, [4]color.RGBA{blue, red, white, green}},
		{"8: turned anticlockwise", withOrientation(t, landscape, 8, 0), "100", 50, 100, [4]color.RGBA{green, white, red, blue}},
		{"2: mirrored", withOrientation(t, landscape, 2, 0), "100", 100, 50, [4]color.RGBA{green, red, white, blue}},
		{"6, stored portrait", withOrientation(t, jpegOf(t, quadrants(200, 400)), 6, 0), "100", 100, 50, [4]color.RGBA{blue, red, white, green}},
		{"6, not upscaled", withOrientation(t, jpegOf(t, quadrants(40, 20)), 6, 0), "256", 20, 40, [4]color.RGBA{blue, red, white, green}},
		// The header ends past the first 128 KiB, which are read for
		// the orientation: the source is read again from its start.
		{"6 before 192 KiB of APP2", withOrientation(t, landscape, 6, 3), "100", 50, 100, [4]color.RGBA{blue, red, white, green}},
		{"9: not an orientation", withOrientation(t, landscape, 9, 0), "100", 100, 50, [4]color.RGBA{red, green, blue, white}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := s.upload(t, tok, "photo.jpg", "image/jpeg", tc.data)
			img := decodeThumb(t, s.thumb(t, tok, o.ID, tc.size), "image/jpeg")
			b := img.Bounds()
			if b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("thumbnail is %d×%d, want %d×%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			const in = 2 // pixels in from each side, clear of the JPEG's ringing at the edges
			for i, p := range []image.Point{{in, in}, {b.Dx() - 1 - in, in}, {in, b.Dy() - 1 - in}, {b.Dx() - 1 - in, b.Dy() - 1 - in}} {
				r, g, bl, _ := img.At(b.Min.X+p.X, b.Min.Y+p.Y).RGBA()
				got := color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), 255}
				if want := tc.corners[i]; !near(got, want) {
					t.Errorf("pixel at %v is %v, want %v", p, got, want)
				}
			}
		})
	}
}

// near reports whether a and b are the same colour but for a JPEG's loss.
func near(a, b color.RGBA) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) < 48 && int(y)-int(x) < 48 }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}
