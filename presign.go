package mediagate

import (
	"context"
	"net/http"
	"time"
)

// MaxPresignExpiry is the longest a pre-signed URL may live, as in S3
// (SigV4 refuses more than seven days).
const MaxPresignExpiry = 7 * 24 * time.Hour

// Presigner is the optional capability of a BlobStore to hand out URLs that
// move bytes between a client and the store directly, so large transfers
// bypass the server:
//
//	if p, ok := blobs.(mediagate.Presigner); ok { … }
//
// The URLs name the store's public endpoint, which may differ from the one the
// server dials (a proxy or a load balancer in front of the store). A URL is a
// bearer credential for one operation on one key until it expires, usable any
// number of times until then: hand it only to the party allowed that
// operation. The store itself refuses an expired URL, one whose query was
// altered, and a request whose signed headers differ from those given, with
// 403. Every method answers EINVALID for a malformed key, for expires outside
// 1s..MaxPresignExpiry and for the malformed arguments it names; none of them
// checks that the key, blob or upload exists (that happens when the URL is
// used).
type Presigner interface {
	// PresignPut returns a URL for a PUT of exactly size bytes to key, and the
	// headers the client must send with it verbatim. The signature covers
	// Content-Length and Content-Type, so the store refuses a body of another
	// length (or one sent chunked, without a length) and another declared
	// type. When sha256 (64 lower-case hex digits) is not "", the signature
	// also covers a checksum header, so the store refuses other bytes of the
	// right length, and the stored blob's BlobInfo.SHA256 is then sha256. A
	// successful PUT replaces any blob at key whole, as Put does. contentType
	// must parse as a media type; size must be >= 0.
	PresignPut(ctx context.Context, key string, expires time.Duration, size int64, contentType, sha256 string) (url string, header http.Header, err error)
	// PresignPart returns a URL for a PUT of part n (1..MaxParts) of exactly
	// size bytes to the multipart upload uploadID of key, and the headers the
	// client must send with it verbatim (the signature covers Content-Length).
	// The store answers the part's quoted ETag in the ETag response header,
	// the same ETag ListParts reports and CompleteMultipart checks.
	PresignPart(ctx context.Context, key, uploadID string, n int, expires time.Duration, size int64) (url string, header http.Header, err error)
	// PresignGet returns a URL for a GET of key (ranges allowed). When
	// filename is not "", the response says Content-Disposition: attachment
	// with that name (non-ASCII names encoded as RFC 6266 asks); when
	// contentType is not "", the response's Content-Type is that. Both are
	// signed into the URL. EINVALID for a filename with control characters or
	// a contentType that is not a media type.
	PresignGet(ctx context.Context, key string, expires time.Duration, filename, contentType string) (url string, err error)
}
