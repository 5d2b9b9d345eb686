package main

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// mp4Header is a complete 24-byte MP4 "ftyp" box (brand mp42), enough for
// content sniffing to see video/mp4.
var mp4Header = []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")

// ensureSource makes path, size bytes: mp4Header then pseudo-random bytes
// (incompressible, so no layer can shortcut them), unless it is there already.
func ensureSource(path string, size int64) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == size {
		f, err := os.Open(path)
		if err == nil {
			head := make([]byte, len(mp4Header))
			_, err = io.ReadFull(f, head)
			f.Close()
			if err == nil && bytes.Equal(head, mp4Header) {
				return nil
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	rng := rand.NewChaCha8([32]byte{'m', 'e', 'd', 'i', 'a', 'g', 'a', 't', 'e'})
	buf := make([]byte, 4<<20)
	copy(buf, mp4Header)
	rng.Read(buf[len(mp4Header):])
	for n := int64(0); n < size; {
		m := min(int64(len(buf)), size-n)
		if _, err := f.Write(buf[:m]); err != nil {
			f.Close()
			return err
		}
		n += m
		rng.Read(buf)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
