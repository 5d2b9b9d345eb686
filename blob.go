package mediagate

import (
	"context"
	"io"
	"time"
)

// BlobInfo describes stored bytes.
type BlobInfo struct {
	Key     string
	Size    int64
	SHA256  string // lower-case hex when the store measured it while writing, else ""
	ModTime time.Time
}

// BlobStore holds object bytes under server-made keys: runs of letters, digits,
// '_', '-', '.' and '/', never starting with '/' or containing "..". blobtest
// holds the suite every implementation passes.
type BlobStore interface {
	// Put stores what r yields under key, replacing any blob there. The blob
	// appears whole or not at all: if r fails, ctx ends or r yields more than
	// max bytes (max < 0: no limit), nothing is left behind, and Put returns
	// r's error, ctx's error or ETOOLARGE.
	Put(ctx context.Context, key string, r io.Reader, max int64) (BlobInfo, error)
	// Open returns the blob for reading and seeking, or ENOTFOUND. The caller
	// closes it. A store on local disk returns an *os.File for a blob in a
	// file of its own, so a server can send it with sendfile(2), and a reader
	// that also reads at offsets (io.ReaderAt) for a small blob it packs.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, BlobInfo, error)
	// Stat returns ENOTFOUND if key does not exist.
	Stat(ctx context.Context, key string) (BlobInfo, error)
	// Delete removes the blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// LazyPutter is the optional capability of a BlobStore to store blobs
// without waiting for each to reach stable storage, and then to make all of
// them durable at once. A writer of many blobs (the bulk fetcher) keeps its
// network busy while the disk catches up. It tells no one of a blob before a
// Sync that began after the blob's PutLazy returned.
type LazyPutter interface {
	// PutLazy is Put, except that a crash may lose the blob until a Sync
	// that began after PutLazy returned has returned.
	PutLazy(ctx context.Context, key string, r io.Reader, max int64) (BlobInfo, error)
	// Sync returns once every blob whose PutLazy returned before the call is
	// on stable storage, or with the error that keeps one from it.
	Sync(ctx context.Context) error
}

// Part is one received part of a multipart upload.
type Part struct {
	Number int // 1..MaxParts
	Size   int64
	ETag   string // quoted, as S3 answers it
}

// MaxParts is the most parts a multipart upload may have, as in S3.
const MaxParts = 10000

// Multiparter is the optional capability of a BlobStore to take one blob in
// parts that arrive in any order and in parallel, with S3's semantics.
type Multiparter interface {
	// CreateMultipart starts an upload to key and returns its id.
	CreateMultipart(ctx context.Context, key string) (uploadID string, err error)
	// PutPart stores part n (1..MaxParts) of the upload, replacing an earlier
	// copy of the same part. Like Put it stores whole or not at all, and answers
	// ETOOLARGE past max bytes. ENOTFOUND if the upload does not exist.
	PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, max int64) (Part, error)
	// ListParts returns the parts received so far, by number, so a client can
	// resume. ENOTFOUND if the upload does not exist.
	ListParts(ctx context.Context, key, uploadID string) ([]Part, error)
	// CompleteMultipart joins the given parts, in order, into the blob at key and
	// ends the upload. EINVALID if a part is missing or its ETag differs.
	CompleteMultipart(ctx context.Context, key, uploadID string, parts []Part) (BlobInfo, error)
	// AbortMultipart discards the upload and its parts; aborting an unknown or
	// finished upload is not an error.
	AbortMultipart(ctx context.Context, key, uploadID string) error
}
