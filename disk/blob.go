// Package disk stores blob bytes in a local directory: the embedded
// default behind --blobs file://dir.
//
// Small blobs (up to Options.PackMax, 64 KiB by default) are records
// appended to pack segments, so storing one costs a pwrite(2) and a share of
// one fdatasync(2), not a file create; larger ones are files of their own,
// so a server can send them with sendfile(2). Layout under the root
// directory:
//
//	packs/<n>.pack           a pack segment: records of small blobs and tombstones (see record.go)
//	objects/<key>            one regular file per large blob, the key's '/' as directories
//	tmp/                     bytes being received; renamed into place when whole
//	uploads/<id>/key         a multipart upload: the key it was created for
//	uploads/<id>/<n>         part n: a 65-byte header (hex SHA-256 and '\n'), then the bytes
//
// tmp/ sits on the same file system as objects/ and uploads/, so the rename
// that publishes a blob or a part is atomic: readers see the old bytes or the
// new, never a mix. A key's blob is a packed record or a file, never both
// for long: a Put of either removes the other while it holds the key's lock,
// and reads ask the pack first. A crash before Put returns may leave the old
// blob or the new, as with a file alone.
//
// One process owns the directory: Open locks packs/ with flock(2), and
// BlobStores opened on it within one process share one pack and index.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mediagate"
)

var (
	_ mediagate.BlobStore   = (*BlobStore)(nil)
	_ mediagate.Multiparter = (*BlobStore)(nil)
	_ mediagate.LazyPutter  = (*BlobStore)(nil)
)

// StaleAge is how long a temp file may go unmodified before Open removes it as
// the leftover of a crash.
const StaleAge = time.Hour

// MaxKeyLen is the longest key the store accepts, in bytes.
const MaxKeyLen = 512

// BlobStore is a mediagate.BlobStore and mediagate.Multiparter on a local
// directory. It is safe for concurrent use. Several BlobStores in one process
// may share a directory (they share its pack); multipart uploads lock within
// one BlobStore only, so one upload must be driven through one of them.
type BlobStore struct {
	objects, tmp, uploads string
	locks                 [64]sync.RWMutex // per multipart upload, striped by id
	durable               *groupSync       // flushes the file system for every writer waiting
	lazyFiles             atomic.Bool      // a file was published without durable.Wait since the last Sync
	root                  *os.File
	pack                  *pack
}

// Open returns a store on dir with the default Options; see OpenWith.
func Open(dir string) (*BlobStore, error) { return OpenWith(dir, Options{}) }

// OpenWith returns a store on dir, creating its directories as needed,
// rebuilds the index of packed blobs by scanning the pack segments, and
// removes temp files older than StaleAge, the leftovers of a crash. Not all
// temp files: a Put may be writing into one right now; a live writer's file
// changes while bytes flow, and servers time out a stalled body long before
// an hour. Another process holding dir's packs fails the open. When this
// process has dir open already, the store shares that pack and its options.
func OpenWith(dir string, o Options) (*BlobStore, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob dir: %w", err)
	}
	s := &BlobStore{
		objects: filepath.Join(dir, "objects"),
		tmp:     filepath.Join(dir, "tmp"),
		uploads: filepath.Join(dir, "uploads"),
	}
	dirs := []string{s.objects, s.tmp, s.uploads}
	for i := range tmpShards {
		dirs = append(dirs, s.tmpShard(i))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("open blob dir: %w", err)
		}
	}
	if err := s.removeStale(time.Now().Add(-StaleAge)); err != nil {
		return nil, err
	}
	// The root stays open for the life of the store: it names the file
	// system that groupSync flushes.
	root, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open blob dir: %w", err)
	}
	if s.pack, err = openPack(filepath.Join(dir, "packs"), o); err != nil {
		root.Close()
		return nil, fmt.Errorf("open blob dir: %w", err)
	}
	tops, err := os.ReadDir(s.objects)
	if err != nil {
		s.pack.release()
		root.Close()
		return nil, fmt.Errorf("open blob dir: %w", err)
	}
	for _, e := range tops {
		s.pack.fileTops.Store(e.Name(), struct{}{})
	}
	s.root = root
	s.durable = newGroupSync(fsFlush(root))
	return s, nil
}

// Close waits for pending writes and releases the directory (with the last
// BlobStore of this process on it). The store must not be used after.
func (s *BlobStore) Close() error {
	err := s.pack.release()
	s.root.Close()
	return err
}

// tmpShards is how many directories temp files are spread over. Creating a
// file locks its directory; with dozens of uploads at once, one shared temp
// directory becomes the bottleneck of small uploads.
const tmpShards = 64

func (s *BlobStore) tmpShard(i int) string { return filepath.Join(s.tmp, fmt.Sprintf("%02x", i)) }

func (s *BlobStore) removeStale(before time.Time) error {
	for i := range tmpShards {
		dir := s.tmpShard(i)
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("clean blob temp dir: %w", err)
		}
		for _, e := range entries {
			fi, err := e.Info()
			if err != nil || !fi.ModTime().Before(before) {
				continue // gone already, or still fresh
			}
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fmt.Errorf("clean blob temp dir: %w", err)
			}
		}
	}
	return nil
}

// Put stores what r yields under key; see mediagate.BlobStore. The bytes are
// on stable storage when Put returns, since the caller will record the blob
// as ready. The rule is group commit, for both layouts: a Put waits for a
// flush that started after its bytes were written, shared with every other
// Put waiting (see groupSync). A body of at most Options.PackMax bytes is
// read into memory and appended to a pack segment; the flush is fdatasync(2)
// of the segments written since the last one. A larger body streams into a
// temp file that is renamed into place; the flush is syncfs(2). A crash
// before the flush can leave a short blob or the old one under key, but Put
// has not returned, so no one was told the bytes were stored: the upload
// stays pending and its completion checks size and SHA-256.
// Put answers EINVALID for a malformed key and, for a body stored as a file,
// ECONFLICT when key is a directory prefix of another file's key or has a
// file's key as its prefix ("a" and "a/b" cannot both be files). Packed
// blobs have no path, so they never conflict.
func (s *BlobStore) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	return s.put(ctx, key, r, max, true)
}

// PutLazy is Put without the wait for the group flush; see
// mediagate.LazyPutter. The blob is durable once a later Sync returns.
func (s *BlobStore) PutLazy(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	return s.put(ctx, key, r, max, false)
}

// Sync makes durable every blob stored before it: one flush of the packs,
// and a syncfs(2) if a file was published lazily since the last Sync. Like
// a Put, it shares each flush with every other writer waiting.
func (s *BlobStore) Sync(ctx context.Context) error {
	if s.lazyFiles.Swap(false) {
		if err := s.durable.Wait(); err != nil {
			s.lazyFiles.Store(true)
			return fmt.Errorf("sync blobs: %w", err)
		}
	}
	if err := s.pack.durable.Wait(); err != nil {
		return fmt.Errorf("sync blobs: %w", err)
	}
	return nil
}

// put is Put, and PutLazy when wait is false.
func (s *BlobStore) put(ctx context.Context, key string, r io.Reader, max int64, wait bool) (mediagate.BlobInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	if p := s.pack; p.max >= 0 {
		buf, n, small, err := p.read(ctx, key, r, max)
		if err != nil {
			return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
		}
		if small {
			return p.put(key, buf, n, wait, func() {
				if s.hasTop(topOf(key)) {
					s.unlink(path)
				}
			})
		}
		defer p.bufs.Put(buf)
		r = p.body(key, buf, n, r)
	}
	sp, err := s.spool(ctx, r, max, false)
	if err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	if err := s.place(key, sp.name, path); err != nil {
		os.Remove(sp.name)
		return mediagate.BlobInfo{}, putErr(key, err)
	}
	if !wait {
		s.lazyFiles.Store(true)
	} else if err := s.durable.Wait(); err != nil {
		return mediagate.BlobInfo{}, putErr(key, err)
	}
	return mediagate.BlobInfo{Key: key, Size: sp.size, SHA256: sp.sum, ModTime: sp.mod}, nil
}

// Open returns a packed blob as a reader of its section of the segment
// (it has ReadAt too), and any other blob as its *os.File, so net/http can
// send it with sendfile(2). BlobInfo.SHA256 is "" for a file; Stat answers
// the hash kept with it.
func (s *BlobStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, mediagate.BlobInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return nil, mediagate.BlobInfo{}, err
	}
	sh, h := s.pack.idx.shard(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	rc, bi, ok, err := s.pack.open(sh, h, key)
	if err != nil {
		return nil, mediagate.BlobInfo{}, fmt.Errorf("open blob %s: %w", key, err)
	}
	if ok {
		return rc, bi, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, mediagate.BlobInfo{}, notFound(key, err)
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, mediagate.BlobInfo{}, notFound(key, err)
	}
	return f, info(key, fi), nil
}

// Stat returns the blob's size, modification time and SHA-256, or ENOTFOUND.
func (s *BlobStore) Stat(ctx context.Context, key string) (mediagate.BlobInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	sh, h := s.pack.idx.shard(key)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	bi, ok, err := s.pack.stat(sh, h, key)
	if err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("stat blob %s: %w", key, err)
	}
	if ok {
		return bi, nil
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return mediagate.BlobInfo{}, notFound(key, err)
	}
	bi = info(key, fi)
	bi.SHA256 = getSum(path)
	return bi, nil
}

// Delete removes the blob: a tombstone record for a packed one (its bytes
// are wiped as soon as the tombstone is durable and no reader has the blob
// open), an unlink for a file, and then any directories the unlink left
// empty. Like the unlink, the tombstone is not waited for: after a crash a
// deleted blob may come back. Deleting a missing key, or a key that is only
// a prefix of others, is nil.
func (s *BlobStore) Delete(ctx context.Context, key string) error {
	path, err := s.path(key)
	if err != nil {
		return err
	}
	sh, h := s.pack.idx.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := s.pack.forget(sh, h, key); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	if err := s.unlink(path); err != nil {
		return fmt.Errorf("delete blob %s: %w", key, err)
	}
	return nil
}

// unlink removes the file at path, if it is one, and then any directories
// its removal left empty. A missing file, or a directory (the key is a
// prefix of others), is nil.
func (s *BlobStore) unlink(path string) error {
	// unlink(2), not os.Remove: it never removes a directory.
	if err := syscall.Unlink(path); err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR || err == syscall.EISDIR {
			return nil // the common case of a packed Put: no file, no lstat
		}
		fi, serr := os.Lstat(path)
		if errors.Is(serr, fs.ErrNotExist) || errors.Is(serr, syscall.ENOTDIR) || serr == nil && fi.IsDir() {
			return nil // missing, or only a prefix of other keys
		}
		return err
	}
	// rmdir fails on a directory that is not empty, which ends the walk. A Put
	// racing with this retries its mkdir (see publish).
	for dir := filepath.Dir(path); dir != s.objects; dir = filepath.Dir(dir) {
		if syscall.Rmdir(dir) != nil {
			break
		}
	}
	return nil
}

// path returns the file of key, or EINVALID.
// topOf is key's first segment: its entry in objects/ when it is a file.
func topOf(key string) string {
	top, _, _ := strings.Cut(key, "/")
	return top
}

// hasTop reports whether a key whose first segment is top may have a file.
func (s *BlobStore) hasTop(top string) bool {
	_, ok := s.pack.fileTops.Load(top)
	return ok
}

func (s *BlobStore) path(key string) (string, error) {
	if !validKey(key) {
		return "", mediagate.Errorf(mediagate.EINVALID, "invalid blob key %q", key)
	}
	return filepath.Join(s.objects, filepath.FromSlash(key)), nil
}

// validKey reports whether key is 1..MaxKeyLen bytes of letters, digits, '_',
// '-', '.' and '/', in segments that are non-empty, not "." and at most 255
// bytes (a file name's limit), with no ".." anywhere (the contract's rule,
// stricter than "no '..' segment").
func validKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return false
	}
	start := 0 // of the current segment
	for i := 0; i <= len(key); i++ {
		if i == len(key) || key[i] == '/' {
			seg := key[start:i]
			if seg == "" || seg == "." || len(seg) > 255 {
				return false
			}
			start = i + 1
			continue
		}
		c := key[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		case c == '.':
			if i+1 < len(key) && key[i+1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// publish renames the file tmp to path, creating path's directories, and
// removes a packed blob of key with a tombstone, under key's lock; then it
// waits until all of it is durable. It retries when a Delete removes a
// directory between the mkdir and the rename.
func (s *BlobStore) publish(key, tmp, path string) error {
	if err := s.place(key, tmp, path); err != nil {
		return err
	}
	return s.durable.Wait()
}

func (s *BlobStore) place(key, tmp, path string) error {
	sh, h := s.pack.idx.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if top := topOf(key); !s.hasTop(top) {
		s.pack.fileTops.Store(top, struct{}{})
	}
	dir := filepath.Dir(path)
	for attempt := 0; ; attempt++ {
		err := os.Rename(tmp, path)
		if err == nil {
			return s.pack.forget(sh, h, key)
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 5 {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
}

// putErr translates a failed publish: a key that clashes with a directory or
// has a blob as a prefix is ECONFLICT.
func putErr(key string, err error) error {
	for _, e := range []error{syscall.EISDIR, syscall.ENOTDIR, syscall.ENOTEMPTY, syscall.EEXIST} {
		if errors.Is(err, e) {
			return mediagate.Errorf(mediagate.ECONFLICT, "blob key %s overlaps another key", key)
		}
	}
	return fmt.Errorf("put blob %s: %w", key, err)
}

// notFound translates the error of opening key's file; err == nil means the
// file was not a regular file.
func notFound(key string, err error) error {
	if err == nil || errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return mediagate.Errorf(mediagate.ENOTFOUND, "blob %s not found", key)
	}
	return fmt.Errorf("open blob %s: %w", key, err)
}

func info(key string, fi fs.FileInfo) mediagate.BlobInfo {
	return mediagate.BlobInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}
}
