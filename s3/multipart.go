package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"mediagate"
)

// CreateMultipart starts an S3 multipart upload to key and returns S3's
// upload id. EINVALID for a malformed key.
func (s *BlobStore) CreateMultipart(ctx context.Context, key string) (string, error) {
	object, err := s.object(key)
	if err != nil {
		return "", err
	}
	id, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, object, minio.PutObjectOptions{})
	if err != nil {
		return "", translate(ctx, "create upload for", key, err)
	}
	return id, nil
}

// PutPart spools part n (see the package documentation) and uploads it with
// its length and SHA-256, which S3 checks. ENOTFOUND if the upload does not
// exist or was created for another key; EINVALID for n outside 1..MaxParts.
func (s *BlobStore) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, max int64) (mediagate.Part, error) {
	object, err := s.object(key)
	if err != nil {
		return mediagate.Part{}, err
	}
	if n < 1 || n > mediagate.MaxParts {
		return mediagate.Part{}, mediagate.Errorf(mediagate.EINVALID, "part number %d is outside 1..%d", n, mediagate.MaxParts)
	}
	if uploadID == "" {
		return mediagate.Part{}, uploadNotFound(uploadID)
	}
	sp, err := spool(ctx, r, max, s.cfg.tempDir())
	if err != nil {
		return mediagate.Part{}, fmt.Errorf("put part %d of %s: %w", n, uploadID, err)
	}
	defer sp.Close()
	p, err := s.core.PutObjectPart(ctx, s.cfg.Bucket, object, uploadID, n, sp, sp.size, minio.PutObjectPartOptions{Sha256Hex: sp.sum})
	if err != nil {
		return mediagate.Part{}, s.uploadErr(ctx, "put part of", uploadID, err)
	}
	return mediagate.Part{Number: n, Size: sp.size, ETag: quote(p.ETag)}, nil
}

// ListParts returns the parts S3 holds for the upload, by number. ENOTFOUND
// if the upload does not exist or was created for another key.
func (s *BlobStore) ListParts(ctx context.Context, key, uploadID string) ([]mediagate.Part, error) {
	object, err := s.object(key)
	if err != nil {
		return nil, err
	}
	if uploadID == "" {
		return nil, uploadNotFound(uploadID)
	}
	var list []mediagate.Part
	marker := 0
	// S3 answers up to 1,000 parts a page; MaxParts/1000 pages hold them all.
	for range mediagate.MaxParts/1000 + 1 {
		res, err := s.core.ListObjectParts(ctx, s.cfg.Bucket, object, uploadID, marker, 1000)
		if err != nil {
			return nil, s.uploadErr(ctx, "list parts of", uploadID, err)
		}
		for _, p := range res.ObjectParts {
			list = append(list, mediagate.Part{Number: p.PartNumber, Size: p.Size, ETag: quote(p.ETag)})
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			return list, nil
		}
		marker = res.NextPartNumberMarker
	}
	return list, nil
}

// CompleteMultipart asks S3 to join the parts; S3 checks their ETags, order
// and sizes (every part but the last at least 5 MiB), and any of those wrong
// is EINVALID. ENOTFOUND if the upload does not exist or was created for
// another key. The joined blob has no SHA-256 ("").
func (s *BlobStore) CompleteMultipart(ctx context.Context, key, uploadID string, list []mediagate.Part) (mediagate.BlobInfo, error) {
	object, err := s.object(key)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	if uploadID == "" {
		return mediagate.BlobInfo{}, uploadNotFound(uploadID)
	}
	if len(list) == 0 {
		// S3 would answer MalformedXML, but only for an upload that exists.
		if _, err := s.ListParts(ctx, key, uploadID); err != nil {
			return mediagate.BlobInfo{}, err
		}
		return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EINVALID, "no parts to join")
	}
	cps := make([]minio.CompletePart, len(list))
	for i, p := range list {
		cps[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, object, uploadID, cps, minio.PutObjectOptions{}); err != nil {
		return mediagate.BlobInfo{}, s.uploadErr(ctx, "complete", uploadID, err)
	}
	// S3 does not say how large the joined object is, nor when it was made.
	oi, err := s.client.StatObject(ctx, s.cfg.Bucket, object, minio.StatObjectOptions{})
	if err != nil {
		return mediagate.BlobInfo{}, translate(ctx, "stat completed blob", key, err)
	}
	return s.info(key, object, oi), nil
}

// AbortMultipart discards the upload and its parts; an unknown or finished
// upload is not an error.
func (s *BlobStore) AbortMultipart(ctx context.Context, key, uploadID string) error {
	object, err := s.object(key)
	if err != nil {
		return err
	}
	if uploadID == "" {
		return nil
	}
	err = s.uploadErr(ctx, "abort", uploadID, s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, object, uploadID))
	if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
		return nil
	}
	return err
}

// uploadErr translates what S3 answered about an upload: one it does not
// know (or knows for another key) is ENOTFOUND, and a refused completion is
// EINVALID.
func (s *BlobStore) uploadErr(ctx context.Context, op, uploadID string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s upload %s: %w", op, uploadID, cerr)
	}
	code, _ := s3Code(err)
	switch code {
	case "NoSuchUpload":
		return uploadNotFound(uploadID)
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall", "MalformedXML":
		return mediagate.Errorf(mediagate.EINVALID, "cannot complete upload %s: %s", uploadID, s3Message(err))
	}
	return fmt.Errorf("%s upload %s: %w", op, uploadID, err)
}

// s3Message is S3's message for err, safe to show: it names parts and
// sizes, never credentials.
func s3Message(err error) string {
	var e minio.ErrorResponse
	if errors.As(err, &e) && e.Message != "" {
		return strings.TrimSuffix(e.Message, ".")
	}
	return "the parts do not match the upload"
}

func uploadNotFound(id string) error {
	return mediagate.Errorf(mediagate.ENOTFOUND, "upload %s not found", id)
}

// quote returns etag in double quotes, as S3 sends it in headers; minio-go
// strips them.
func quote(etag string) string {
	return `"` + strings.Trim(etag, `"`) + `"`
}
