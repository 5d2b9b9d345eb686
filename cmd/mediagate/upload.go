package main

import (
	"context"
	"fmt"

	"mediagate/client"
)

func init() {
	commands["upload"] = command{"upload files; large ones in parallel parts, resumable", runUpload}
}

func runUpload(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "upload", "[flags] FILE...")
	var cf clientFlags
	cf.register(fs, e)
	parallel := fs.Int("parallel", client.DefaultParallel, "parts of one file sent at once")
	partSize := byteSize(0)
	fs.Var(&partSize, "part-size", "multipart part size, e.g. 16MiB (default: the server's)")
	threshold := byteSize(client.DefaultMultipartThreshold)
	fs.Var(&threshold, "multipart-threshold", "files larger than this are sent in parts, e.g. 64MiB")
	contentType := fs.String("type", "", "content type of every file (default: by file extension)")
	stateDir := fs.String("state-dir", defaultUploadStateDir(), "where unfinished multipart uploads are remembered so that running again resumes them (\"\": do not)")
	quiet := fs.Bool("quiet", false, "show no progress bar")
	asJSON := fs.Bool("json", false, "print each object as a line of JSON")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(files) == 0:
		return usageError("upload: no file given")
	case *parallel < 1:
		return usageError("--parallel must be at least 1")
	case threshold < 1:
		return usageError("--multipart-threshold must be at least 1 byte")
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	opt := client.UploadOptions{ContentType: *contentType, MultipartThreshold: int64(threshold),
		PartSize: int64(partSize), Parallel: *parallel, StateDir: *stateDir}
	return forEachArg(ctx, e, "upload", files, func(path string) error {
		o, err := uploadWithBar(ctx, e, cl, path, opt, *quiet)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if *asJSON {
			return printJSON(e, o)
		}
		_, err = fmt.Fprintf(e.stdout, "%s %s %s\n", o.ID, o.State, path)
		return err
	})
}

// uploadWithBar uploads one file with a progress bar on a terminal: first
// while the file is hashed, then while it is sent.
func uploadWithBar(ctx context.Context, e *env, cl *client.Client, path string, opt client.UploadOptions, quiet bool) (*client.Object, error) {
	if bar := newBar(e, quiet, -1, path); bar != nil {
		sending := false
		opt.HashProgress = func(done, total int64) {
			if bar.GetMax64() != total {
				bar.ChangeMax64(total)
				bar.Describe("hashing " + path)
			}
			bar.Set64(done)
		}
		opt.Progress = func(done, total int64) {
			if !sending {
				sending = true
				bar.Reset()
				bar.ChangeMax64(total)
				bar.Describe(path)
			}
			bar.Set64(done)
			if done == total {
				bar.Describe(path + " (server verifying)")
			}
		}
		defer bar.Clear()
	}
	return cl.UploadFile(ctx, path, opt)
}
