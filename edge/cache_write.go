package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
)

// fill writes fl's bytes with fill to a temp file, checks them against
// the Meta fill returns (and declared, if it did) and moves them into
// blobs/ with their sidecar. It removes everything it wrote if it fails;
// Streams read on through their handle on the file.
func (c *Cache) fill(fl *flight, fill FillFunc) (*entry, error) {
	key := fl.key
	tmp, err := os.CreateTemp(c.tmp, "fill-*")
	if err != nil {
		return nil, fmt.Errorf("create temp file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	hw := &hashWriter{f: tmp, h: sha256.New(), p: fl.p}
	declare := func(m Meta) {
		m.Key, m.SHA256 = key, strings.ToLower(m.SHA256)
		if fl.p.declare(m, tmp.Name()) {
			c.publish(fl)
		}
	}
	meta, err := fill(fl.ctx, hw, declare)
	declared, streamed := fl.p.seal()
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write temp file: %w", cerr)
	}
	if err == nil && hw.err != nil {
		err = fmt.Errorf("write temp file: %w", hw.err)
	}
	if err != nil {
		return nil, err
	}
	meta.Key = key
	meta.SHA256 = strings.ToLower(meta.SHA256)
	if streamed {
		if meta.Size != declared.Size || meta.SHA256 != declared.SHA256 {
			return nil, fmt.Errorf("origin declared %d bytes of SHA-256 %s, then %d bytes of %q", declared.Size, declared.SHA256, meta.Size, meta.SHA256)
		}
		meta = declared // what the Streams were told
	}
	if hw.n != meta.Size {
		return nil, fmt.Errorf("origin sent %d bytes, declared %d", hw.n, meta.Size)
	}
	if sum := hex.EncodeToString(hw.h.Sum(nil)); sum != meta.SHA256 {
		return nil, fmt.Errorf("origin sent bytes of SHA-256 %s, declared %q", sum, meta.SHA256)
	}

	name := fmt.Sprintf("%s-%016x", keyName(key), c.gen.Add(1))
	dir := filepath.Join(c.blobs, name[:2])
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create cache dir: %w", err)
	}
	e := &entry{meta: meta, path: filepath.Join(dir, name)}
	e.verified.Store(true)
	if err := os.Rename(tmp.Name(), e.path); err != nil {
		return nil, fmt.Errorf("publish cached blob: %w", err)
	}
	side, err := c.writeSidecar(e.path+".meta", meta)
	if err != nil {
		os.Remove(e.path)
		return nil, err
	}
	e.weight = weigh(meta.Size, side)
	return e, nil
}

// sidecar is the JSON of a .meta file. The key is kept as bytes (base64 in
// JSON), since a key need not be valid UTF-8 and a JSON string would
// change it.
type sidecar struct {
	Key         []byte `json:"key"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"content_type"`
}

// writeSidecar writes m's sidecar to path, whole or not at all, and returns
// its length.
func (c *Cache) writeSidecar(path string, m Meta) (int64, error) {
	b, err := json.Marshal(sidecar{Key: []byte(m.Key), Size: m.Size, SHA256: m.SHA256, ContentType: m.ContentType})
	if err != nil {
		return 0, fmt.Errorf("encode sidecar: %w", err)
	}
	tmp, err := os.CreateTemp(c.tmp, "meta-*")
	if err != nil {
		return 0, fmt.Errorf("create temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return 0, fmt.Errorf("write sidecar: %w", err)
	}
	return int64(len(b)), nil
}

// hashWriter writes to a file and hashes and counts what it wrote, telling
// p. After a write error it keeps failing, so a fill that ignores one
// still fails. It refuses to write past a declared size.
type hashWriter struct {
	f   *os.File
	h   hash.Hash
	p   *progress
	n   int64
	err error
}

func (w *hashWriter) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if size, ok := w.p.limit(); ok && w.n+int64(len(b)) > size {
		w.err = fmt.Errorf("origin sent more than the %d bytes it declared", size)
		return 0, w.err
	}
	n, err := w.f.Write(b)
	w.h.Write(b[:n])
	w.n += int64(n)
	w.err = err
	w.p.wrote(w.n)
	return n, err
}
