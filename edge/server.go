package edge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/api"
)

// handleBlob serves a download URL the origin signed for this edge: checked
// here, with no round trip, then served from the cache and metered.
func (n *Node) handleBlob(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	now := n.now()
	g, err := n.signer.VerifyQuery(r.Method, key, r.URL.RawQuery, now)
	if err == nil && g.AccountID == "" {
		err = mediagate.Errorf(mediagate.EFORBIDDEN, "this URL names no account to charge")
	}
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, max-age="+strconv.FormatInt(int64(g.Expires.Sub(now)/time.Second), 10)+", immutable")
	n.serve(w, r, delivery{account: g.AccountID, key: key, contentType: g.ContentType, filename: g.Filename, off: g.Offset, n: g.Length})
}

// handleContent serves an object to a client with an API key or token,
// checked by the origin (and trusted for KeyCacheTTL).
func (n *Node) handleContent(w http.ResponseWriter, r *http.Request) {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || cred == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mediagate"`)
		api.WriteError(w, r, mediagate.Errorf(mediagate.EUNAUTHORIZED, "missing Authorization: Bearer header"))
		return
	}
	a, err := n.auth.authorize(r.Context(), cred, r.PathValue("id"))
	if err != nil {
		api.WriteError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	n.serve(w, r, delivery{account: a.AccountID, key: a.Key, contentType: a.ContentType, filename: a.Filename})
}

// delivery is what one response serves: bytes [off, off+n) of key (n == 0:
// all of it), charged to account.
type delivery struct {
	account, key          string
	contentType, filename string
	off, n                int64
}

// serve answers GET and HEAD for d from the cache (filling it from the
// origin on a miss), with Range, ETag and If-None-Match from
// http.ServeContent and sendfile(2) from the cached file. Only the body
// bytes of a 200 or 206 are charged; see meteredWriter.
func (n *Node) serve(w http.ResponseWriter, r *http.Request, d delivery) {
	b, err := n.cache.Get(r.Context(), d.key, n.fill(d.account, d.key))
	if err != nil {
		n.metrics.errors.Inc()
		api.WriteError(w, r, err)
		return
	}
	defer b.Close()
	size := b.Meta.Size
	var content interface {
		io.ReadSeeker
		io.ReaderAt
	} = b.File
	switch {
	case b.Data != nil:
		content = bytes.NewReader(b.Data)
	case b.Stream != nil: // a miss, served as the origin sends it
		content = b.Stream
	}
	etag := `"` + b.Meta.SHA256 + `"`
	if d.n > 0 {
		if d.off+d.n > size {
			api.WriteError(w, r, fmt.Errorf("serve range %d+%d of %s: it has %d bytes", d.off, d.n, d.key, size))
			return
		}
		content, size = io.NewSectionReader(content, d.off, d.n), d.n
		etag = fmt.Sprintf(`"%s-%x-%x"`, b.Meta.SHA256, d.off, d.n)
	}
	h := w.Header()
	ct := d.contentType
	if ct == "" {
		ct = b.Meta.ContentType
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", etag)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; media-src 'self'; img-src 'self'; sandbox")
	if b.Hit {
		h.Set("X-Cache", "HIT")
	} else {
		h.Set("X-Cache", "MISS")
	}
	if d.filename != "" {
		h.Set("Content-Disposition", api.ContentDisposition(ct, d.filename, strings.Contains(r.URL.RawQuery, "download") && r.URL.Query().Has("download")))
	}
	if strings.Contains(r.Header.Get("Range"), ",") {
		// Several ranges are answered whole: a multipart body's length
		// is not what its ranges add up to, and it is charged by length.
		r.Header.Del("Range")
	}
	mw := &meteredWriter{ResponseWriter: w, r: r, reserve: func(need int64) (*ticket, error) {
		return n.meter.reserve(r.Context(), d.account, need)
	}}
	http.ServeContent(mw, r, "", time.Time{}, content)
	if sent := mw.finish(); sent > 0 {
		n.metrics.bytes.Add(float64(sent))
	}
}

// fill fetches key's bytes from the origin into the cache, with the size
// and SHA-256 the origin declares, which the cache checks. It declares them
// before the body, so the waiting clients get the bytes as they arrive. It
// may take long, but gives up on an origin that sends less than a piece in
// a minute: a fill streamed to clients goes on after they leave.
func (n *Node) fill(accountID, key string) FillFunc {
	return func(ctx context.Context, w io.Writer, declare func(Meta)) (Meta, error) {
		const idle, piece = time.Minute, 256 << 10
		ctx, cancel := context.WithCancelCause(ctx)
		defer cancel(nil)
		stall := time.AfterFunc(idle, func() { cancel(fmt.Errorf("the origin sent less than %d bytes in %v", piece, idle)) })
		defer stall.Stop()
		start := time.Now()
		resp, err := n.origin.EdgeBlob(ctx, accountID, key)
		n.metrics.origin.Observe(time.Since(start).Seconds())
		if err != nil {
			return Meta{}, originError(err, nil)
		}
		defer resp.Body.Close()
		m := Meta{Key: key, Size: resp.ContentLength, SHA256: resp.Header.Get("X-Mg-SHA256"), ContentType: resp.Header.Get("Content-Type")}
		if m.Size < 0 || m.SHA256 == "" {
			return Meta{}, fmt.Errorf("fill %s: the origin declared no length or SHA-256", key)
		}
		declare(m)
		buf := make([]byte, 32<<10)
		for {
			stall.Reset(idle)
			k, err := io.CopyBuffer(w, io.LimitReader(resp.Body, piece), buf)
			if err != nil {
				if ctx.Err() != nil {
					err = context.Cause(ctx)
				}
				return Meta{}, mediagate.Errorf(mediagate.EUNAVAILABLE, "fill %s from the origin: %v", key, err)
			}
			if k < piece {
				return m, nil
			}
		}
	}
}
