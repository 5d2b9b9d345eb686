package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"mediagate/bench/internal/benchkit"
)

// bench holds the client both targets are measured with.
type bench struct {
	c      config
	client *http.Client
}

func newBench(c config) *bench {
	return &bench{c: c, client: benchkit.NewClient(benchkit.ClientOptions{IdleConnsPerHost: 2 * c.workers})}
}

// waitReady waits until both servers answer, for at most 15 s.
func (b *bench) waitReady() error {
	deadline := time.Now().Add(15 * time.Second)
	for _, u := range []string{b.c.mg.String() + "/healthz", b.c.ngx.String() + "/"} {
		if err := benchkit.WaitReady(b.client, u, deadline); err != nil {
			return fmt.Errorf("%s did not answer: %w", u, err)
		}
	}
	return nil
}

// request builds a request to a loopback target: the URL's host must be the
// host of one of the two configured targets.
func (b *bench) request(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if req.URL.Host != b.c.mg.Host && req.URL.Host != b.c.ngx.Host {
		return nil, fmt.Errorf("refusing %s: not one of the loopback targets", req.URL.Redacted())
	}
	return req, nil
}

// api calls mediagate's JSON API with the key and decodes the answer into v.
func (b *bench) api(ctx context.Context, method, path string, in, v any, want int) error {
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(j)
	}
	req, err := b.request(ctx, method, b.c.mg.String()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.c.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, bytes.TrimSpace(msg))
	}
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (b *bench) createUpload(ctx context.Context, filename, contentType string, size int64) (*benchkit.CreateUploadResponse, error) {
	var u benchkit.CreateUploadResponse
	err := b.api(ctx, http.MethodPost, "/v1/uploads",
		map[string]any{"filename": filename, "content_type": contentType, "size": size}, &u, http.StatusCreated)
	if err == nil && (u.Upload.Method != http.MethodPut || u.Upload.URL == "") {
		err = fmt.Errorf("create upload: got method %q url %q, want a single PUT", u.Upload.Method, u.Upload.URL)
	}
	return &u, err
}

func (b *bench) complete(ctx context.Context, id string) error {
	var o struct {
		State       string `json:"state"`
		ContentType string `json:"content_type"`
	}
	if err := b.api(ctx, http.MethodPost, "/v1/uploads/"+url.PathEscape(id)+"/complete", nil, &o, http.StatusOK); err != nil {
		return err
	}
	if o.State != "ready" {
		return fmt.Errorf("complete %s: state %q, want ready", id, o.State)
	}
	return nil
}

func (b *bench) downloadURL(ctx context.Context, id string) (string, error) {
	var d struct {
		URL string `json:"url"`
	}
	err := b.api(ctx, http.MethodPost, "/v1/objects/"+url.PathEscape(id)+"/url", nil, &d, http.StatusOK)
	return d.URL, err
}

// put sends size bytes from body; any 2xx is success.
func (b *bench) put(ctx context.Context, u, contentType string, body io.Reader, size int64) error {
	req, err := b.request(ctx, http.MethodPut, u, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("PUT: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("PUT: status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// copyBufs are the client's read buffers: large, so a big GET costs the
// client few system calls whichever server sends it.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// get reads the whole of u, checks it is want bytes starting with prefix,
// and discards it.
func (b *bench) get(ctx context.Context, u string, want int64, prefix []byte) error {
	req, err := b.request(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET: status %d: %s", resp.StatusCode, bytes.TrimSpace(msg))
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		m, err := resp.Body.Read(buf)
		if n < int64(len(prefix)) && m > 0 {
			k := min(int64(m), int64(len(prefix))-n)
			if !bytes.Equal(buf[:k], prefix[n:n+k]) {
				return fmt.Errorf("GET: the body does not start as it was uploaded")
			}
		}
		n += int64(m)
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("GET after %d bytes: %w", n, err)
		}
	}
	if n != want {
		return fmt.Errorf("GET: %d bytes, want %d", n, want)
	}
	return nil
}

// del deletes an nginx resource (DELETE) or a mediagate object (API).
func (b *bench) del(ctx context.Context, u string) error {
	req, err := b.request(ctx, http.MethodDelete, u, nil)
	if err != nil {
		return err
	}
	if req.URL.Host == b.c.mg.Host {
		req.Header.Set("Authorization", "Bearer "+b.c.key)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("DELETE %s: status %d", req.URL.Path, resp.StatusCode)
	}
	return nil
}

// fsyncStored fsyncs a file nginx stored under its root, and its directory,
// so nginx's PUT can also be timed as durably stored (mediagate fsyncs
// before it answers).
func (b *bench) fsyncStored(path string) error {
	for _, p := range []string{path, filepath.Dir(path)} {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
