package s3

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"
)

// reader reads one version of an object: it streams from where the last GET
// left off and, after a Seek elsewhere, asks for the rest of the object from
// the new offset. Every GET after the first is conditional on the first one's
// ETag, so a replaced object fails the read instead of mixing two versions.
type reader struct {
	ctx         context.Context
	s           *BlobStore
	key, object string
	etag        string
	size, pos   int64 // the object's size; the offset of the next Read
	body        io.ReadCloser
	bodyPos     int64 // the offset body reads from next
}

// open GETs the object from offset 0 and returns a reader on the response:
// one request both checks that the object exists and says what it is.
func (s *BlobStore) open(ctx context.Context, key, object string) (*reader, minio.ObjectInfo, error) {
	body, oi, _, err := s.core.GetObject(ctx, s.cfg.Bucket, object, minio.GetObjectOptions{})
	if err != nil {
		return nil, minio.ObjectInfo{}, translate(ctx, "open blob", key, err)
	}
	return &reader{ctx: ctx, s: s, key: key, object: object, etag: oi.ETag, size: oi.Size, body: body}, oi, nil
}

func (r *reader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	if r.body == nil || r.bodyPos != r.pos {
		if err := r.reopen(); err != nil {
			return 0, err
		}
	}
	n, err := r.body.Read(p)
	r.pos += int64(n)
	r.bodyPos = r.pos
	switch {
	case err == io.EOF && r.pos < r.size:
		err = io.ErrUnexpectedEOF
		fallthrough
	case err != nil && err != io.EOF:
		// The next Read asks again from here.
		r.body.Close()
		r.body = nil
	}
	return n, err
}

// reopen GETs the object from r.pos on, if it is still the same version.
func (r *reader) reopen() error {
	if r.body != nil {
		r.body.Close()
		r.body = nil
	}
	var opts minio.GetObjectOptions
	if err := opts.SetMatchETag(r.etag); err != nil {
		return fmt.Errorf("read blob %s: %w", r.key, err)
	}
	if r.pos > 0 {
		if err := opts.SetRange(r.pos, 0); err != nil {
			return fmt.Errorf("read blob %s: %w", r.key, err)
		}
	}
	body, _, _, err := r.s.core.GetObject(r.ctx, r.s.cfg.Bucket, r.object, opts)
	if err != nil {
		if code, _ := s3Code(err); code == "PreconditionFailed" {
			return fmt.Errorf("read blob %s at offset %d: it was replaced while being read", r.key, r.pos)
		}
		return translate(r.ctx, "read blob", r.key, err)
	}
	r.body, r.bodyPos = body, r.pos
	return nil
}

// Seek sets the offset of the next Read; it costs a request only when that
// Read comes.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	var pos int64
	switch whence {
	case io.SeekStart:
		pos = offset
	case io.SeekCurrent:
		pos = r.pos + offset
	case io.SeekEnd:
		pos = r.size + offset
	default:
		return r.pos, errors.New("seek: invalid whence")
	}
	if pos < 0 {
		return r.pos, errors.New("seek: negative position")
	}
	r.pos = pos
	return pos, nil
}

// Close ends the response being read, if any.
func (r *reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
