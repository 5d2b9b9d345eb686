package api

import (
	"bytes"
	"encoding/binary"
	"image"
)

// exifHeadBytes is how much of a JPEG exifOrientation is given: the SOI,
// a segment of up to 64 KiB before the EXIF APP1 (a JFIF APP0 is 18
// bytes), and the APP1 itself, at most 64 KiB. EXIF puts APP1 first.
const exifHeadBytes = 128 << 10

// exifTagOrientation is the tag of Orientation in IFD0 (TIFF 6.0, EXIF 2.3).
const exifTagOrientation = 0x0112

// exifOrientation returns the EXIF Orientation of the JPEG that begins
// with b, 1 to 8: 1 as stored, 2 mirrored left to right, 3 turned 180°, 4
// mirrored top to bottom, 5 transposed, 6 to be turned 90° clockwise, 7
// transversed, 8 to be turned 90° anticlockwise. It is 1 if b holds no
// Exif APP1 before the first scan, or one that is malformed or
// truncated before the tag, or whose tag is not one SHORT of 1 to 8.
//
// Only the first Exif APP1 and its IFD0 are read: no IFD offset is followed
// beyond that, so hostile offsets can point anywhere (loops included) and
// cost one bounds check each.
func exifOrientation(b []byte) int {
	if len(b) < 2 || b[0] != 0xFF || b[1] != 0xD8 { // SOI
		return 1
	}
	for p := 2; ; {
		// A marker: 0xFF, any number of 0xFF fill bytes, then its code.
		if p >= len(b) || b[p] != 0xFF {
			return 1
		}
		for p < len(b) && b[p] == 0xFF {
			p++
		}
		if p >= len(b) {
			return 1
		}
		m := b[p]
		p++
		switch {
		case m == 0x01 || 0xD0 <= m && m <= 0xD7: // TEM, RSTn: no length
			continue
		case m == 0xD9 || m == 0xDA: // EOI, SOS: no APP1 is coming
			return 1
		}
		if p+2 > len(b) {
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[p:])) // counts its own 2 bytes
		if n < 2 {
			return 1
		}
		end := p + n
		if m == 0xE1 && bytes.HasPrefix(b[p+2:min(end, len(b))], []byte("Exif\x00\x00")) {
			// A segment cut short by the end of b is read as far as it goes.
			return tiffOrientation(b[p+8 : min(end, len(b))])
		}
		p = end
	}
}

// tiffOrientation returns the Orientation in IFD0 of the TIFF structure t
// (an Exif APP1 after its "Exif\0\0"), or 1; see exifOrientation.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	if order.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := uint64(order.Uint32(t[4:]))
	if ifd+2 > uint64(len(t)) {
		return 1
	}
	count := int(order.Uint16(t[ifd:]))
	entries := t[ifd+2:]
	// Each entry is 12 bytes: tag, type, count (of values), value or offset.
	// A count past the end of t is read as far as whole entries go.
	for i := 0; i < count && 12*i+12 <= len(entries); i++ {
		e := entries[12*i : 12*i+12]
		if order.Uint16(e) != exifTagOrientation {
			continue
		}
		const typeShort = 3
		if order.Uint16(e[2:]) != typeShort || order.Uint32(e[4:]) != 1 {
			return 1
		}
		// One SHORT sits in the first 2 bytes of the value field.
		if v := int(order.Uint16(e[8:])); 1 <= v && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orient returns img turned and mirrored as EXIF Orientation o asks (see
// exifOrientation), so it shows upright; img itself for 1 or any other
// value. For 5 to 8 the result's width is img's height and its height
// img's width.
func orient(img *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	// to is where the pixel at x, y of img goes.
	to := map[int]func(x, y int) (int, int){
		2: func(x, y int) (int, int) { return w - 1 - x, y },
		3: func(x, y int) (int, int) { return w - 1 - x, h - 1 - y },
		4: func(x, y int) (int, int) { return x, h - 1 - y },
		5: func(x, y int) (int, int) { return y, x },
		6: func(x, y int) (int, int) { return h - 1 - y, x },
		7: func(x, y int) (int, int) { return h - 1 - y, w - 1 - x },
		8: func(x, y int) (int, int) { return y, w - 1 - x },
	}[o]
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if o >= 5 {
		dst = image.NewRGBA(image.Rect(0, 0, h, w))
	}
	for y := range h {
		for x := range w {
			i := img.PixOffset(b.Min.X+x, b.Min.Y+y)
			dx, dy := to(x, y)
			j := dst.PixOffset(dx, dy)
			copy(dst.Pix[j:j+4], img.Pix[i:i+4])
		}
	}
	return dst
}
