package apitest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// PNG returns a 2×2 PNG of its own for each n (0..65535): images whose
// bytes differ, for tests that store many and must tell them apart.
func PNG(n int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 2))
	img.Set(1, 1, color.RGBA{R: uint8(n), G: uint8(n >> 8), B: 3, A: 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
