package api

import (
	"time"

	"mediagate"
)

// Config holds an API node's limits and defaults. DefaultConfig gives sane ones.
type Config struct {
	BaseURL       string           // public base URL of this node, for signed URLs ("http://127.0.0.1:8080")
	UploadTTL     time.Duration    // how long a pending upload waits for its bytes before it is swept
	MaxObjectSize int64            // the largest object anyone may upload
	MaxSinglePut  int64            // larger uploads must be multipart (S3's limit: 5 GiB)
	PartSize      int64            // default multipart part size
	MinPartSize   int64            // smallest part but the last (S3's limit: 5 MiB)
	AllowedTypes  []string         // content types objects may have: exact, or "major/*"
	DownloadTTL   time.Duration    // default lifetime of a download URL
	MaxURLTTL     time.Duration    // the longest lifetime a caller may ask for
	TokenTTL      time.Duration    // lifetime of a user's access token
	Limits        RateLimits       // rate limits, applied when Deps.Limiter is set
	Prices        mediagate.Prices // what operations cost, in micro-credits
	SignupCredit  int64            // micro-credits a new account starts with
	// IdempotencyTTL is how long the answer to a request with an
	// Idempotency-Key is kept for its retries.
	IdempotencyTTL time.Duration
	// KeyCacheTTL is how long a node trusts an API key it has looked up:
	// a key revoked through this node is refused at once, one revoked on
	// another node or with the CLI within KeyCacheTTL. 0 looks the key up
	// on every request.
	KeyCacheTTL time.Duration
	// RegionHeader names the request header that tells a client's region
	// (as a load balancer or CDN sets it), for the choice of an edge;
	// "" reads only the region parameter of a request.
	RegionHeader string
	// EdgeLeaseTTL is the life of an edge's credit lease after the edge
	// last reported it: an edge that has not reported or closed one by then
	// is gone, and the sweeper charges the usage it last reported.
	EdgeLeaseTTL time.Duration
	// EdgeLive is how recently an edge must have reported to be sent
	// clients; it reports every second.
	EdgeLive time.Duration
	// JobTypes are the job types jobs may be submitted for, by name (checked
	// with CheckJobTypes; see mediagate.JobType.WithDefaults).
	JobTypes map[string]mediagate.JobType
}

// DefaultConfig returns the defaults of `mediagate serve`.
func DefaultConfig() Config {
	return Config{
		BaseURL:        "http://127.0.0.1:8080",
		UploadTTL:      time.Hour,
		MaxObjectSize:  50 << 30,
		MaxSinglePut:   5 << 30,
		PartSize:       16 << 20,
		MinPartSize:    5 << 20,
		AllowedTypes:   DefaultAllowedTypes,
		DownloadTTL:    15 * time.Minute,
		MaxURLTTL:      7 * 24 * time.Hour,
		TokenTTL:       12 * time.Hour,
		Limits:         DefaultRateLimits(),
		Prices:         mediagate.DefaultPrices(),
		SignupCredit:   mediagate.MicroCredits, // one credit: 1 GiB of uploads at default prices
		IdempotencyTTL: 24 * time.Hour,
		KeyCacheTTL:    5 * time.Second,
		EdgeLeaseTTL:   10 * time.Minute,
		EdgeLive:       15 * time.Second,
	}
}

// DefaultAllowedTypes are images, audio, video, PDF and text.
var DefaultAllowedTypes = []string{"image/*", "audio/*", "video/*", "application/pdf", "text/*"}

// allowedType reports whether the media type (parameters ignored) is allowed.
func (c Config) allowedType(contentType string) bool {
	return mediagate.TypeAllowed(c.AllowedTypes, contentType)
}

// mediaType returns the lower-case media type of a Content-Type value without
// its parameters, or "" if it does not parse.
func mediaType(contentType string) string { return mediagate.MediaType(contentType) }
