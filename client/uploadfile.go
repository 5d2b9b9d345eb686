package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Defaults of UploadOptions.
const (
	DefaultMultipartThreshold = 64 << 20
	DefaultParallel           = 4
	DefaultRetries            = 2
)

// UploadOptions tune UploadFile. The zero value is usable.
type UploadOptions struct {
	// Filename is the name the object keeps; default: the file's base name.
	Filename string
	// ContentType is declared for the object; default: by the file's
	// extension, else "application/octet-stream". The server checks it against
	// the bytes.
	ContentType string
	// MultipartThreshold: files larger than this go in parts; default 64 MiB.
	MultipartThreshold int64
	// PartSize of a multipart upload; 0: the server's default (16 MiB).
	PartSize int64
	// Parallel is how many parts are sent at once; default 4.
	Parallel int
	// Retries is how many more times a failed PUT of bytes is tried, after a
	// short pause; 0 means DefaultRetries, a negative number none.
	Retries int
	// StateDir keeps a small file per unfinished multipart upload, so a later
	// UploadFile of the same file (same path, size and modification time, same
	// server) sends only the parts the server lacks. "" turns resuming off;
	// an upload that fails is then aborted.
	StateDir string
	// Progress, if set, is told how many of the file's bytes the server holds,
	// as bytes are sent (a failed attempt's bytes are taken back). It is
	// called from one goroutine at a time.
	Progress func(done, total int64)
	// HashProgress, if set, is told how far hashing the file has got, before
	// any byte is sent.
	HashProgress func(done, total int64)
}

func (o UploadOptions) withDefaults(path string) UploadOptions {
	if o.Filename == "" {
		o.Filename = filepath.Base(path)
	}
	if o.ContentType == "" {
		o.ContentType = ContentTypeOf(path)
	}
	if o.MultipartThreshold <= 0 {
		o.MultipartThreshold = DefaultMultipartThreshold
	}
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	return o
}

// ContentTypeOf guesses a file's content type from its extension, or answers
// "application/octet-stream".
func ContentTypeOf(path string) string {
	if t := mime.TypeByExtension(filepath.Ext(path)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// UploadFile uploads the file at path and returns the ready object. Files up
// to opt.MultipartThreshold go in one PUT; larger ones in parts sent by
// opt.Parallel workers straight from the file, resumable through
// opt.StateDir. The file's SHA-256 is declared, so the server verifies the
// bytes end to end.
func (c *Client) UploadFile(ctx context.Context, path string, opt UploadOptions) (*Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	opt = opt.withDefaults(path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := &fileUpload{c: c, f: f, size: fi.Size(), opt: opt,
		p: &progress{total: fi.Size(), fn: opt.Progress}}
	if opt.StateDir != "" {
		u.state = &uploadState{Version: 1, Server: c.BaseURL, Path: abs, Size: fi.Size(), ModTime: fi.ModTime().UTC()}
		u.stateFile = filepath.Join(opt.StateDir, u.state.key()+".json")
		if o, done, err := u.resume(ctx); done || err != nil {
			return o, err
		}
	}
	return u.start(ctx)
}

// fileUpload is one run of UploadFile.
type fileUpload struct {
	c         *Client
	f         *os.File
	size      int64
	opt       UploadOptions
	p         *progress
	state     *uploadState // nil when resuming is off
	stateFile string
}

// start declares a new upload and sends the file.
func (u *fileUpload) start(ctx context.Context) (*Object, error) {
	sum, err := u.hash(ctx)
	if err != nil {
		return nil, err
	}
	req := UploadRequest{Filename: u.opt.Filename, ContentType: u.opt.ContentType, Size: u.size, SHA256: sum}
	if u.size > u.opt.MultipartThreshold {
		req.Multipart, req.PartSize = true, u.opt.PartSize
	}
	up, err := u.c.CreateUpload(ctx, req)
	if err != nil {
		return nil, err
	}
	id := up.Object.ID
	switch {
	case up.Multipart != nil && up.Multipart.PartCount > 0:
		if u.state != nil {
			u.state.ObjectID, u.state.SHA256 = id, sum
			u.state.PartSize, u.state.PartCount = up.Multipart.PartSize, up.Multipart.PartCount
			u.state.CreatedAt = time.Now().UTC()
			if err := u.state.save(u.stateFile); err != nil {
				u.abort(id)
				return nil, fmt.Errorf("save upload state: %w", err)
			}
		}
		return u.sendParts(ctx, id, up.Multipart, nil)
	case up.Upload != nil:
		if err := u.retry(ctx, func() error {
			_, err := u.c.putSigned(ctx, up.Upload, u.f, 0, u.size, u.p)
			return err
		}); err != nil {
			u.abort(id)
			return nil, fmt.Errorf("upload %s: %w", id, err)
		}
		o, err := u.c.CompleteUpload(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("complete %s: %w", id, err)
		}
		return o, nil
	}
	u.abort(id)
	return nil, fmt.Errorf("upload %s: the server gave neither an upload URL nor a part layout", id)
}

// hash returns the hex SHA-256 of the file, reading it once.
func (u *fileUpload) hash(ctx context.Context) (string, error) {
	h := sha256.New()
	hp := &progress{total: u.size, fn: u.opt.HashProgress}
	r := &ctxReader{ctx: ctx, r: io.NewSectionReader(u.f, 0, u.size)}
	buf := make([]byte, 1<<20)
	for {
		n, err := r.Read(buf)
		h.Write(buf[:n])
		hp.add(int64(n))
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("hash %s: %w", u.f.Name(), err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// retry runs put until it succeeds, ctx ends, it fails in a way another try
// cannot mend, or it has been tried 1+Retries times.
func (u *fileUpload) retry(ctx context.Context, put func() error) error {
	var err error
	for attempt := 0; attempt <= u.opt.Retries; attempt++ {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 500 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
		}
		if err = put(); err == nil || ctx.Err() != nil || !retryable(err) {
			return err
		}
	}
	return err
}

// retryable says whether a failed transfer may succeed if tried again: a
// network error or a server's 5xx, 408 or 429, but no refusal of the request.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status >= 500 || e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests
	}
	return true
}

// abort discards an upload that will not be resumed, whatever became of the
// caller's context; a failure is left to the server's sweeper.
func (u *fileUpload) abort(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u.c.AbortUpload(ctx, id)
}

// progress adds up bytes and reports the sum, one call at a time.
type progress struct {
	mu    sync.Mutex
	done  int64
	total int64
	fn    func(done, total int64)
}

func (p *progress) add(n int64) {
	if p == nil || p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	p.fn(p.done, p.total)
}

// ctxReader stops reading once ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(b []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(b)
}
