package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"mediagate/client"
)

// clientFlags are the flags of every client command: which server, and the
// credential to show it.
type clientFlags struct {
	server string
	key    string
}

func (cf *clientFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&cf.server, "server", e.envOr("MEDIAGATE_SERVER", "http://127.0.0.1:8080"), "server URL (env MEDIAGATE_SERVER)")
	// The default stays out of the flag, so -h never prints the key.
	fs.StringVar(&cf.key, "key", "", "API key or user token (env MEDIAGATE_KEY)")
}

// client returns a client for the server, or a usage error if the server URL
// is malformed or no key is given.
func (cf *clientFlags) client(e *env) (*client.Client, error) {
	key := cf.key
	if key == "" {
		key = e.getenv("MEDIAGATE_KEY")
	}
	if key == "" {
		return nil, usageError("no API key: pass --key or set MEDIAGATE_KEY")
	}
	u, err := url.Parse(cf.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("--server %q is not an http:// or https:// URL", cf.server)
	}
	return client.New(cf.server, key, client.WithUserAgent("mediagate-cli/1")), nil
}

// parseInterleaved parses flags that may come before, between or after the
// positional arguments ("download ID -o FILE"), and returns the positional
// ones. Everything after "--" is positional.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

// forEachArg runs fn on each argument and goes on after a failure. With one
// argument it returns fn's error as it is; with several it reports each
// failure on stderr and returns how many failed.
func forEachArg(ctx context.Context, e *env, what string, args []string, fn func(arg string) error) error {
	if len(args) == 1 {
		return fn(args[0])
	}
	failed := 0
	for _, a := range args {
		if err := fn(a); err != nil {
			if ctx.Err() != nil {
				return err
			}
			failed++
			fmt.Fprintf(e.stderr, "mediagate: %v\n", err)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%s: %d of %d failed", what, failed, len(args))
	}
	return nil
}

// newBar returns a progress bar of total bytes on stderr, or nil when stderr
// is not a terminal or quiet is set.
func newBar(e *env, quiet bool, total int64, desc string) *progressbar.ProgressBar {
	f, ok := e.stderr.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(20),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionFullWidth(),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// printJSON writes v as one line of JSON.
func printJSON(e *env, v any) error {
	return json.NewEncoder(e.stdout).Encode(v)
}

// fmtBytes formats a size for people: "512 B", "1.5 MiB".
func fmtBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// fmtTime formats a time for tables: UTC, to the second; "-" for none.
func fmtTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// defaultUploadStateDir is where upload remembers unfinished uploads, or ""
// when the system has no cache directory (resuming is then off).
func defaultUploadStateDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "mediagate", "uploads")
}
