package api

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// ifdEntry is one 12-byte IFD entry; a SHORT value sits in the first two
// bytes of its value field, whatever the byte order.
type ifdEntry struct {
	tag, typ uint16
	count    uint32
	value    uint16
}

// orientationEntry is a well-formed Orientation of v.
func orientationEntry(v uint16) ifdEntry { return ifdEntry{0x0112, 3, 1, v} }

// tiff is a TIFF structure in byte order bo ("II" or "MM") whose IFD0, at
// offset 8, holds entries and then a next-IFD offset of next.
func tiff(bo string, next uint32, entries ...ifdEntry) []byte {
	var order binary.AppendByteOrder = binary.BigEndian
	if bo == "II" {
		order = binary.LittleEndian
	}
	b := []byte(bo)
	b = order.AppendUint16(b, 42)
	b = order.AppendUint32(b, 8)
	b = order.AppendUint16(b, uint16(len(entries)))
	for _, e := range entries {
		b = order.AppendUint16(b, e.tag)
		b = order.AppendUint16(b, e.typ)
		b = order.AppendUint32(b, e.count)
		b = order.AppendUint16(b, e.value)
		b = append(b, 0, 0)
	}
	return order.AppendUint32(b, next)
}

// segment is a JPEG marker segment: 0xFF, marker, a length counting
// itself, data. A length of -1 is that of data.
func segment(marker byte, length int, data []byte) []byte {
	if length < 0 {
		length = len(data) + 2
	}
	return append([]byte{0xFF, marker, byte(length >> 8), byte(length)}, data...)
}

// app1 is an Exif APP1 segment holding t.
func app1(t []byte) []byte { return segment(0xE1, -1, append([]byte("Exif\x00\x00"), t...)) }

// jpegStart is an SOI, parts, and the start of a frame and a scan, as a
// JPEG's first bytes are.
func jpegStart(parts ...[]byte) []byte {
	b := []byte{0xFF, 0xD8}
	for _, p := range parts {
		b = append(b, p...)
	}
	b = append(b, segment(0xDB, -1, make([]byte, 65))...) // DQT
	b = append(b, segment(0xC0, -1, []byte{8, 0, 16, 0, 16, 1, 1, 0x11, 0})...)
	return append(b, segment(0xDA, -1, []byte{1, 1, 0, 0, 63, 0})...)
}

func TestEXIFOrientation(t *testing.T) {
	jfif := segment(0xE0, -1, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	xmp := segment(0xE1, -1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))
	maker := ifdEntry{0x010F, 2, 6, 0} // Make, ASCII at an offset
	six := tiff("MM", 0, orientationEntry(6))

	type tc struct {
		name string
		b    []byte
		want int
	}
	var cases []tc
	for _, bo := range []string{"II", "MM"} {
		for v := range uint16(8) {
			v++
			cases = append(cases, tc{fmt.Sprintf("%s %d", bo, v), jpegStart(app1(tiff(bo, 0, orientationEntry(v)))), int(v)})
		}
		cases = append(cases,
			tc{bo + " after other tags", jpegStart(app1(tiff(bo, 0, maker, ifdEntry{0x0110, 2, 40, 0}, orientationEntry(8), ifdEntry{0x011A, 5, 1, 0}))), 8},
			tc{bo + " no Orientation", jpegStart(app1(tiff(bo, 0, maker))), 1},
			tc{bo + " no entries", jpegStart(app1(tiff(bo, 0))), 1},
			tc{bo + " 0", jpegStart(app1(tiff(bo, 0, orientationEntry(0)))), 1},
			tc{bo + " 9", jpegStart(app1(tiff(bo, 0, orientationEntry(9)))), 1},
			tc{bo + " 0xFFFF", jpegStart(app1(tiff(bo, 0, orientationEntry(0xFFFF)))), 1},
			tc{bo + " as a LONG", jpegStart(app1(tiff(bo, 0, ifdEntry{0x0112, 4, 1, 6}))), 1},
			tc{bo + " two SHORTs", jpegStart(app1(tiff(bo, 0, ifdEntry{0x0112, 3, 2, 6}))), 1},
			tc{bo + " no SHORTs", jpegStart(app1(tiff(bo, 0, ifdEntry{0x0112, 3, 0, 6}))), 1},
			tc{bo + " a huge count of SHORTs", jpegStart(app1(tiff(bo, 0, ifdEntry{0x0112, 3, 0xFFFFFFFF, 6}))), 1},
			// The first Orientation counts.
			tc{bo + " twice", jpegStart(app1(tiff(bo, 0, orientationEntry(3), orientationEntry(6)))), 3},
		)
	}
	withIFD := func(t []byte, off uint32) []byte {
		t = bytes.Clone(t)
		binary.BigEndian.PutUint32(t[4:], off)
		return t
	}
	withCount := func(t []byte, n uint16) []byte {
		t = bytes.Clone(t)
		binary.BigEndian.PutUint16(t[8:], n)
		return t
	}
	plain := encodedJPEG(t, 16, 8)
	cases = append(cases, []tc{
		// Where the segment is.
		{"after JFIF", jpegStart(jfif, app1(six)), 6},
		{"after XMP", jpegStart(xmp, app1(six)), 6},
		{"after empty segments", jpegStart(segment(0xE2, 2, nil), segment(0xEF, 2, nil), app1(six)), 6},
		{"fill bytes before its marker", jpegStart(append([]byte{0xFF, 0xFF}, app1(six)...)), 6},
		{"after RST and TEM", jpegStart([]byte{0xFF, 0xD0, 0xFF, 0x01}, app1(six)), 6},
		{"the first of two", jpegStart(app1(tiff("MM", 0, orientationEntry(3))), app1(six)), 3},
		{"after the scan", append(jpegStart(), app1(six)...), 1},
		{"after EOI", append([]byte{0xFF, 0xD8, 0xFF, 0xD9}, app1(six)...), 1},
		{"no SOI", app1(six), 1},
		{"not a marker", jpegStart([]byte{0x00}, app1(six)), 1},

		// No EXIF.
		{"nothing", nil, 1},
		{"SOI only", []byte{0xFF, 0xD8}, 1},
		{"image/jpeg's", plain, 1},
		{"JFIF only", jpegStart(jfif), 1},
		{"XMP only", jpegStart(xmp), 1},
		{"a PNG", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), 1},
		{"Exif in APP2", jpegStart(segment(0xE2, -1, append([]byte("Exif\x00\x00"), six...))), 1},
		{"Exif without its padding", jpegStart(segment(0xE1, -1, append([]byte("Exif"), six...))), 1},

		// Malformed TIFF.
		{"empty TIFF", jpegStart(app1(nil)), 1},
		{"short TIFF", jpegStart(app1(six[:7])), 1},
		{"byte order IM", jpegStart(app1(append([]byte("IM"), six[2:]...))), 1},
		{"magic 43", jpegStart(app1(append([]byte("MM\x00\x2b"), six[4:]...))), 1},
		{"IFD0 past the end", jpegStart(app1(withIFD(six, 0xFFFFFFFF))), 1},
		{"IFD0 at the end", jpegStart(app1(withIFD(six, uint32(len(six))))), 1},
		{"IFD0 count's last byte missing", jpegStart(app1(withIFD(six, uint32(len(six)-1)))), 1},
		{"IFD0 on the header", jpegStart(app1(withIFD(six, 0))), 1},
		{"IFD0 on itself, by its next", jpegStart(app1(tiff("MM", 8, maker))), 1},
		{"more entries than there are", jpegStart(app1(withCount(six, 0xFFFF))), 6},
		{"more entries, none Orientation", jpegStart(app1(withCount(tiff("MM", 0, maker), 0xFFFF))), 1},

		// Malformed segments.
		{"length 0", jpegStart(segment(0xE0, 0, nil), app1(six)), 1},
		{"length 1", jpegStart(segment(0xE0, 1, nil), app1(six)), 1},
		{"length past the end", jpegStart(segment(0xE0, 0xFFFF, nil), app1(six)), 1},
		{"length's second byte missing", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00}, 1},
		{"marker code missing", []byte{0xFF, 0xD8, 0xFF, 0xFF}, 1},
		// A segment longer than the bytes there is read as far as they go:
		// the head of a longer file ends in the middle of its APP1.
		{"APP1 cut after IFD0", append([]byte{0xFF, 0xD8}, segment(0xE1, 0xFFFF, append([]byte("Exif\x00\x00"), six...))...), 6},
		{"APP1 cut in Orientation", append([]byte{0xFF, 0xD8}, segment(0xE1, 0xFFFF, append([]byte("Exif\x00\x00"), six[:len(six)-6]...))...), 1},
		{"APP1 shorter than its TIFF", jpegStart(segment(0xE1, 8+len(six)-6, append([]byte("Exif\x00\x00"), six...))), 1},
	}...)

	for _, c := range cases {
		if got := exifOrientation(c.b); got != c.want {
			t.Errorf("%s: exifOrientation=%d, want %d", c.name, got, c.want)
		}
	}
}

// encodedJPEG is a w×h JPEG as image/jpeg writes it: no EXIF.
func encodedJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// FuzzEXIFOrientation: any bytes give an orientation of 1 to 8, never a
// panic.
func FuzzEXIFOrientation(f *testing.F) {
	six := tiff("II", 0, ifdEntry{0x010F, 2, 6, 0}, orientationEntry(6))
	for _, b := range [][]byte{
		nil,
		jpegStart(app1(six)),
		jpegStart(app1(tiff("MM", 8, orientationEntry(3)))),
		jpegStart(segment(0xE0, -1, []byte("JFIF\x00")), app1(six)),
		jpegStart(segment(0xE0, 1, nil)),
		append([]byte{0xFF, 0xD8}, segment(0xE1, 0xFFFF, append([]byte("Exif\x00\x00"), six...))...),
		encodedJPEG(f, 8, 8),
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 1 || o > 8 {
			t.Fatalf("exifOrientation(%x)=%d, want 1 to 8", b, o)
		}
		// The TIFF parser alone, on any bytes, too.
		if o := tiffOrientation(b); o < 1 || o > 8 {
			t.Fatalf("tiffOrientation(%x)=%d, want 1 to 8", b, o)
		}
	})
}

// TestOrient: each orientation turns a 3×2 image
//
//	a b c
//	d e f
//
// upright as TIFF 6.0 defines it.
func TestOrient(t *testing.T) {
	for o, want := range map[int][]string{
		0: {"abc", "def"}, // not an orientation: as stored
		1: {"abc", "def"},
		2: {"cba", "fed"},
		3: {"fed", "cba"},
		4: {"def", "abc"},
		5: {"ad", "be", "cf"},
		6: {"da", "eb", "fc"},
		7: {"fc", "eb", "da"},
		8: {"cf", "be", "ad"},
		9: {"abc", "def"},
	} {
		// Drawn inside a larger image, so its bounds do not start at 0, 0.
		big := image.NewRGBA(image.Rect(-1, -1, 5, 3))
		for y, row := range []string{"abc", "def"} {
			for x, c := range row {
				big.SetRGBA(x, y, color.RGBA{R: uint8(c), G: uint8(x), B: uint8(y), A: 255})
			}
		}
		img := big.SubImage(image.Rect(0, 0, 3, 2)).(*image.RGBA)
		got := orient(img, o)
		if b := got.Bounds(); b.Dx() != len(want[0]) || b.Dy() != len(want) {
			t.Errorf("orient %d: %d×%d, want %d×%d", o, b.Dx(), b.Dy(), len(want[0]), len(want))
			continue
		}
		var rows []string
		for y := range got.Bounds().Dy() {
			var row []byte
			for x := range got.Bounds().Dx() {
				row = append(row, got.RGBAAt(got.Bounds().Min.X+x, got.Bounds().Min.Y+y).R)
			}
			rows = append(rows, string(row))
		}
		if fmt.Sprint(rows) != fmt.Sprint(want) {
			t.Errorf("orient %d: %v, want %v", o, rows, want)
		}
	}
}
