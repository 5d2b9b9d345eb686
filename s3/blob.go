package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"mediagate"
)

// Put stores what r yields under key; see mediagate.BlobStore and the package
// documentation. EINVALID for a malformed key.
func (s *BlobStore) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	object, err := s.object(key)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	lr := &limitReader{ctx: ctx, r: r, max: max, h: sha256.New()}
	first, eof, err := fillGrowing(lr, PartSize)
	if err != nil {
		return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	if eof {
		return s.putSingle(ctx, key, object, first, hex.EncodeToString(lr.h.Sum(nil)))
	}
	buf := parts.Get().(*[PartSize]byte)
	n, eof, err := fill(lr, buf[:])
	if err != nil {
		parts.Put(buf)
		return mediagate.BlobInfo{}, fmt.Errorf("put blob %s: %w", key, err)
	}
	if n == 0 && eof {
		parts.Put(buf)
		return s.putSingle(ctx, key, object, first, hex.EncodeToString(lr.h.Sum(nil)))
	}
	return s.putMultipart(ctx, key, object, lr, first, buf, n, eof)
}

// putSingle stores b, whose SHA-256 is sum, in one request. S3 checks the
// bytes against the signed sum.
func (s *BlobStore) putSingle(ctx context.Context, key, object string, b []byte, sum string) (mediagate.BlobInfo, error) {
	size := int64(len(b))
	opts := minio.PutObjectOptions{UserMetadata: map[string]string{sumMeta: s.tag(object, size, sum)}}
	_, err := s.core.PutObject(ctx, s.cfg.Bucket, object, bytes.NewReader(b), size, "", sum, opts)
	if err != nil {
		return mediagate.BlobInfo{}, translate(ctx, "put blob", key, err)
	}
	return mediagate.BlobInfo{Key: key, Size: size, SHA256: sum, ModTime: time.Now()}, nil
}

// putMultipart uploads first, then the n bytes in buf, then the rest of lr as
// parts of a multipart upload, putConcurrency at a time, and completes it; on
// any failure it aborts the upload, so nothing remains.
func (s *BlobStore) putMultipart(ctx context.Context, key, object string, lr *limitReader, first []byte, buf *[PartSize]byte, n int, eof bool) (info mediagate.BlobInfo, err error) {
	id, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, object, minio.PutObjectOptions{})
	if err != nil {
		parts.Put(buf)
		return mediagate.BlobInfo{}, translate(ctx, "put blob", key, err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		done []minio.CompletePart
		sem  = make(chan struct{}, putConcurrency)
	)
	upload := func(num int, b []byte, release func()) {
		defer func() { release(); <-sem; wg.Done() }()
		p, err := s.core.PutObjectPart(ctx, s.cfg.Bucket, object, id, num, bytes.NewReader(b), int64(len(b)), minio.PutObjectPartOptions{})
		if err != nil {
			cancel(translate(ctx, "put blob", key, err))
			return
		}
		mu.Lock()
		done = append(done, minio.CompletePart{PartNumber: num, ETag: p.ETag})
		mu.Unlock()
	}
	start := func(num int, b []byte, release func()) bool {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			release()
			return false
		}
		wg.Add(1)
		go upload(num, b, release)
		return true
	}
	size := int64(len(first))
	ok := start(1, first, func() {})
	for num := 2; ok; num++ {
		b := buf
		size += int64(n)
		ok = start(num, b[:n], func() { parts.Put(b) })
		if !ok || eof {
			break
		}
		if num == mediagate.MaxParts {
			cancel(mediagate.Errorf(mediagate.ETOOLARGE, "blob %s has more than %d bytes", key, int64(PartSize)*mediagate.MaxParts))
			break
		}
		buf = parts.Get().(*[PartSize]byte)
		if n, eof, err = fill(lr, buf[:]); err != nil {
			parts.Put(buf)
			cancel(fmt.Errorf("put blob %s: %w", key, err))
			break
		}
		if n == 0 && eof {
			parts.Put(buf)
			break
		}
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		s.abort(ctx, object, id)
		return mediagate.BlobInfo{}, err
	}
	slices.SortFunc(done, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	if _, err := s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, object, id, done, minio.PutObjectOptions{}); err != nil {
		s.abort(ctx, object, id)
		return mediagate.BlobInfo{}, translate(ctx, "put blob", key, err)
	}
	return mediagate.BlobInfo{Key: key, Size: size, SHA256: hex.EncodeToString(lr.h.Sum(nil)), ModTime: time.Now()}, nil
}

// abortTimeout bounds the clean-up of a failed upload, which runs even after
// the caller's context ended.
const abortTimeout = 30 * time.Second

// abort discards a multipart upload that failed. If that fails too, the parts
// stay until the bucket's lifecycle rule for incomplete uploads removes them;
// they are never visible as a blob.
func (s *BlobStore) abort(ctx context.Context, object, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, object, id)
}

// Open returns a reader of the blob that streams it with one GET as long as
// it is read in order and asks for the rest from the new offset after a Seek;
// every request after the first is conditional on the blob's ETag, so a blob
// replaced meanwhile fails the read rather than mixing two blobs. The reader
// stops working when ctx ends. ENOTFOUND if key does not exist.
func (s *BlobStore) Open(ctx context.Context, key string) (io.ReadSeekCloser, mediagate.BlobInfo, error) {
	object, err := s.object(key)
	if err != nil {
		return nil, mediagate.BlobInfo{}, err
	}
	r, oi, err := s.open(ctx, key, object)
	if err != nil {
		return nil, mediagate.BlobInfo{}, err
	}
	return r, s.info(key, object, oi), nil
}

// Stat returns the blob's size, modification time and, if Put measured it,
// SHA-256. ENOTFOUND if key does not exist.
func (s *BlobStore) Stat(ctx context.Context, key string) (mediagate.BlobInfo, error) {
	object, err := s.object(key)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.cfg.Bucket, object, minio.StatObjectOptions{})
	if err != nil {
		return mediagate.BlobInfo{}, translate(ctx, "stat blob", key, err)
	}
	return s.info(key, object, oi), nil
}

// Delete removes the blob; a missing key is not an error.
func (s *BlobStore) Delete(ctx context.Context, key string) error {
	object, err := s.object(key)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.cfg.Bucket, object, minio.RemoveObjectOptions{}); err != nil {
		if code, _ := s3Code(err); code == "NoSuchKey" {
			return nil
		}
		return translate(ctx, "delete blob", key, err)
	}
	return nil
}
