package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"

	"mediagate/client"
)

func init() {
	commands["download"] = command{"download an object to a file or stdout", runDownload}
}

func runDownload(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "download", "[flags] ID")
	var cf clientFlags
	cf.register(fs, e)
	out := fs.String("o", "", "file or directory to write to; - for stdout (default: the object's file name)")
	force := fs.Bool("force", false, "overwrite an existing file")
	quiet := fs.Bool("quiet", false, "show no progress bar")
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return usageError("download takes one object id, got %d", len(ids))
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	o, err := cl.Object(ctx, ids[0])
	if err != nil {
		return err
	}
	if *out == "-" {
		return downloadVerified(ctx, e, cl, o, e.stdout, *quiet)
	}
	target := *out
	if target == "" {
		target = safeFilename(o.Filename, o.ID)
	} else if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		target = filepath.Join(target, safeFilename(o.Filename, o.ID))
	}
	if err := downloadToFile(ctx, e, cl, o, target, *force, *quiet); err != nil {
		return err
	}
	_, err = fmt.Fprintln(e.stdout, target)
	return err
}

// downloadToFile downloads into a temporary file next to target and renames
// it into place only once it is whole and verified, so no half file is left.
func downloadToFile(ctx context.Context, e *env, cl *client.Client, o *client.Object, target string, force, quiet bool) error {
	exists := func() error {
		if _, err := os.Lstat(target); err == nil && !force {
			return fmt.Errorf("%s exists; pass --force to overwrite it", target)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := exists(); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.part")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := downloadVerified(ctx, e, cl, o, tmp, quiet); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := exists(); err != nil { // it may have appeared meanwhile
		return err
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return err
	}
	done = true
	return nil
}

// downloadVerified writes the object to w and checks that what arrived has the
// object's size and SHA-256.
func downloadVerified(ctx context.Context, e *env, cl *client.Client, o *client.Object, w io.Writer, quiet bool) error {
	h := sha256.New()
	dst := io.MultiWriter(w, h)
	if bar := newBar(e, quiet, o.Size, o.Filename); bar != nil {
		dst = io.MultiWriter(dst, bar)
		defer bar.Clear()
	}
	n, err := cl.Download(ctx, o.ID, dst)
	if err != nil {
		return err
	}
	if n != o.Size {
		return fmt.Errorf("download of %s: got %d bytes, want %d", o.ID, n, o.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); o.SHA256 != "" && sum != o.SHA256 {
		return fmt.Errorf("download of %s: sha256 %s, want %s", o.ID, sum, o.SHA256)
	}
	return nil
}

// safeFilename turns an object's file name into a plain base name that can
// name nothing but a file in the current directory: no directories, no
// control characters, no leading dots. It answers fallback if nothing is left.
func safeFilename(name, fallback string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(path.Clean("/" + name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '/' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if name == "" {
		return fallback
	}
	return name
}
