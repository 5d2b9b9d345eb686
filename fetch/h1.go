package fetch

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// h1Transport is the engine's http.RoundTripper for plain http:// URLs: an
// HTTP/1.1 client with keep-alive connections that does each round trip on
// the caller's goroutine. net/http's Transport runs a reader and a writer
// goroutine per connection and hands every request and response between
// them; for a bulk fetch of small bodies that machinery is a third of the
// client's CPU (a loopback origin, 4 KiB bodies, 64 in flight: 25 µs a
// request here against 39 µs). Parsing and body framing stay net/http's
// own (Request.Write, http.ReadResponse); https and anything else go to
// the fallback, net/http's Transport, for TLS and HTTP/2.
//
// The engine bounds the requests in flight per host (hostSlots), so the
// connections per host stay within that bound too; up to maxIdle of a host
// are kept between requests.
type h1Transport struct {
	dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	fallback http.RoundTripper
	maxIdle  int
	idleFor  time.Duration // an idle connection older than this is closed, not reused

	mu   sync.Mutex
	idle map[string][]*h1Conn // by host:port, most recently used last
}

// h1Conn is one connection with its buffers.
type h1Conn struct {
	net.Conn
	in   *headLimit // what br reads from
	br   *bufio.Reader
	bw   *bufio.Writer
	addr string
	used time.Time // when it was last given back
}

// maxResponseHead bounds what a response's status line and headers may
// take, as net/http's MaxResponseHeaderBytes does, so a server cannot feed
// headers until the timeout.
const maxResponseHead = 1 << 20

var errHeadTooLong = errors.New("the response's header is over 1 MiB")

// headLimit reads from a connection at most left bytes while a response's
// head is read (left is lifted for its body).
type headLimit struct {
	conn net.Conn
	left int64
}

func (h *headLimit) Read(p []byte) (int, error) {
	if h.left <= 0 {
		return 0, errHeadTooLong
	}
	if int64(len(p)) > h.left {
		p = p[:h.left]
	}
	n, err := h.conn.Read(p)
	h.left -= int64(n)
	return n, err
}

func newH1Transport(dial func(ctx context.Context, network, addr string) (net.Conn, error), fallback http.RoundTripper, maxIdle int) *h1Transport {
	return &h1Transport{dial: dial, fallback: fallback, maxIdle: maxIdle, idleFor: 90 * time.Second, idle: map[string][]*h1Conn{}}
}

// RoundTrip sends req on an idle connection of its host, or a new one, and
// returns the response, whose body gives the connection back once it is
// read to its end (or closes it, if closed before). A request that fails
// on a reused connection before any byte of the answer came is sent again,
// on the next idle connection or a new one: the server may have closed
// the idle one. Each failure closes a connection, so this ends.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Method != http.MethodGet || req.Body != nil && req.Body != http.NoBody {
		return t.fallback.RoundTrip(req)
	}
	ctx := req.Context()
	addr := hostPort(req.URL.Host)
	for {
		c, reused := t.take(addr)
		if c == nil {
			conn, err := t.dial(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			c = &h1Conn{Conn: conn, in: &headLimit{conn: conn}, bw: bufio.NewWriterSize(conn, 4<<10), addr: addr}
			c.br = bufio.NewReaderSize(c.in, 32<<10)
		}
		resp, answered, err := t.exchange(ctx, c, req)
		if err == nil {
			return resp, nil
		}
		c.Close()
		if !reused || answered || ctx.Err() != nil {
			return nil, err
		}
	}
}

// exchange writes req on c and reads the response head; answered is
// whether any byte of an answer came.
func (t *h1Transport) exchange(ctx context.Context, c *h1Conn, req *http.Request) (resp *http.Response, answered bool, err error) {
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline) // zero: none
	// Canceling ctx ends a read or write under way at once.
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	fail := func(err error) (*http.Response, bool, error) {
		stop()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, answered, err
	}
	if err := req.Write(c.bw); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(err)
	}
	for {
		c.in.left = maxResponseHead
		if _, err := c.br.Peek(1); err != nil {
			return fail(err)
		}
		answered = true
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			return fail(err)
		}
		c.in.left = math.MaxInt64
		// An informational answer (103 Early Hints) comes before the real one.
		if resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		break
	}
	resp.Body = &h1Body{body: resp.Body, c: c, t: t, stop: stop, ctx: ctx,
		keep: !resp.Close && resp.ProtoAtLeast(1, 1)}
	return resp, true, nil
}

// h1Body is a response body: at its end it gives its connection back, if
// the connection can carry another request.
type h1Body struct {
	body io.ReadCloser
	c    *h1Conn
	t    *h1Transport
	stop func() bool
	ctx  context.Context
	keep bool
	done bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	switch {
	case err == io.EOF:
		b.finish(b.keep)
	case err != nil:
		b.finish(false)
		if b.ctx.Err() != nil {
			err = b.ctx.Err()
		}
	}
	return n, err
}

// Close before the end drops the connection: what is left of the body
// would have to be read first.
func (b *h1Body) Close() error {
	if !b.done {
		b.finish(false)
	}
	return nil
}

func (b *h1Body) finish(reuse bool) {
	b.done = true
	if !b.stop() {
		reuse = false // the cancel fired and may have set a past deadline
	}
	if reuse && b.c.br.Buffered() == 0 {
		b.c.SetDeadline(time.Time{})
		b.t.giveBack(b.c)
		return
	}
	b.c.Close()
}

// take returns an idle connection to addr (the most recently used, which
// the server is least likely to have closed), or nil.
func (t *h1Transport) take(addr string) (*h1Conn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for conns := t.idle[addr]; len(conns) > 0; conns = t.idle[addr] {
		c := conns[len(conns)-1]
		t.idle[addr] = conns[:len(conns)-1]
		if time.Since(c.used) < t.idleFor {
			return c, true
		}
		c.Close()
	}
	return nil, false
}

func (t *h1Transport) giveBack(c *h1Conn) {
	c.used = time.Now()
	t.mu.Lock()
	conns := t.idle[c.addr]
	if len(conns) >= t.maxIdle {
		t.mu.Unlock()
		c.Close()
		return
	}
	t.idle[c.addr] = append(conns, c)
	t.mu.Unlock()
}

// CloseIdleConnections closes the connections kept between requests, and
// the fallback's.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*h1Conn{}
	t.mu.Unlock()
	for _, conns := range idle {
		for _, c := range conns {
			c.Close()
		}
	}
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// hostPort is an http URL's host with its port (80 when it names none).
func hostPort(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	return net.JoinHostPort(host, "80")
}
