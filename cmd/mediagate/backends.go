package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"

	"mediagate"
	"mediagate/disk"
	"mediagate/sqlite"
)

// backendFlags are the flags that choose the backends, shared by serve and admin.
type backendFlags struct {
	data  string
	db    string
	blobs string
}

func (b *backendFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&b.data, "data", e.envOr("MEDIAGATE_DATA", "data"), "directory of the embedded defaults (env MEDIAGATE_DATA)")
	fs.StringVar(&b.db, "db", e.getenv("MEDIAGATE_DB"), "metadata store URL: sqlite://PATH (default sqlite://DATA/mediagate.db) (env MEDIAGATE_DB)")
	fs.StringVar(&b.blobs, "blobs", e.getenv("MEDIAGATE_BLOBS"), "blob store URL: file://DIR (default file://DATA/blobs) (env MEDIAGATE_BLOBS)")
}

// openStore opens the metadata store the flags name, running its migrations.
func (b *backendFlags) openStore(ctx context.Context) (mediagate.Store, error) {
	raw := b.db
	if raw == "" {
		raw = "sqlite://" + filepath.Join(b.data, "mediagate.db")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, usageError("--db %q: want a URL such as sqlite://data/mediagate.db", raw)
	}
	switch scheme {
	case "sqlite":
		path, err := pathOf(rest)
		if err != nil {
			return nil, usageError("--db %q: %v", raw, err)
		}
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
		}
		return db, nil
	}
	return nil, usageError("--db %q: unknown scheme %q (supported: sqlite)", raw, scheme)
}

// openBlobs opens the blob store the flags name.
func (b *backendFlags) openBlobs() (mediagate.BlobStore, error) {
	raw := b.blobs
	if raw == "" {
		raw = "file://" + filepath.Join(b.data, "blobs")
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil, usageError("--blobs %q: want a URL such as file://data/blobs", raw)
	}
	switch scheme {
	case "file":
		path, err := pathOf(rest)
		if err != nil {
			return nil, usageError("--blobs %q: %v", raw, err)
		}
		s, err := disk.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open blob directory %s: %w", path, err)
		}
		return s, nil
	}
	return nil, usageError("--blobs %q: unknown scheme %q (supported: file)", raw, scheme)
}

// pathOf takes the part of a sqlite:// or file:// URL after the scheme: a
// relative path ("data/x.db") or an absolute one ("/var/lib/x.db"), with any
// query dropped.
func pathOf(rest string) (string, error) {
	rest, _, _ = strings.Cut(rest, "?")
	p, err := url.PathUnescape(rest)
	if err != nil {
		return "", err
	}
	if p == "" {
		return "", fmt.Errorf("no path")
	}
	return filepath.Clean(p), nil
}
