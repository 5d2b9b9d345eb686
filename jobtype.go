package mediagate

import (
	"encoding/json"
	"regexp"
	"time"
)

// JobType is a kind of job the operator configured: what input it takes,
// what its params look like, what it costs and how it is run. The config
// file has one table per type, [job_types.NAME].
type JobType struct {
	Name string `toml:"-"`
	// ContentTypes are the input types accepted, checked on the bytes (magic
	// numbers), e.g. ["audio/wav"]; a major type with "/*" admits its family.
	ContentTypes []string `toml:"content_types"`
	MaxInputSize int64    `toml:"max_input_size"` // bytes; default 1 GiB
	// ParamsSchema is a JSON Schema (draft 2020-12) the params must match,
	// as a JSON string in the config; "" admits any JSON object.
	ParamsSchema string   `toml:"params_schema"`
	Price        int64    `toml:"price"`        // micro-credits per successful run; default: Prices.JobRun
	Timeout      Duration `toml:"timeout"`      // one run's limit; default 10 minutes
	MaxAttempts  int      `toml:"max_attempts"` // default 3
	Backoff      Duration `toml:"backoff"`      // before the second attempt, doubling after; default 10 s
	TTL          Duration `toml:"ttl"`          // how long a finished job and its objects are kept; default 60 minutes
	Pool         string   `toml:"pool"`         // the worker pool that runs it (documentation for operators); default the type's name
}

// Duration is a time.Duration read from text such as "90s" or "10m".
type Duration struct{ time.Duration }

// UnmarshalText reads a duration in time.ParseDuration's form.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return Errorf(EINVALID, "%q is not a duration (such as 90s or 10m)", b)
	}
	d.Duration = v
	return nil
}

// jobTypeName is what a job type may be called.
var jobTypeName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// WithDefaults returns t named name with every unset field at its default,
// or EINVALID saying what is wrong with it.
func (t JobType) WithDefaults(name string, prices Prices) (JobType, error) {
	t.Name = name
	if !jobTypeName.MatchString(name) {
		return t, Errorf(EINVALID, "job type %q: a name is lower-case letters, digits, '.', '_' and '-'", name)
	}
	if len(t.ContentTypes) == 0 {
		return t, Errorf(EINVALID, "job type %s: content_types must list the input types it accepts", name)
	}
	if t.ParamsSchema != "" && !json.Valid([]byte(t.ParamsSchema)) {
		return t, Errorf(EINVALID, "job type %s: params_schema is not JSON", name)
	}
	for _, f := range []struct {
		v   *int64
		def int64
	}{{&t.MaxInputSize, 1 << 30}, {&t.Price, prices.JobRun}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&t.Timeout.Duration, 10 * time.Minute}, {&t.Backoff.Duration, 10 * time.Second}, {&t.TTL.Duration, time.Hour}} {
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if t.MaxAttempts == 0 {
		t.MaxAttempts = 3
	}
	if t.Pool == "" {
		t.Pool = name
	}
	switch {
	case t.MaxInputSize < 0 || t.Price < 0 || t.MaxAttempts < 0:
		return t, Errorf(EINVALID, "job type %s: sizes, prices and attempts must not be negative", name)
	case t.Timeout.Duration < 0 || t.Backoff.Duration < 0 || t.TTL.Duration < 0:
		return t, Errorf(EINVALID, "job type %s: durations must not be negative", name)
	}
	return t, nil
}

// RetryBackoff is how long a job waits before attempt n+1 after attempt n
// failed: Backoff doubled for each attempt after the first, at most an hour.
func (t JobType) RetryBackoff(attempt int) time.Duration {
	d := t.Backoff.Duration
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
