package fetch

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// spyTransport records the requests it is given and answers 204.
type spyTransport struct{ urls []string }

func (s *spyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	s.urls = append(s.urls, req.URL.String())
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: req}, nil
}

func testH1(fallback http.RoundTripper) *h1Transport {
	var d net.Dialer
	return newH1Transport(d.DialContext, fallback, 4)
}

func get(t *testing.T, c *http.Client, url string) (string, *http.Response) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return string(b), resp
}

// TestH1ReusesConnections: sequential requests to one host ride one
// connection, in any body framing; a response that says Connection: close,
// or a body closed before its end, costs its connection and nothing else.
func TestH1ReusesConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
		case "/chunked":
			w.Write([]byte("chunk 1, "))
			w.(http.Flusher).Flush()
		case "/big":
			w.Write([]byte(strings.Repeat("x", 1<<20)))
			return
		}
		w.Write([]byte("body of " + r.URL.Path))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := &http.Client{Transport: testH1(&spyTransport{})}

	for i := range 20 {
		if b, _ := get(t, c, fmt.Sprintf("%s/f/%d", srv.URL, i)); b != fmt.Sprintf("body of /f/%d", i) {
			t.Fatalf("request %d: %q", i, b)
		}
	}
	if b, resp := get(t, c, srv.URL+"/chunked"); b != "chunk 1, body of /chunked" || resp.ContentLength != -1 {
		t.Fatalf("chunked: %q (length %d)", b, resp.ContentLength)
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("21 sequential requests used %d connections, want 1", n)
	}
	get(t, c, srv.URL+"/close")
	get(t, c, srv.URL+"/after-close")
	if n := conns.Load(); n != 2 {
		t.Fatalf("after a Connection: close answer: %d connections, want 2", n)
	}
	resp, err := c.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close() // before the end
	if b, _ := get(t, c, srv.URL+"/after-early-close"); b != "body of /after-early-close" {
		t.Fatalf("after a body closed early: %q", b)
	}
	if n := conns.Load(); n != 3 {
		t.Fatalf("after a body closed early: %d connections, want 3", n)
	}
}

// rawServer answers each connection with handle, on a listener of its own.
func rawServer(t *testing.T, handle func(n int, c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				handle(n, c, bufio.NewReader(c))
			})
		}
	})
	return "http://" + ln.Addr().String()
}

// TestH1RetriesStaleConnection: the server closes a kept connection right
// after an answer; the next request, written to it, fails before any byte
// of an answer, and is sent again on a new connection.
func TestH1RetriesStaleConnection(t *testing.T) {
	var served atomic.Int64
	url := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		served.Add(1)
		body := fmt.Sprintf("conn %d %s", n, req.URL.Path)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		// and close, without saying so
	})
	c := &http.Client{Transport: testH1(&spyTransport{})}
	for i, want := range []string{"conn 0 /a", "conn 1 /b", "conn 2 /c"} {
		if b, _ := get(t, c, url+want[7:]); b != want {
			t.Fatalf("request %d: %q, want %q", i, b, want)
		}
		time.Sleep(20 * time.Millisecond) // the close reaches the client
	}
	if served.Load() != 3 {
		t.Fatalf("%d requests served, want 3", served.Load())
	}
}

// TestH1Answers: an early-hints answer before the real one, an HTTP/1.0
// answer whose body ends with the connection, a header that never ends
// (cut at 1 MiB), and requests that are not plain http GETs (given to the
// fallback).
func TestH1Answers(t *testing.T) {
	url := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		switch req.URL.Path {
		case "/hints":
			io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"+
				"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
		case "/http10":
			io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\nuntil the end")
		case "/endless":
			io.WriteString(c, "HTTP/1.1 200 OK\r\n")
			filler := "X-Filler: " + strings.Repeat("a", 1000) + "\r\n"
			for range 4096 { // 4 MiB of header, or until the client hangs up
				if _, err := io.WriteString(c, filler); err != nil {
					return
				}
			}
		}
	})
	spy := &spyTransport{}
	c := &http.Client{Transport: testH1(spy)}
	if b, resp := get(t, c, url+"/hints"); b != "final" || resp.StatusCode != 200 {
		t.Fatalf("after early hints: %d %q", resp.StatusCode, b)
	}
	if b, _ := get(t, c, url+"/http10"); b != "until the end" {
		t.Fatalf("HTTP/1.0 answer: %q", b)
	}
	if _, err := c.Get(url + "/endless"); !errors.Is(err, errHeadTooLong) {
		t.Fatalf("a header without end: err=%v, want %v", err, errHeadTooLong)
	}
	if _, resp := get(t, c, "https://example.invalid/x"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("https: %d, not the fallback's answer", resp.StatusCode)
	}
	if resp, err := c.Post(url+"/post", "text/plain", strings.NewReader("x")); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %v, %v; want the fallback's answer", resp, err)
	}
	if len(spy.urls) != 2 {
		t.Fatalf("the fallback got %v, want the https GET and the POST", spy.urls)
	}
}

// TestH1Cancel: a canceled request ends at once with ctx's error, whether
// it waits for the answer or reads the body.
func TestH1Cancel(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url := rawServer(t, func(n int, c net.Conn, br *bufio.Reader) {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		if req.URL.Path == "/body" {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nten bytes.")
		}
		<-release
	})
	c := &http.Client{Transport: testH1(&spyTransport{})}
	for _, path := range []string{"/head", "/body"} {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		resp, err := c.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: err=%v, want context.Canceled", path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s: the cancel took %v", path, d)
		}
	}
}

func TestHostPort(t *testing.T) {
	for in, want := range map[string]string{"a.example": "a.example:80", "a.example:8080": "a.example:8080",
		"[::1]": "[::1]:80", "[::1]:81": "[::1]:81", "127.0.0.1": "127.0.0.1:80"} {
		if got := hostPort(in); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", in, got, want)
		}
	}
}
