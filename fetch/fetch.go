package fetch

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"mediagate"
	"mediagate/internal/safedial"
)

// sniffLen is how many first bytes the type is detected from.
const sniffLen = 3072

// bufPool holds the buffers bodies are read into; one that grew past
// maxPooled is left to the collector.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooled = 4 << 20

// attemptError is an attempt's failure, with what to do about it.
type attemptError struct {
	kind       Kind
	status     int           // the HTTP status, if one came
	retry      bool          // worth another attempt
	retryAfter time.Duration // the server asked to wait this long (0: our backoff)
	err        error
}

func (a *attemptError) Error() string { return a.err.Error() }

// fetch runs the attempts for t, holding a slot of its host throughout
// (backoffs included: a host that fails or asks to slow down gets no other
// request from us meanwhile), and returns its result.
func (e *Engine) fetch(ctx context.Context, t task, content *contentSet) *Result {
	e.inflight.Add(1)
	defer e.inflight.Add(-1)
	ctx = context.WithValue(ctx, urlKey{}, t.raw)
	r := &Result{URL: t.raw}
	for {
		*r = Result{URL: t.raw, Attempts: r.Attempts + 1} // nothing of a failed attempt stays
		aerr := e.attempt(ctx, t, content, r)
		r.Time = time.Now().UTC()
		if aerr == nil {
			return r
		}
		if ctx.Err() != nil {
			aerr = &attemptError{kind: KindCanceled, err: ctx.Err()}
		}
		r.Status, r.Kind, r.Error, r.HTTPStatus = StatusError, aerr.kind, aerr.err.Error(), aerr.status
		if !aerr.retry || r.Attempts > e.opts.Retries {
			return r
		}
		wait := aerr.retryAfter
		if wait == 0 {
			wait = e.backoff(r.Attempts)
		}
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			r.Kind, r.Error = KindCanceled, ctx.Err().Error()
			return r
		}
	}
}

// backoff is the wait before attempt n+1: Backoff doubling per attempt,
// capped at 30 s, with full jitter so that many URLs failing at once do
// not come back at once.
func (e *Engine) backoff(n int) time.Duration {
	d := e.opts.Backoff << min(n-1, 16)
	d = min(d, 30*time.Second)
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// attempt makes one request for t and, if it succeeds, stores the body and
// fills r.
func (e *Engine) attempt(ctx context.Context, t task, content *contentSet, r *Result) *attemptError {
	actx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, t.url, nil)
	if err != nil {
		return &attemptError{kind: KindURL, err: err}
	}
	req.Header.Set("User-Agent", e.opts.UserAgent)
	resp, err := e.client.Do(req)
	if err != nil {
		return classify(err)
	}
	defer resp.Body.Close()
	if aerr := e.checkStatus(resp); aerr != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keep the connection if it is cheap
		return aerr
	}
	r.HTTPStatus = resp.StatusCode
	if resp.ContentLength > e.opts.MaxSize {
		return &attemptError{kind: KindTooLarge, status: resp.StatusCode,
			err: fmt.Errorf("Content-Length %d is over the %d-byte limit", resp.ContentLength, e.opts.MaxSize)}
	}
	return e.storeBody(actx, resp.Body, resp.ContentLength, content, r)
}

// checkStatus accepts 200 and 203, and says what to do with the rest.
func (e *Engine) checkStatus(resp *http.Response) *attemptError {
	code := resp.StatusCode
	if code == http.StatusOK || code == http.StatusNonAuthoritativeInfo {
		return nil
	}
	aerr := &attemptError{kind: KindHTTP, status: code, err: fmt.Errorf("HTTP %d", code)}
	switch {
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		aerr.retry = true
		if wait, ok := retryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if wait > e.opts.MaxRetryAfter {
				aerr.kind, aerr.retry = KindRateLimit, false
				aerr.err = fmt.Errorf("HTTP %d with Retry-After %v, over the %v waited for", code, wait.Round(time.Second), e.opts.MaxRetryAfter)
			}
			aerr.retryAfter = max(wait, time.Millisecond)
		}
	case code == http.StatusRequestTimeout || code >= 500:
		aerr.retry = true
	}
	return aerr
}

// retryAfter parses a Retry-After value: seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// storeBody reads the body, checks its type and size, and stores it unless
// its bytes are stored already. A body of unknown length (length < 0) is
// read into memory up to SmallSize to learn whether it is small; one that
// declares more only up to the bytes the type is sniffed from, and then
// streamed.
func (e *Engine) storeBody(ctx context.Context, body io.Reader, length int64, content *contentSet, r *Result) *attemptError {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooled {
			bufPool.Put(buf)
		}
	}()
	limit := e.opts.SmallSize + 1
	if length > e.opts.SmallSize {
		limit = sniffLen
	}
	n, err := io.CopyN(buf, body, limit)
	e.bytes.Add(n)
	if err != nil && err != io.EOF {
		return classify(err)
	}
	head := buf.Bytes()[:min(buf.Len(), sniffLen)]
	ct := mimetype.Detect(head).String()
	r.ContentType = mediagate.MediaType(ct)
	if len(e.opts.Types) > 0 && !mediagate.TypeAllowed(e.opts.Types, ct) {
		return &attemptError{kind: KindType, status: r.HTTPStatus, err: fmt.Errorf("the bytes are %s, which is not allowed", r.ContentType)}
	}
	if n < limit { // the whole body, at most SmallSize
		return e.storeSmall(ctx, buf.Bytes(), content, r)
	}
	return e.storeLarge(ctx, buf.Bytes(), body, content, r)
}

// storeSmall stores a whole body under the key its hash names, once.
func (e *Engine) storeSmall(ctx context.Context, b []byte, content *contentSet, r *Result) *attemptError {
	sum := sha256.Sum256(b)
	r.Size, r.SHA256 = int64(len(b)), hex.EncodeToString(sum[:])
	key, mine := content.claim(sum)
	if !mine {
		r.Status, r.Key = StatusDuplicate, key
		return nil
	}
	key = smallKey(sum)
	if _, err := e.put(ctx, key, bytes.NewReader(b), int64(len(b))); err != nil {
		content.done(sum, "")
		return &attemptError{kind: KindStore, retry: true, err: fmt.Errorf("store: %w", err)}
	}
	content.done(sum, key)
	r.Status, r.Key = StatusOK, key
	return nil
}

// storeLarge streams a body larger than SmallSize to a key of its own
// and learns its hash; if the hash was stored before, the copy is deleted.
// A store that measures the SHA-256 while writing (BlobInfo.SHA256, as the
// disk store does) is trusted with it once it has shown it does, so the
// bytes are not hashed twice (that was half the CPU of large bodies).
func (e *Engine) storeLarge(ctx context.Context, first []byte, rest io.Reader, content *contentSet, r *Result) *attemptError {
	var h hash.Hash
	if !e.storeHashes.Load() {
		h = sha256.New()
		h.Write(first)
		rest = io.TeeReader(rest, h)
	}
	counted := &countingReader{r: rest, n: &e.bytes}
	key := "fetch/" + strings.ToLower(mediagate.NewID(""))
	info, err := e.put(ctx, key, io.MultiReader(bytes.NewReader(first), counted), e.opts.MaxSize)
	if err != nil {
		switch {
		case mediagate.ErrorCode(err) == mediagate.ETOOLARGE:
			return &attemptError{kind: KindTooLarge, status: r.HTTPStatus, err: fmt.Errorf("the body is over the %d-byte limit", e.opts.MaxSize)}
		case counted.err != nil:
			return classify(counted.err)
		}
		return &attemptError{kind: KindStore, retry: true, err: fmt.Errorf("store: %w", err)}
	}
	sum, measured := parseSum(info.SHA256)
	switch {
	case h != nil:
		h.Sum(sum[:0])
		if measured && info.SHA256 == hex.EncodeToString(sum[:]) {
			e.storeHashes.Store(true)
		}
	case !measured:
		s, err := e.hashStored(ctx, key)
		if err != nil {
			return &attemptError{kind: KindStore, retry: true, err: err}
		}
		sum = s
	}
	r.Size, r.SHA256 = info.Size, hex.EncodeToString(sum[:])
	if first, dup := content.lookupOrAdd(sum, key); dup {
		if err := e.store.Delete(context.WithoutCancel(ctx), key); err != nil {
			return &attemptError{kind: KindStore, retry: true, err: fmt.Errorf("delete the second copy: %w", err)}
		}
		r.Status, r.Key = StatusDuplicate, first
		return nil
	}
	r.Status, r.Key = StatusOK, key
	return nil
}

// put stores a body: lazily on a LazyPutter, whose Sync the run's results
// wait for (see syncGate), else with the store's own wait for durability.
func (e *Engine) put(ctx context.Context, key string, r io.Reader, max int64) (mediagate.BlobInfo, error) {
	if e.lazy != nil {
		return e.lazy.PutLazy(ctx, key, r, max)
	}
	return e.store.Put(ctx, key, r, max)
}

// hashStored reads back the blob under key and returns its SHA-256, for a
// store that did not report one.
func (e *Engine) hashStored(ctx context.Context, key string) ([32]byte, error) {
	var sum [32]byte
	rc, _, err := e.store.Open(ctx, key)
	if err != nil {
		return sum, fmt.Errorf("read back %s: %w", key, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return sum, fmt.Errorf("read back %s: %w", key, err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// countingReader counts what it reads into n and keeps the source's error,
// so a broken body is told apart from a failing store.
type countingReader struct {
	r   io.Reader
	n   *atomic.Int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// classify turns a transport or body error into what to do about it.
func classify(err error) *attemptError {
	var ne net.Error
	switch {
	case errors.Is(err, errRedirects):
		return &attemptError{kind: KindRedirects, err: err}
	case blocked(err):
		return &attemptError{kind: KindBlocked, err: err}
	case errors.Is(err, safedial.ErrInvalidURL):
		return &attemptError{kind: KindURL, err: err}
	case errors.Is(err, context.Canceled):
		return &attemptError{kind: KindCanceled, err: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return &attemptError{kind: KindTimeout, retry: true, err: err}
	}
	return &attemptError{kind: KindNetwork, retry: true, err: err}
}

// blocked reports whether err is the SSRF guard refusing an address.
func blocked(err error) bool { return errors.Is(err, safedial.ErrBlocked) }

type urlKey struct{}

// URLOf returns the URL whose body a store's Put is given, from the Put's
// ctx ("" when the engine is not the caller): a store that records more
// than bytes (the fetch service's remote workers) names the object by it.
func URLOf(ctx context.Context) string {
	u, _ := ctx.Value(urlKey{}).(string)
	return u
}
