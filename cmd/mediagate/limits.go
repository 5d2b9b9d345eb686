package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/ratelimit"
	"mediagate/redis"
)

// limitFlags are serve's rate-limit flags.
type limitFlags struct {
	backend string
	limits  api.RateLimits
	proxies string
}

func (f *limitFlags) register(fs *flag.FlagSet, e *env, ed *envDefaults) {
	f.limits = api.DefaultRateLimits()
	fs.StringVar(&f.backend, "limits", e.envOr("MEDIAGATE_LIMITS", "memory://"), "rate-limit state: memory:// (this process), redis://HOST:PORT/DB[?prefix=P] (shared by every node), or off (env MEDIAGATE_LIMITS)")
	for _, l := range []struct {
		name, env, what string
		limit           *mediagate.Limit
	}{
		{"rate-anonymous", "MEDIAGATE_RATE_ANONYMOUS", "per client IP on signup and login", &f.limits.Anonymous},
		{"rate-read", "MEDIAGATE_RATE_READ", "per credential on GET routes", &f.limits.Read},
		{"rate-write", "MEDIAGATE_RATE_WRITE", "per credential on routes that change things", &f.limits.Write},
		{"rate-account", "MEDIAGATE_RATE_ACCOUNT", "per account, all credentials together", &f.limits.Account},
	} {
		*l.limit = envValue(ed, l.env, *l.limit, parseLimit)
		fs.Var(limitValue{l.limit}, l.name, fmt.Sprintf("rate limit %s, as RATE/PERIOD[,BURST] (e.g. 200/1s,400) or off (env %s)", l.what, l.env))
	}
	fs.StringVar(&f.proxies, "trusted-proxies", e.getenv("MEDIAGATE_TRUSTED_PROXIES"), "comma-separated CIDRs of proxies whose X-Forwarded-For names the client (env MEDIAGATE_TRUSTED_PROXIES)")
}

// limiter returns the limiter the flags choose (nil: limits off) and puts the
// limits and trusted proxies into cfg.
func (f *limitFlags) limiter(ctx context.Context, cfg *api.Config) (mediagate.Limiter, error) {
	for _, p := range splitList(f.proxies) {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, usageError("--trusted-proxies: %q is neither a CIDR nor an address", p)
			}
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		f.limits.TrustedProxies = append(f.limits.TrustedProxies, prefix.Masked())
	}
	cfg.Limits = f.limits
	switch f.backend {
	case "off":
		return nil, nil
	case "memory://", "memory:":
		return ratelimit.NewMemory(time.Now), nil
	}
	for _, scheme := range []string{"redis://", "rediss://", "unix://"} {
		if strings.HasPrefix(f.backend, scheme) {
			return redis.Open(ctx, f.backend)
		}
	}
	return nil, usageError("--limits %q: want memory://, redis://HOST:PORT/DB or off", f.backend)
}

// limitValue is a flag.Value for a mediagate.Limit: RATE/PERIOD[,BURST] or off.
type limitValue struct{ l *mediagate.Limit }

func (v limitValue) String() string {
	if v.l == nil || v.l.Rate == 0 {
		return "off"
	}
	return fmt.Sprintf("%d/%v,%d", v.l.Rate, v.l.Period, v.l.Burst)
}

func (v limitValue) Set(s string) error {
	l, err := parseLimit(s)
	if err != nil {
		return err
	}
	*v.l = l
	return nil
}

// parseLimit reads "200/1s,400" (burst defaults to the rate) or "off".
func parseLimit(s string) (mediagate.Limit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return mediagate.Limit{}, nil
	}
	spec, burst, hasBurst := strings.Cut(s, ",")
	rate, period, ok := strings.Cut(spec, "/")
	bad := fmt.Errorf("%q is not a rate limit (examples: 200/1s,400; 20/1m; off)", s)
	if !ok {
		return mediagate.Limit{}, bad
	}
	var l mediagate.Limit
	var err error
	if l.Rate, err = strconv.ParseInt(strings.TrimSpace(rate), 10, 64); err != nil {
		return l, bad
	}
	if l.Period, err = time.ParseDuration(strings.TrimSpace(period)); err != nil {
		return l, bad
	}
	l.Burst = l.Rate
	if hasBurst {
		if l.Burst, err = strconv.ParseInt(strings.TrimSpace(burst), 10, 64); err != nil {
			return l, bad
		}
	}
	if err := l.Validate(); err != nil {
		return l, fmt.Errorf("%q: %s", s, mediagate.ErrorMessage(err))
	}
	return l, nil
}
