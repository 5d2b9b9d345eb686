package benchkit

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Main runs a program's run function and, if it fails, prints
// "prog: error" on stderr and exits with status 1.
func Main(prog string, run func() error) {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
		os.Exit(1)
	}
}

// Watchdog ends the process with status 3, saying so on stderr, if it is
// still running after limit, so that whatever happens a benchmark ends. Stop
// the returned timer when the work is done.
func Watchdog(prog string, limit time.Duration) *time.Timer {
	return time.AfterFunc(limit, func() {
		fmt.Fprintf(os.Stderr, "%s: watchdog: still running after %s, exiting\n", prog, limit)
		os.Exit(3)
	})
}

// LoopbackURL parses raw, the value of flagName, and insists it is an http
// URL whose host is a loopback IP address; any trailing slash of the path is
// dropped.
func LoopbackURL(flagName, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%s %q: want http://127.0.0.1:PORT", flagName, raw)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("%s %q: only loopback addresses are allowed", flagName, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

// ParsePIDs parses s, the value of flagName, as comma-separated PIDs; empty
// fields are skipped, so "" is no PIDs.
func ParsePIDs(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s %q: want comma-separated PIDs", flagName, s)
		}
		out = append(out, n)
	}
	return out, nil
}
