package edge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// load empties tmp/ and indexes the entries in blobs/, removing every file
// that is not one (see OpenCache). It returns the entries indexed, all
// still to be checked.
func (c *Cache) load() ([]*entry, error) {
	if err := os.RemoveAll(c.tmp); err != nil {
		return nil, fmt.Errorf("open cache: clean temp dir: %w", err)
	}
	for _, d := range []string{c.tmp, c.blobs} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open cache: %w", err)
		}
	}
	tops, err := os.ReadDir(c.blobs)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	var loaded []*entry
	for _, t := range tops {
		dir := filepath.Join(c.blobs, t.Name())
		if !t.IsDir() {
			os.RemoveAll(dir)
			continue
		}
		es, err := c.loadDir(dir)
		if err != nil {
			return nil, err
		}
		loaded = append(loaded, es...)
	}
	// More than fits (the bound shrank since): the policy evicts some now.
	c.settle()
	return loaded, nil
}

// loadDir indexes the entries of one blobs/<hh> directory and removes the
// rest of its files.
func (c *Cache) loadDir(dir string) ([]*entry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open cache: %w", err)
	}
	var loaded []*entry
	keep := map[string]bool{}
	for _, de := range des {
		data, ok := strings.CutSuffix(de.Name(), ".meta")
		if !ok || !de.Type().IsRegular() {
			continue
		}
		e := loadEntry(filepath.Join(dir, data))
		if e == nil {
			continue
		}
		c.bytes.Add(e.meta.Size)
		if _, added := c.idx.SetIfAbsent(e.meta.Key, e); !added {
			c.bytes.Add(-e.meta.Size)
			continue // an older fill of the same key, left by a crash
		}
		keep[data], keep[data+".meta"] = true, true
		loaded = append(loaded, e)
	}
	for _, de := range des {
		if !keep[de.Name()] {
			os.RemoveAll(filepath.Join(dir, de.Name()))
		}
	}
	return loaded, nil
}

// loadEntry returns the unchecked entry whose data file is path, or nil if
// its sidecar does not parse or does not match the file's name and size.
func loadEntry(path string) *entry {
	b, err := os.ReadFile(path + ".meta")
	if err != nil {
		return nil
	}
	var sc sidecar
	if json.Unmarshal(b, &sc) != nil || checkKey(string(sc.Key)) != nil {
		return nil
	}
	m := Meta{Key: string(sc.Key), Size: sc.Size, SHA256: sc.SHA256, ContentType: sc.ContentType}
	prefix := keyName(m.Key) + "-"
	if !strings.HasPrefix(filepath.Base(path), prefix) || len(m.SHA256) != sha256.Size*2 {
		return nil
	}
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != m.Size {
		return nil
	}
	return &entry{meta: m, path: path, weight: weigh(m.Size, int64(len(b))), vdone: make(chan struct{})}
}

// verify returns whether the bytes of e, an entry loaded by OpenCache,
// match its Meta, hashing them on the first call; later and concurrent
// calls wait for that hash, or for ctx. An entry that does not match is
// gone from the index when verify returns.
func (c *Cache) verify(ctx context.Context, e *entry) (bool, error) {
	e.vonce.Do(func() {
		if !c.spawn(func() { c.check(e) }) {
			close(e.vdone) // closed: vgood stays false
		}
	})
	select {
	case <-e.vdone:
		if !e.vgood && c.ctx.Err() != nil {
			return false, errClosed()
		}
		return e.vgood, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// check hashes e's data file and drops e, counting it Corrupt, if it does
// not match its Meta. Close stops it; e then stays unchecked.
func (c *Cache) check(e *entry) {
	defer close(e.vdone)
	err := hashFile(c.ctx, e.path, e.meta)
	switch {
	case err == nil:
		e.vgood = true
		e.verified.Store(true)
	case c.ctx.Err() != nil:
	default:
		if c.drop(e) {
			c.corrupt.Add(1)
		}
	}
}

// checkAll checks the entries OpenCache loaded that are still cached, one
// at a time, until Close.
func (c *Cache) checkAll(loaded []*entry) {
	for _, e := range loaded {
		if c.ctx.Err() != nil {
			return
		}
		if cur, ok := c.idx.GetEntryQuietly(e.meta.Key); ok && cur.Value == e {
			c.verify(c.ctx, e)
		}
	}
}

// hashFile returns nil if the file at path holds m.Size bytes of SHA-256
// m.SHA256, and stops with ctx's error when ctx ends.
func hashFile(ctx context.Context, path string, m Meta) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := f.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != m.Size || sum != m.SHA256 {
		return fmt.Errorf("%s holds %d bytes of SHA-256 %s, want %d bytes of %s", path, n, sum, m.Size, m.SHA256)
	}
	return nil
}
