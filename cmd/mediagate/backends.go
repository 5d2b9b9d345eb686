package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"mediagate"
	"mediagate/disk"
	"mediagate/postgres"
	"mediagate/s3"
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
	fs.StringVar(&b.db, "db", e.getenv("MEDIAGATE_DB"), "metadata store URL: sqlite://PATH (default sqlite://DATA/mediagate.db) or postgres://USER@HOST:PORT/DB (env MEDIAGATE_DB)")
	fs.StringVar(&b.blobs, "blobs", e.getenv("MEDIAGATE_BLOBS"), "blob store URL: file://DIR (default file://DATA/blobs) or s3://BUCKET[/PREFIX]?endpoint=URL[&region=R&public_endpoint=URL], credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (env MEDIAGATE_BLOBS)")
}

// openStore opens the metadata store the flags name, running its migrations.
func (b *backendFlags) openStore(ctx context.Context) (mediagate.Store, error) {
	scheme, path, err := backendURL("db", b.db, "sqlite://"+filepath.Join(b.data, "mediagate.db"), "sqlite", "postgres", "postgresql")
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "postgres", "postgresql":
		return postgres.Open(ctx, b.db)
	case "sqlite":
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("open SQLite database %s: %w", path, err)
		}
		return db, nil
	}
	panic("unreachable: backendURL checked the scheme")
}

// openBlobs opens the blob store the flags name.
func (b *backendFlags) openBlobs(ctx context.Context) (mediagate.BlobStore, error) {
	scheme, path, err := backendURL("blobs", b.blobs, "file://"+filepath.Join(b.data, "blobs"), "file", "s3")
	if err != nil {
		return nil, err
	}
	switch scheme {
	case "s3":
		return s3.Open(ctx, b.blobs)
	case "file":
		s, err := disk.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open blob directory %s: %w", path, err)
		}
		return s, nil
	}
	panic("unreachable: backendURL checked the scheme")
}

// backendURL splits the backend URL of --flag (def when empty) into a scheme,
// which must be one of schemes, and the path after it.
func backendURL(flag, raw, def string, schemes ...string) (scheme, path string, err error) {
	if raw == "" {
		raw = def
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", "", usageError("--%s %q: want a URL such as %s", flag, raw, def)
	}
	if !slices.Contains(schemes, scheme) {
		return "", "", usageError("--%s %q: unknown scheme %q (supported: %s)", flag, raw, scheme, strings.Join(schemes, ", "))
	}
	if scheme != "file" && scheme != "sqlite" {
		return scheme, "", nil // the backend parses its own URL
	}
	if path, err = pathOf(rest); err != nil {
		return "", "", usageError("--%s %q: %v", flag, raw, err)
	}
	return scheme, path, nil
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
