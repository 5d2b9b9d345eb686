package edge

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"mediagate/api"
)

// meterChunk is how much of a response is metered ahead of sending it. A
// kill -9 of the edge mid-response charges at most the unsent rest of one
// chunk (see the package doc).
const meterChunk = 1 << 20

// errRefused ends the body of a response whose reservation was refused (its
// head became a problem answer).
var errRefused = errors.New("edge: response refused for want of credit")

// meteredWriter charges the body of a 200 or 206 answer to a lease: when
// http.ServeContent writes the head, it reserves the Content-Length (or
// turns the answer into the refusal); then each write or sendfile chunk is
// metered just before it goes out, and what did not go out is taken back.
// Other answers (304, 416, …) pass unmetered.
type meteredWriter struct {
	http.ResponseWriter
	r       *http.Request
	reserve func(n int64) (*ticket, error)
	t       *ticket
	refused bool
	sent    int64
	pushed  time.Time // when the write deadline was last pushed forward
}

// stallLimit is how long a large response may make no progress before it
// is cut: its write deadline moves forward as it goes, so a slow client (or
// a slow origin behind a streamed miss) is served however long it takes,
// and a stalled one is dropped.
const stallLimit = 2 * time.Minute

// progress pushes the write deadline forward, at most every 10 s. Small
// responses never call it: the server's own write timeout covers them.
func (mw *meteredWriter) progress() {
	if now := time.Now(); now.Sub(mw.pushed) >= 10*time.Second {
		http.NewResponseController(mw.ResponseWriter).SetWriteDeadline(now.Add(stallLimit))
		mw.pushed = now
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (mw *meteredWriter) Unwrap() http.ResponseWriter { return mw.ResponseWriter }

func (mw *meteredWriter) WriteHeader(code int) {
	if (code == http.StatusOK || code == http.StatusPartialContent) && mw.r.Method != http.MethodHead {
		n, _ := strconv.ParseInt(mw.Header().Get("Content-Length"), 10, 64)
		if n > 0 {
			t, err := mw.reserve(n)
			if err != nil {
				mw.refused = true
				for _, k := range []string{"Content-Length", "Content-Range", "ETag", "Content-Disposition", "Cache-Control", "Accept-Ranges"} {
					mw.Header().Del(k)
				}
				api.WriteError(mw.ResponseWriter, mw.r, err)
				return
			}
			mw.t = t
		}
	}
	mw.ResponseWriter.WriteHeader(code)
}

func (mw *meteredWriter) Write(p []byte) (int, error) {
	switch {
	case mw.refused:
		return 0, errRefused
	case mw.t == nil:
		return mw.ResponseWriter.Write(p)
	case !mw.t.meter(int64(len(p))):
		return 0, errors.New("edge: response longer than its Content-Length")
	}
	if mw.sent >= smallBody {
		mw.progress()
	}
	k, err := mw.ResponseWriter.Write(p)
	mw.t.unmeter(int64(len(p) - k))
	mw.sent += int64(k)
	return k, err
}

// smallBody is the largest body copied through the response's buffer rather
// than sent with sendfile(2): it then leaves with the head in one write,
// where sendfile would cost a write of the head and a sendfile of the body.
const smallBody = 32 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, smallBody); return &b }}

// ReadFrom keeps sendfile(2) for all but small bodies: http.ServeContent
// copies the file through an io.LimitedReader, which is sent in chunks of
// meterChunk, each a LimitedReader over the file itself, as the
// connection's sendfile wants.
func (mw *meteredWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := mw.ResponseWriter.(io.ReaderFrom)
	outer, _ := src.(*io.LimitedReader)
	if mw.refused || mw.t == nil || !ok || (outer != nil && outer.N <= smallBody) {
		buf := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(buf)
		return io.CopyBuffer(struct{ io.Writer }{mw}, src, *buf)
	}
	var total int64
	for {
		c := min(int64(meterChunk), mw.t.left)
		if outer != nil {
			c = min(c, outer.N)
		}
		if c == 0 {
			return total, nil
		}
		mw.t.meter(c)
		mw.progress()
		var chunk *io.LimitedReader
		if outer != nil {
			chunk = &io.LimitedReader{R: outer.R, N: c}
		} else {
			chunk = &io.LimitedReader{R: src, N: c}
		}
		k, err := rf.ReadFrom(chunk)
		if outer != nil {
			outer.N -= k
		}
		mw.t.unmeter(c - k)
		mw.sent += k
		total += k
		if err != nil || k < c {
			return total, err
		}
	}
}

// finish ends the response's reservation and returns the bytes it sent.
func (mw *meteredWriter) finish() int64 {
	if mw.t != nil {
		mw.t.done()
	}
	return mw.sent
}
