package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"mediagate/disk"
	"mediagate/fetch"
)

func init() {
	commands["export"] = command{"write what `mediagate fetch` stored as files named after their URLs", runExport}
}

// runExport copies the objects of a fetch directory's results into plain
// files, TARGET/host/path (as `wget -x` names them). It skips files already
// there with the right size, so it resumes too.
func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "export", "[flags] DIR TARGET   (DIR: a `mediagate fetch -o DIR`)")
	resultsPath := fs.String("results", "", "results file (default DIR/results.ndjson)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usageError("export: give the fetch directory and the target directory")
	}
	dir, target := pos[0], pos[1]
	if *resultsPath == "" {
		*resultsPath = filepath.Join(dir, "results.ndjson")
	}
	results, err := os.Open(*resultsPath)
	if err != nil {
		return err
	}
	defer results.Close()
	store, err := disk.Open(dir)
	if err != nil {
		return err
	}
	defer store.Close()
	written, skipped := 0, 0
	br := bufio.NewReaderSize(results, 1<<20)
	for n := 1; ; n++ {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var r fetch.Result
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("%s line %d: %w", *resultsPath, n, err)
			}
			if r.Key != "" && (r.Status == fetch.StatusOK || r.Status == fetch.StatusDuplicate) {
				did, err := exportOne(ctx, store, target, &r)
				if err != nil {
					return fmt.Errorf("%s: %w", r.URL, err)
				}
				if did {
					written++
				} else {
					skipped++
				}
			}
		}
		if rerr == io.EOF {
			break
		} else if rerr != nil {
			return rerr
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Fprintf(e.stderr, "%d files written under %s, %d already there\n", written, target, skipped)
	return nil
}

// exportOne writes r's object to its file unless a file of its size is
// there; it reports whether it wrote.
func exportOne(ctx context.Context, store *disk.BlobStore, target string, r *fetch.Result) (bool, error) {
	rel, err := exportPath(r.URL)
	if err != nil {
		return false, err
	}
	path := filepath.Join(target, rel)
	if fi, err := os.Stat(path); err == nil && fi.Size() == r.Size {
		return false, nil
	}
	src, _, err := store.Open(ctx, r.Key)
	if err != nil {
		return false, err
	}
	defer src.Close()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".export-*")
	if err != nil {
		return false, err
	}
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return false, err
	}
	return true, nil
}

// exportPath is the file a URL is exported to, relative to the target:
// host/segments of the path, each cleaned to letters, digits, '.', '_' and
// '-' ("." and ".." dropped, so nothing lands outside the target), "index"
// for a path ending in "/", and a short hash of the query, if any, appended
// so that URLs differing only in it stay apart.
func exportPath(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", errors.New("not an absolute URL")
	}
	parts := []string{cleanSegment(strings.ReplaceAll(u.Host, ":", "_"))}
	segs := strings.Split(u.EscapedPath(), "/") // split before unescaping: %2F stays in its segment
	for _, s := range segs {
		if s = cleanSegment(s); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 1 || strings.HasSuffix(u.EscapedPath(), "/") {
		parts = append(parts, "index")
	}
	if u.RawQuery != "" {
		sum := sha256.Sum256([]byte(u.RawQuery))
		parts[len(parts)-1] += "_" + hex.EncodeToString(sum[:4])
	}
	return filepath.Join(parts...), nil
}

// cleanSegment keeps a path segment's safe characters, and drops "." and
// "..". A long one is cut and given a hash of the whole.
func cleanSegment(s string) string {
	if dec, err := url.PathUnescape(s); err == nil {
		s = dec
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(b.String(), ".")
	if len(out) > 120 {
		sum := sha256.Sum256([]byte(s))
		out = out[:100] + "_" + hex.EncodeToString(sum[:4])
	}
	return out
}
