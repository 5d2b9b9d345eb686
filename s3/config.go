package s3

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Config says where a BlobStore keeps its bytes and how it gets there.
type Config struct {
	Bucket string
	// Prefix is prepended, with a '/', to every key; "" for none. Several
	// deployments can share a bucket under different prefixes.
	Prefix string
	// Endpoint is the scheme://host[:port] the server dials.
	Endpoint string
	// PublicEndpoint is the scheme://host[:port] pre-signed URLs name, for
	// clients that reach the store by another address; "" means Endpoint.
	PublicEndpoint string
	// Region signs every request; "" asks the store for the bucket's region
	// once, when the store is opened.
	Region string
	// AccessKeyID and SecretAccessKey sign requests, and SessionToken when
	// the credentials are temporary.
	AccessKeyID, SecretAccessKey, SessionToken string
	// TempDir holds parts being spooled; "" means os.TempDir().
	TempDir string
}

// DefaultEndpoint is the endpoint of a URL that names none: AWS S3.
const DefaultEndpoint = "https://s3.amazonaws.com"

// ParseURL reads a Config from a URL of the form
//
//	s3://bucket[/prefix]?endpoint=http://127.0.0.1:9000&region=us-east-1&public_endpoint=https://files.example.com
//
// All parameters are optional. Credentials come from the query parameters
// access_key_id and secret_access_key (and session_token) when the URL has
// them, which suits tests and local stores; otherwise, and preferably, since
// a URL ends up in logs and process listings, from the environment as getenv
// reads it: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
// Unknown parameters are an error, so a misspelt one is not silently ignored.
func ParseURL(rawURL string, getenv func(string) string) (Config, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, fmt.Errorf("s3 url: %w", err)
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("s3 url %q: scheme must be s3", u.Redacted())
	}
	if u.User != nil || u.Port() != "" || u.Fragment != "" {
		return Config{}, fmt.Errorf("s3 url %q: want s3://bucket[/prefix]?params", u.Redacted())
	}
	c := Config{Bucket: u.Hostname(), Prefix: strings.Trim(u.Path, "/"), Endpoint: DefaultEndpoint}
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return Config{}, fmt.Errorf("s3 url: bucket %q: %w", c.Bucket, err)
	}
	if c.Prefix != "" && !validKey(c.Prefix) {
		return Config{}, fmt.Errorf("s3 url: prefix %q: want letters, digits, '_', '-', '.' and '/'", c.Prefix)
	}
	q := u.Query()
	for name, vs := range q {
		if len(vs) != 1 {
			return Config{}, fmt.Errorf("s3 url: parameter %s given %d times", name, len(vs))
		}
		v := vs[0]
		switch name {
		case "endpoint":
			c.Endpoint = v
		case "public_endpoint":
			c.PublicEndpoint = v
		case "region":
			c.Region = v
		case "access_key_id":
			c.AccessKeyID = v
		case "secret_access_key":
			c.SecretAccessKey = v
		case "session_token":
			c.SessionToken = v
		case "temp_dir":
			c.TempDir = v
		default:
			return Config{}, fmt.Errorf("s3 url: unknown parameter %q", name)
		}
	}
	if !q.Has("access_key_id") && !q.Has("secret_access_key") {
		c.AccessKeyID, c.SecretAccessKey = getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
		if !q.Has("session_token") {
			c.SessionToken = getenv("AWS_SESSION_TOKEN")
		}
	}
	if err := c.check(); err != nil {
		return Config{}, fmt.Errorf("s3 url: %w", err)
	}
	return c, nil
}

// check reports what is missing or malformed in c.
func (c Config) check() error {
	if err := s3utils.CheckValidBucketNameStrict(c.Bucket); err != nil {
		return fmt.Errorf("bucket %q: %w", c.Bucket, err)
	}
	if c.Prefix != "" && !validKey(c.Prefix) {
		return fmt.Errorf("prefix %q: want letters, digits, '_', '-', '.' and '/'", c.Prefix)
	}
	if _, _, err := parseEndpoint(c.Endpoint); err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	if c.PublicEndpoint != "" {
		if _, _, err := parseEndpoint(c.PublicEndpoint); err != nil {
			return fmt.Errorf("public_endpoint: %w", err)
		}
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return fmt.Errorf("credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	return nil
}

// parseEndpoint splits scheme://host[:port] into the host and whether it is
// https, as minio-go takes them. A path, query or user is an error: S3 clients
// address buckets at the root of an endpoint.
func parseEndpoint(s string) (host string, secure bool, err error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", false, err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", false, fmt.Errorf("%q: want http:// or https://host[:port]", s)
	}
	if u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false, fmt.Errorf("%q: want scheme://host[:port] and nothing more", u.Redacted())
	}
	return u.Host, u.Scheme == "https", nil
}

func (c Config) tempDir() string {
	if c.TempDir != "" {
		return c.TempDir
	}
	return os.TempDir()
}
