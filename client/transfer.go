package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync/atomic"
)

// expectContinueMin is the body size from which a PUT asks the server to
// approve it (Expect: 100-continue) before sending it, so a refusal costs no
// upload.
const expectContinueMin = 1 << 20

// putSigned sends n bytes of f from off with the signed request s, without
// any credential, and returns the answer's ETag. Every byte read is added to
// p, and taken back if the request fails.
func (c *Client) putSigned(ctx context.Context, s *SignedURL, f io.ReaderAt, off, n int64, p *progress) (string, error) {
	u, err := c.resolve(s.URL)
	if err != nil {
		return "", err
	}
	method := s.Method
	if method == "" {
		method = http.MethodPut
	}
	sent := &sentBytes{p: p}
	req, err := http.NewRequestWithContext(ctx, method, u, sent.reader(f, off, n))
	if err != nil {
		return "", err
	}
	req.ContentLength = n
	if n == 0 {
		req.Body = http.NoBody
	}
	// If the transport must send the body again (a reused connection died),
	// it starts over from off, and what was counted is taken back.
	req.GetBody = func() (io.ReadCloser, error) {
		sent.undo()
		return sent.reader(f, off, n), nil
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	if n >= expectContinueMin {
		req.Header.Set("Expect", "100-continue")
	}
	c.setUserAgent(req)
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		sent.undo()
		return "", err
	}
	if resp.StatusCode/100 != 2 {
		sent.undo()
		return "", responseError(resp)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.Header.Get("ETag"), nil
}

// getSigned copies the body of the signed GET s to w, checking it is whole.
func (c *Client) getSigned(ctx context.Context, s *SignedURL, w io.Writer) (int64, error) {
	u, err := c.resolve(s.URL)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	for k, v := range s.Headers {
		req.Header.Set(k, v)
	}
	c.setUserAgent(req)
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, responseError(resp)
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, err
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("download ended after %d of %d bytes: %w", n, resp.ContentLength, io.ErrUnexpectedEOF)
	}
	return n, nil
}

// Download writes the bytes of a ready object to w, through a freshly signed
// URL, and returns how many it wrote. It fails with io.ErrUnexpectedEOF in the
// chain if the transfer ends early; w may then hold part of the object.
func (c *Client) Download(ctx context.Context, id string, w io.Writer) (int64, error) {
	s, err := c.DownloadURL(ctx, id, 0)
	if err != nil {
		return 0, err
	}
	return c.getSigned(ctx, s, w)
}

// resolve makes a signed URL absolute against the server's base URL, in case
// a server answers a path.
func (c *Client) resolve(ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("signed URL: %w", err)
	}
	if u.IsAbs() {
		return ref, nil
	}
	base, err := url.Parse(c.BaseURL + "/")
	if err != nil {
		return "", fmt.Errorf("base URL: %w", err)
	}
	return base.ResolveReference(u).String(), nil
}

// sentBytes counts the bytes of one request's body, over all the times the
// transport reads it, into a progress, so a failed request can take them back.
type sentBytes struct {
	p *progress
	n atomic.Int64
}

func (s *sentBytes) reader(f io.ReaderAt, off, n int64) io.ReadCloser {
	return io.NopCloser(&countingReader{r: io.NewSectionReader(f, off, n), s: s})
}

// undo takes back from the progress what was counted so far.
func (s *sentBytes) undo() { s.p.add(-s.n.Swap(0)) }

type countingReader struct {
	r io.Reader
	s *sentBytes
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.s.n.Add(int64(n))
		c.s.p.add(int64(n))
	}
	return n, err
}
