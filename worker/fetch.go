package worker

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
	"mediagate/fetch"
	"mediagate/fetchsvc"
)

// runFetch runs a leased fetch shard: its list is downloaded, and
// fetchsvc.RunShard fetches its URLs with a Host that talks to the server.
func runFetch(ctx context.Context, cfg Config, lj apiv1.LeasedJob) error {
	host := &fetchHost{cfg: cfg, id: lj.ID}
	sh, err := fetchsvc.ParseShard(&mediagate.Job{ID: lj.ID, Type: lj.Type, Params: lj.Params, Attempts: lj.Attempt})
	if err != nil {
		return host.Fail(ctx, err.Error(), false)
	}
	p := sh.Params
	if host.dir, err = os.MkdirTemp(cfg.TempDir, "mediagate-shard-"); err != nil {
		return host.Fail(ctx, err.Error(), true)
	}
	defer os.RemoveAll(host.dir)
	listPath := filepath.Join(host.dir, "list.txt")
	if err := download(ctx, cfg.Client.HTTPClient, lj.Input, listPath); err != nil {
		return host.Fail(ctx, "downloading the shard's list: "+err.Error(), true)
	}
	list, err := os.Open(listPath)
	if err != nil {
		return host.Fail(ctx, err.Error(), true)
	}
	defer list.Close()
	engine := fetchsvc.EngineOptions(sh.Options, cfg.FetchPrivate, cfg.FetchAllow)
	cfg.Logger.Info("fetch shard started", "job", lj.ID, "fetch", p.FetchID, "shard", p.Shard)
	return fetchsvc.RunShard(ctx, host, engine, list, host.dir)
}

// fetchHost is the fetchsvc.Host of a shard this worker runs: bodies go up
// through signed PUTs, reports and the results through the worker API.
type fetchHost struct {
	cfg Config
	id  string // the shard's job
	dir string // for bodies too large to hold while they are hashed
}

func (h *fetchHost) Blobs() mediagate.BlobStore { return remoteBlobs{h} }

func (h *fetchHost) Report(ctx context.Context, c mediagate.FetchCounts, stored []fetchsvc.Stored) (bool, error) {
	req := apiv1.FetchReportRequest{WorkerID: h.cfg.WorkerID, Counts: apiv1.FetchCounts{Done: c.Done, OK: c.OK,
		Duplicates: c.Duplicates, Errors: c.Errors, Bytes: c.Bytes, ByKind: c.ByKind}}
	for _, st := range stored {
		req.Stored = append(req.Stored, apiv1.FetchStored{Key: st.Key, URL: st.URL, Size: st.Size, SHA256: st.SHA256, ContentType: st.ContentType})
	}
	resp, err := h.cfg.Client.FetchReport(ctx, h.id, req)
	if err != nil {
		return false, apiCode(err)
	}
	return resp.Cancel, nil
}

func (h *fetchHost) Complete(ctx context.Context, c mediagate.FetchCounts, results io.ReadSeeker, size int64) error {
	b, err := io.ReadAll(results)
	if err != nil {
		return h.Fail(ctx, "reading the results: "+err.Error(), true)
	}
	if _, err := h.cfg.Client.FetchComplete(ctx, h.id, h.cfg.WorkerID, b); err != nil {
		return fmt.Errorf("completing the shard (its lease will lapse and it runs again): %w", err)
	}
	return nil
}

func (h *fetchHost) Fail(ctx context.Context, msg string, retryable bool) error {
	_, err := h.cfg.Client.FailJob(ctx, h.id, apiv1.FailJobRequest{WorkerID: h.cfg.WorkerID, Error: msg, Retryable: retryable})
	return err
}

// apiCode keeps a 409 (the lease is lost) recognizable to RunShard.
func apiCode(err error) error {
	var e *client.Error
	if errors.As(err, &e) && e.Status == http.StatusConflict {
		return mediagate.Errorf(mediagate.ECONFLICT, "%v", err)
	}
	return err
}

// remoteBlobs is the blob store of a remote shard run: a body is hashed
// (in memory up to 1 MiB, else in a file), declared, and PUT through the
// signed URL the server answers. A body the run deletes again (a second
// copy) was declared but is never reported: the server lets it expire.
type remoteBlobs struct{ h *fetchHost }

// memoryBody is the largest body held in memory while it is hashed.
const memoryBody = 1 << 20

func (b remoteBlobs) Put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	if max < 0 {
		max = 1 << 40
	}
	hash := sha256.New()
	var buf bytes.Buffer
	n, err := io.Copy(io.MultiWriter(&buf, hash), io.LimitReader(r, min(max, memoryBody)+1))
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	var body io.ReadSeeker = bytes.NewReader(buf.Bytes())
	if n > memoryBody { // spool the rest
		f, err := os.CreateTemp(b.h.dir, "body-*")
		if err != nil {
			return mediagate.BlobInfo{}, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		if _, err := f.Write(buf.Bytes()); err != nil {
			return mediagate.BlobInfo{}, err
		}
		m, err := io.Copy(io.MultiWriter(f, hash), io.LimitReader(r, max-n+1))
		if err != nil {
			return mediagate.BlobInfo{}, err
		}
		n += m
		body = f
	}
	if n > max {
		return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.ETOOLARGE, "the body is over %d bytes", max)
	}
	sum := hex.EncodeToString(hash.Sum(nil))
	resp, err := b.h.cfg.Client.FetchBlob(ctx, b.h.id, apiv1.FetchBlobRequest{WorkerID: b.h.cfg.WorkerID, Key: key,
		URL: fetch.URLOf(ctx), Size: n, SHA256: sum})
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	if resp.Upload != nil {
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return mediagate.BlobInfo{}, err
		}
		if err := b.put(ctx, resp.Upload, body, n); err != nil {
			return mediagate.BlobInfo{}, err
		}
	}
	return mediagate.BlobInfo{Key: key, Size: n, SHA256: sum, ModTime: time.Now()}, nil
}

// put sends n bytes of body to a signed PUT.
func (b remoteBlobs) put(ctx context.Context, u *apiv1.SignedURL, body io.Reader, n int64) error {
	req, err := http.NewRequestWithContext(ctx, cmp.Or(u.Method, http.MethodPut), u.URL, io.LimitReader(body, n))
	if err != nil {
		return err
	}
	req.ContentLength = n
	for k, v := range u.Headers {
		req.Header.Set(k, v)
	}
	resp, err := b.h.cfg.Client.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT of a fetched body: %s", resp.Status)
	}
	return nil
}

func (b remoteBlobs) Open(context.Context, string) (io.ReadSeekCloser, mediagate.BlobInfo, error) {
	return nil, mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EUNSUPPORTED, "a remote shard run does not read bodies back")
}

func (b remoteBlobs) Stat(context.Context, string) (mediagate.BlobInfo, error) {
	return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.EUNSUPPORTED, "a remote shard run does not read bodies back")
}

func (b remoteBlobs) Delete(context.Context, string) error { return nil }
