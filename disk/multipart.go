package disk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"mediagate"
)

// markerName is the file in an upload's directory that holds its key. Part
// files are named by number, so the names cannot clash.
const markerName = "key"

// CreateMultipart starts an upload to key: a directory uploads/<id> holding
// the key. EINVALID for a malformed key.
func (s *BlobStore) CreateMultipart(ctx context.Context, key string) (string, error) {
	if _, err := s.path(key); err != nil {
		return "", err
	}
	id := mediagate.NewID(mediagate.PrefixUpload)
	dir := filepath.Join(s.uploads, id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", fmt.Errorf("create upload for %s: %w", key, err)
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), []byte(key), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("create upload for %s: %w", key, err)
	}
	return id, nil
}

// PutPart stores part n through a temp file and a rename, like Put. Its ETag
// is the quoted hex SHA-256 of the part, not S3's MD5: the store hashes with
// SHA-256 anyway, and clients must treat ETags as opaque. ENOTFOUND if the
// upload does not exist or was created for another key; EINVALID for n
// outside 1..MaxParts.
func (s *BlobStore) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, max int64) (mediagate.Part, error) {
	if n < 1 || n > mediagate.MaxParts {
		return mediagate.Part{}, mediagate.Errorf(mediagate.EINVALID, "part number %d is outside 1..%d", n, mediagate.MaxParts)
	}
	dir, err := s.upload(key, uploadID)
	if err != nil {
		return mediagate.Part{}, err
	}
	sp, err := s.spool(ctx, r, max, true)
	if err != nil {
		return mediagate.Part{}, fmt.Errorf("put part %d of %s: %w", n, uploadID, err)
	}
	// The read lock keeps Complete and Abort from running while the part lands;
	// parts of one upload land in parallel. No mkdir: if the upload ended
	// meanwhile, its directory is gone and the rename fails.
	mu := s.lock(uploadID)
	mu.RLock()
	err = os.Rename(sp.name, filepath.Join(dir, strconv.Itoa(n)))
	mu.RUnlock()
	if err == nil {
		err = s.durable.Wait()
	}
	if err != nil {
		os.Remove(sp.name)
		if errors.Is(err, fs.ErrNotExist) {
			return mediagate.Part{}, uploadNotFound(uploadID)
		}
		return mediagate.Part{}, fmt.Errorf("put part %d of %s: %w", n, uploadID, err)
	}
	return mediagate.Part{Number: n, Size: sp.size, ETag: `"` + sp.sum + `"`}, nil
}

// ListParts returns the parts received so far, by number. ENOTFOUND if the
// upload does not exist or was created for another key.
func (s *BlobStore) ListParts(ctx context.Context, key, uploadID string) ([]mediagate.Part, error) {
	mu := s.lock(uploadID)
	mu.RLock()
	defer mu.RUnlock()
	dir, err := s.upload(key, uploadID)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list parts of %s: %w", uploadID, err)
	}
	parts := []mediagate.Part{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue // the marker
		}
		p, err := readPart(dir, n)
		if err != nil {
			return nil, fmt.Errorf("list parts of %s: %w", uploadID, err)
		}
		parts = append(parts, p)
	}
	slices.SortFunc(parts, func(a, b mediagate.Part) int { return a.Number - b.Number })
	return parts, nil
}

// CompleteMultipart joins parts, which must be in ascending order of number
// as S3 requires, into the blob at key and removes the upload. Each part must
// exist with the given ETag (quoted or not); the ETag is the part's SHA-256,
// so it pins the part's size too and Part.Size is not consulted. EINVALID for
// an empty list, a bad order, a missing part or another ETag; ENOTFOUND if the
// upload does not exist or was created for another key.
func (s *BlobStore) CompleteMultipart(ctx context.Context, key, uploadID string, parts []mediagate.Part) (mediagate.BlobInfo, error) {
	path, err := s.path(key)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	if len(parts) == 0 {
		return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EINVALID, "no parts to complete upload %s", uploadID)
	}
	for i, p := range parts {
		if p.Number < 1 || p.Number > mediagate.MaxParts || i > 0 && p.Number <= parts[i-1].Number {
			return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EINVALID, "parts must be in ascending order within 1..%d", mediagate.MaxParts)
		}
	}
	// The write lock holds PutPart, ListParts and Abort off until the upload
	// is gone, so the parts checked are the parts joined.
	mu := s.lock(uploadID)
	mu.Lock()
	defer mu.Unlock()
	dir, err := s.upload(key, uploadID)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	files := make([]string, len(parts))
	for i, want := range parts {
		got, err := readPart(dir, want.Number)
		if errors.Is(err, fs.ErrNotExist) {
			return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EINVALID, "part %d of upload %s is missing", want.Number, uploadID)
		}
		if err != nil {
			return mediagate.BlobInfo{}, fmt.Errorf("complete upload %s: %w", uploadID, err)
		}
		if got.ETag != `"`+strings.Trim(want.ETag, `"`)+`"` {
			return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EINVALID, "part %d of upload %s has ETag %s, not %s", want.Number, uploadID, got.ETag, want.ETag)
		}
		files[i] = filepath.Join(dir, strconv.Itoa(want.Number))
	}
	jr := &joinReader{files: files}
	defer jr.Close()
	sp, err := s.spool(ctx, jr, -1, false)
	if err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("complete upload %s: %w", uploadID, err)
	}
	if err := s.publish(key, sp.name, path); err != nil {
		os.Remove(sp.name)
		return mediagate.BlobInfo{}, putErr(key, err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("complete upload %s: remove parts: %w", uploadID, err)
	}
	return mediagate.BlobInfo{Key: key, Size: sp.size, SHA256: sp.sum, ModTime: sp.mod}, nil
}

// AbortMultipart removes the upload and its parts. An unknown or finished
// upload, or one created for another key, is left alone and answers nil.
func (s *BlobStore) AbortMultipart(ctx context.Context, key, uploadID string) error {
	mu := s.lock(uploadID)
	mu.Lock()
	defer mu.Unlock()
	dir, err := s.upload(key, uploadID)
	if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("abort upload %s: %w", uploadID, err)
	}
	return nil
}

// upload returns the directory of the upload, after checking that it exists
// and was created for key. An id that NewID could not have made is not
// found: it never reaches the file system, so it cannot name another path.
func (s *BlobStore) upload(key, uploadID string) (string, error) {
	if _, err := s.path(key); err != nil {
		return "", err
	}
	if !mediagate.ValidID(mediagate.PrefixUpload, uploadID) {
		return "", uploadNotFound(uploadID)
	}
	dir := filepath.Join(s.uploads, uploadID)
	got, err := os.ReadFile(filepath.Join(dir, markerName))
	if errors.Is(err, fs.ErrNotExist) || err == nil && string(got) != key {
		return "", uploadNotFound(uploadID)
	}
	if err != nil {
		return "", fmt.Errorf("read upload %s: %w", uploadID, err)
	}
	return dir, nil
}

func uploadNotFound(uploadID string) error {
	return mediagate.Errorf(mediagate.ENOTFOUND, "upload %s not found", uploadID)
}

// lock returns the lock of an upload, one of a fixed set shared by hash.
func (s *BlobStore) lock(uploadID string) *sync.RWMutex {
	h := fnv.New32a()
	io.WriteString(h, uploadID)
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// readPart returns part n of the upload in dir from its file's header.
func readPart(dir string, n int) (mediagate.Part, error) {
	f, err := os.Open(filepath.Join(dir, strconv.Itoa(n)))
	if err != nil {
		return mediagate.Part{}, err
	}
	defer f.Close()
	var h [partHeaderLen]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return mediagate.Part{}, fmt.Errorf("read header of part %d: %w", n, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return mediagate.Part{}, err
	}
	sum := bytes.TrimSuffix(h[:], []byte("\n"))
	return mediagate.Part{Number: n, Size: fi.Size() - partHeaderLen, ETag: `"` + string(sum) + `"`}, nil
}

// joinReader reads the contents of part files one after another, opening
// each only when the previous is done, so a 10,000-part upload needs one file
// descriptor, not 10,000.
type joinReader struct {
	files []string
	cur   *os.File
}

func (j *joinReader) Read(p []byte) (int, error) {
	for {
		if j.cur == nil {
			if len(j.files) == 0 {
				return 0, io.EOF
			}
			f, err := os.Open(j.files[0])
			if err != nil {
				return 0, err
			}
			j.files, j.cur = j.files[1:], f
			if _, err := f.Seek(partHeaderLen, io.SeekStart); err != nil {
				return 0, err
			}
		}
		n, err := j.cur.Read(p)
		if err == io.EOF {
			j.cur.Close()
			j.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// Close closes the part file being read, if any.
func (j *joinReader) Close() error {
	if j.cur == nil {
		return nil
	}
	return j.cur.Close()
}
