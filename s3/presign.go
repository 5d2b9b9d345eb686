package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"mediagate"
)

// PresignPut returns a URL for a PUT of exactly size bytes to key; see
// mediagate.Presigner. The headers to send are Content-Length, Content-Type
// and, when sha256 is given, x-amz-checksum-sha256 (S3 checks the body
// against it) and the tagged SHA-256 metadata Stat reads back. A Go client
// sets Content-Length through http.Request.ContentLength: net/http ignores
// that header in Request.Header.
func (s *BlobStore) PresignPut(ctx context.Context, key string, expires time.Duration, size int64, contentType, sha256 string) (string, http.Header, error) {
	object, err := s.object(key)
	if err != nil {
		return "", nil, err
	}
	if err := checkExpiry(expires); err != nil {
		return "", nil, err
	}
	if size < 0 {
		return "", nil, mediagate.Errorf(mediagate.EINVALID, "size %d is negative", size)
	}
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		return "", nil, mediagate.Errorf(mediagate.EINVALID, "content type %q is not a media type", contentType)
	}
	h := http.Header{}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("Content-Type", contentType)
	if sha256 != "" {
		raw, err := hex.DecodeString(sha256)
		if err != nil || len(raw) != 32 || hex.EncodeToString(raw) != sha256 {
			return "", nil, mediagate.Errorf(mediagate.EINVALID, "sha256 %q is not 64 lower-case hex digits", sha256)
		}
		h.Set("X-Amz-Checksum-Sha256", base64.StdEncoding.EncodeToString(raw))
		h.Set("X-Amz-Meta-"+sumMeta, s.tag(object, size, sha256))
	}
	u, err := s.public.PresignHeader(ctx, http.MethodPut, s.cfg.Bucket, object, expires, nil, h)
	if err != nil {
		return "", nil, fmt.Errorf("presign put of %s: %w", key, err)
	}
	return u.String(), h, nil
}

// PresignPart returns a URL for a PUT of part n of exactly size bytes; see
// mediagate.Presigner. The one header to send is Content-Length.
func (s *BlobStore) PresignPart(ctx context.Context, key, uploadID string, n int, expires time.Duration, size int64) (string, http.Header, error) {
	object, err := s.object(key)
	if err != nil {
		return "", nil, err
	}
	if err := checkExpiry(expires); err != nil {
		return "", nil, err
	}
	switch {
	case n < 1 || n > mediagate.MaxParts:
		return "", nil, mediagate.Errorf(mediagate.EINVALID, "part number %d is outside 1..%d", n, mediagate.MaxParts)
	case size < 0:
		return "", nil, mediagate.Errorf(mediagate.EINVALID, "size %d is negative", size)
	case uploadID == "":
		return "", nil, mediagate.Errorf(mediagate.EINVALID, "no upload id")
	}
	h := http.Header{}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	q := url.Values{"partNumber": {strconv.Itoa(n)}, "uploadId": {uploadID}}
	u, err := s.public.PresignHeader(ctx, http.MethodPut, s.cfg.Bucket, object, expires, q, h)
	if err != nil {
		return "", nil, fmt.Errorf("presign part %d of %s: %w", n, uploadID, err)
	}
	return u.String(), h, nil
}

// PresignGet returns a URL for a GET of key; see mediagate.Presigner.
func (s *BlobStore) PresignGet(ctx context.Context, key string, expires time.Duration, filename, contentType string) (string, error) {
	object, err := s.object(key)
	if err != nil {
		return "", err
	}
	if err := checkExpiry(expires); err != nil {
		return "", err
	}
	q := url.Values{}
	if filename != "" {
		cd, err := attachment(filename)
		if err != nil {
			return "", err
		}
		q.Set("response-content-disposition", cd)
	}
	if contentType != "" {
		if _, _, err := mime.ParseMediaType(contentType); err != nil {
			return "", mediagate.Errorf(mediagate.EINVALID, "content type %q is not a media type", contentType)
		}
		q.Set("response-content-type", contentType)
	}
	u, err := s.public.PresignHeader(ctx, http.MethodGet, s.cfg.Bucket, object, expires, q, nil)
	if err != nil {
		return "", fmt.Errorf("presign get of %s: %w", key, err)
	}
	return u.String(), nil
}

// attachment returns a Content-Disposition that saves the body as filename:
// mime quotes what needs quoting and encodes non-ASCII names as RFC 2231 /
// RFC 6266 filename*. Control characters could split the header and are
// refused.
func attachment(filename string) (string, error) {
	for _, r := range filename {
		if r < 0x20 || r == 0x7f {
			return "", mediagate.Errorf(mediagate.EINVALID, "filename %q has control characters", filename)
		}
	}
	cd := mime.FormatMediaType("attachment", map[string]string{"filename": filename})
	if cd == "" {
		return "", mediagate.Errorf(mediagate.EINVALID, "filename %q cannot be sent in a header", filename)
	}
	return cd, nil
}

func checkExpiry(d time.Duration) error {
	if d < time.Second || d > mediagate.MaxPresignExpiry {
		return mediagate.Errorf(mediagate.EINVALID, "expiry %s is outside 1s..%s", d, mediagate.MaxPresignExpiry)
	}
	return nil
}
