package s3

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"mediagate"
)

var (
	_ mediagate.BlobStore   = (*BlobStore)(nil)
	_ mediagate.Multiparter = (*BlobStore)(nil)
	_ mediagate.Presigner   = (*BlobStore)(nil)
)

// PartSize is the size of the parts Put uploads a large blob in, and the
// largest blob it sends in one request. S3 wants parts of 5 MiB or more and
// at most 10,000 of them, so Put takes blobs of up to 160 GiB.
const PartSize = 16 << 20

// putConcurrency is how many parts of one Put are in flight at once; a Put
// holds at most putConcurrency+1 parts in memory.
const putConcurrency = 4

// MaxKeyLen is the longest key the store accepts, in bytes, as disk's: a key
// that works on a laptop works in production and the other way round.
const MaxKeyLen = 512

// BlobStore is a mediagate.BlobStore, Multiparter and Presigner on one bucket
// of an S3-compatible store. It is safe for concurrent use, and any number of
// BlobStores, in any number of processes, may share a bucket and prefix.
type BlobStore struct {
	cfg    Config
	client *minio.Client // dials cfg.Endpoint
	core   minio.Core    // the same client, for multipart calls
	public *minio.Client // signs for cfg.PublicEndpoint; never dials
	tagKey []byte        // authenticates the SHA-256 kept with an object
}

// Open opens the store a URL names (see ParseURL; credentials from the
// environment of this process or the URL) and checks that its bucket is
// reachable.
func Open(ctx context.Context, rawURL string) (*BlobStore, error) {
	cfg, err := ParseURL(rawURL, os.Getenv)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// New returns a store on cfg's bucket after checking, with ctx, that the
// bucket exists and the credentials may reach it. When cfg.Region is "", it
// asks the store for the bucket's region, once.
func New(ctx context.Context, cfg Config) (*BlobStore, error) {
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("open s3 store: %w", err)
	}
	creds := credentials.NewStaticV4(cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken)
	host, secure, _ := parseEndpoint(cfg.Endpoint)
	client, err := minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("open s3 store at %s: %w", cfg.Endpoint, err)
	}
	s := &BlobStore{cfg: cfg, client: client, core: minio.Core{Client: client}}
	if err := s.Ping(ctx); err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		if s.cfg.Region, err = client.GetBucketLocation(ctx, cfg.Bucket); err != nil {
			return nil, fmt.Errorf("open s3 store: region of bucket %q at %s: %w", cfg.Bucket, cfg.Endpoint, err)
		}
	}
	public := cfg.PublicEndpoint
	if public == "" {
		public = cfg.Endpoint
	}
	host, secure, _ = parseEndpoint(public)
	// An explicit region keeps this client from ever dialling to look the
	// bucket up: it only signs.
	s.public, err = minio.New(host, &minio.Options{Creds: creds, Secure: secure, Region: s.cfg.Region})
	if err != nil {
		return nil, fmt.Errorf("open s3 store: public endpoint %s: %w", public, err)
	}
	mac := hmac.New(sha256.New, []byte(cfg.SecretAccessKey))
	mac.Write([]byte("mediagate s3 blob sha256 tag"))
	s.tagKey = mac.Sum(nil)
	return s, nil
}

// Ping checks that the bucket exists and the credentials may reach it, for
// readiness probes.
func (s *BlobStore) Ping(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return fmt.Errorf("s3 store: bucket %q at %s unreachable: %w", s.cfg.Bucket, s.cfg.Endpoint, err)
	}
	if !ok {
		return fmt.Errorf("s3 store: bucket %q does not exist at %s", s.cfg.Bucket, s.cfg.Endpoint)
	}
	return nil
}

// object returns the object name of key, or EINVALID.
func (s *BlobStore) object(key string) (string, error) {
	if !validKey(key) {
		return "", mediagate.Errorf(mediagate.EINVALID, "invalid blob key %q", key)
	}
	if s.cfg.Prefix == "" {
		return key, nil
	}
	return s.cfg.Prefix + "/" + key, nil
}

// validKey reports whether key is 1..MaxKeyLen bytes of letters, digits, '_',
// '-', '.' and '/', in segments that are non-empty, not "." and at most 255
// bytes, with no ".." anywhere: the rule of disk, so keys move between stores.
func validKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg == "." || len(seg) > 255 {
			return false
		}
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-', c == '/':
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

// s3Code returns the S3 error code in err's chain, "" if none.
func s3Code(err error) (string, int) {
	var e minio.ErrorResponse
	if errors.As(err, &e) {
		return e.Code, e.StatusCode
	}
	return "", 0
}

// translate maps what S3 answered for key to the domain's codes: a missing
// object is ENOTFOUND, and an error after ctx ended is ctx's error (minio-go
// may wrap it, or report a broken connection instead). Anything else is
// wrapped with op.
func translate(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s %s: %w", op, key, cerr)
	}
	switch code, status := s3Code(err); {
	case code == "NoSuchKey" || code == "NotFound" || code == "" && status == http.StatusNotFound:
		return mediagate.Errorf(mediagate.ENOTFOUND, "blob %s not found", key)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// sumMeta is the user metadata (x-amz-meta-mediagate-sha256) that keeps a
// blob's SHA-256: the hex sum, '.', and a tag that proves this store wrote it.
const sumMeta = "Mediagate-Sha256"

// tag returns the value of sumMeta for sum stored as object with size bytes.
func (s *BlobStore) tag(object string, size int64, sum string) string {
	mac := hmac.New(sha256.New, s.tagKey)
	mac.Write([]byte(object + "\n" + strconv.FormatInt(size, 10) + "\n" + sum))
	return sum + "." + hex.EncodeToString(mac.Sum(nil)[:16])
}

// info returns the BlobInfo of what StatObject answered for key; its SHA256
// only if the metadata carries a valid tag.
func (s *BlobStore) info(key, object string, oi minio.ObjectInfo) mediagate.BlobInfo {
	bi := mediagate.BlobInfo{Key: key, Size: oi.Size, ModTime: oi.LastModified}
	v := oi.UserMetadata[sumMeta]
	if v == "" {
		v = oi.Metadata.Get("X-Amz-Meta-" + sumMeta)
	}
	if sum, _, ok := strings.Cut(v, "."); ok && len(sum) == 64 && hmac.Equal([]byte(v), []byte(s.tag(object, oi.Size, sum))) {
		bi.SHA256 = sum
	}
	return bi
}
