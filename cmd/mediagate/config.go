package main

import (
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"mediagate"
	"mediagate/api"
)

// fileConfig is the optional TOML config file of serve (--config). Flags and
// environment variables cover the server's settings; the file holds what is
// a table rather than a value: the price list and the job types.
//
//	signup_credit = 1000000   # micro-credits a new account starts with
//
//	[prices]                  # micro-credits
//	upload_per_mib = 1000
//	download_per_mib = 2000
//	pin_per_gib_day = 10000
//	job_run = 100000
//	fetch_per_url = 100
//	fetch_per_mib = 1000
//	api_request = 0
//
//	[job_types."audio.wavstats"]        # one table per job type
//	content_types = ["audio/wav"]      # input types, checked on the bytes
//	max_input_size = 104857600         # bytes (default 1 GiB)
//	params_schema = '{"type": "object", "properties": {"window_ms": {"type": "integer", "minimum": 10}}, "additionalProperties": false}'
//	price = 100000                     # micro-credits per run (default prices.job_run)
//	timeout = "10m"                    # one run's limit
//	max_attempts = 3
//	backoff = "10s"                    # before the 2nd attempt, doubling after
//	ttl = "60m"                        # how long a finished job and its objects are kept
//	pool = "licensed"                  # which workers run it (for operators)
type fileConfig struct {
	SignupCredit *int64                       `toml:"signup_credit"`
	Prices       mediagate.Prices             `toml:"prices"`
	JobTypes     map[string]mediagate.JobType `toml:"job_types"`
}

// loadConfig reads path over the defaults. Unknown keys are an error, so a
// misspelt price is never silently ignored.
func loadConfig(path string, defaults mediagate.Prices) (fileConfig, error) {
	c := fileConfig{Prices: defaults}
	b, err := os.ReadFile(path)
	if err != nil {
		return c, usageError("--config: %v", err)
	}
	md, err := toml.Decode(string(b), &c)
	if err != nil {
		return c, usageError("--config %s: %v", path, err)
	}
	if extra := md.Undecoded(); len(extra) > 0 {
		keys := make([]string, len(extra))
		for i, k := range extra {
			keys[i] = k.String()
		}
		return c, usageError("--config %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	if err := c.Prices.Validate(); err != nil {
		return c, usageError("--config %s: %s", path, mediagate.ErrorMessage(err))
	}
	if c.SignupCredit != nil && *c.SignupCredit < 0 {
		return c, usageError("--config %s: signup_credit must be ≥ 0", path)
	}
	for name, t := range c.JobTypes {
		if t, err = t.WithDefaults(name, c.Prices); err != nil {
			return c, usageError("--config %s: %s", path, mediagate.ErrorMessage(err))
		}
		c.JobTypes[name] = t
	}
	if err := api.CheckJobTypes(c.JobTypes); err != nil {
		return c, usageError("--config %s: %s", path, mediagate.ErrorMessage(err))
	}
	return c, nil
}
