package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// The edge flags of the tests: short enough that leases close, deletions
// arrive and revocations bite within a few seconds.
const (
	edgeLeaseIdle   = 2 * time.Second
	edgeKeyCacheTTL = 2 * time.Second
	edgeFeedEvery   = 500 * time.Millisecond
)

// downloadPrice is the default download_per_mib the origin runs with.
var downloadPrice = mediagate.DefaultPrices().DownloadPerMiB

// edgeNode is one `mediagate edge` process, with its id and the arguments
// to start it again.
type edgeNode struct {
	*node
	id   string
	args []string
}

// edgeSite is an origin on SQLite and local disk and its edges by region.
type edgeSite struct {
	c       *cluster // the origin alone, for signup and its admin key
	origin  *node
	dataDir string
	edges   map[string]*edgeNode
	served  edgeObjects // uploaded by Serve, used by the later cases
}

// TestEdge runs an origin and two edges (regions eu and us) and checks
// serving, deletion, exact metering, refusals, and an edge killed -9
// mid-response.
func TestEdge(t *testing.T) {
	s := startEdgeSite(t, "eu", "us")
	t.Run("Serve", func(t *testing.T) { testEdgeServe(t, s) })
	t.Run("Deletion", func(t *testing.T) { testEdgeDeletion(t, s) })
	t.Run("Refusals", func(t *testing.T) { testEdgeRefusals(t, s) })
	t.Run("ExactCredit", func(t *testing.T) { testEdgeExactCredit(t, s) })
	t.Run("KillMidStream", func(t *testing.T) { testEdgeKillMidStream(t, s) }) // it restarts the eu edge
	t.Run("OriginDown", func(t *testing.T) { testEdgeOriginDown(t, s) })       // last: it kills the origin
}

// testEdgeOriginDown: with the origin gone, an edge still serves what it
// has cached (stale if error: nothing cached needs revalidating) from the
// lease it holds, and answers a miss 503 with a problem body.
func testEdgeOriginDown(t *testing.T, s *edgeSite) {
	served := s.served
	if served.token == "" {
		t.Skip("needs the objects of Serve")
	}
	cached := edgeURL(t, s, served.token, served.ids[1], "us") // ids[0] was deleted
	fresh := uploadBytes(t, served.token, s.origin.url, "never-fetched.bin", randomBytes(2048, 99))
	missed := edgeURL(t, s, served.token, fresh.ID, "us")
	getFrom(t, cached, "HIT", served.data[1]) // and draws a lease while the origin is up
	s.origin.kill()
	getFrom(t, cached, "HIT", served.data[1])
	resp, body := request(t, "GET", missed)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Fatalf("a miss with the origin down: status %d, %s %q; want 503 and a problem", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

var (
	adminAccountRE = regexp.MustCompile(`created the admin account (acct_\w+)\.`)
	edgeServingRE  = regexp.MustCompile(`mediagate: edge (key_\w+) of region (\S+) serving on (\S+)`)
)

// testEdgeServe: through each edge, a first GET misses and a second hits,
// with the uploaded bytes; Range, HEAD and If-None-Match work; the us URL
// goes to the us edge and an unknown region to the origin (charged at
// mint); every body byte of a 200 or 206 is charged once the leases close.
func testEdgeServe(t *testing.T, s *edgeSite) {
	token, _ := s.c.signup(t, 0, 100_000_000)
	served := &s.served
	*served = edgeObjects{token: token}
	for i, n := range []int{1000, 200 << 10, 3<<20 + 12345} {
		data := randomBytes(n, uint64(i))
		served.ids = append(served.ids, uploadBytes(t, token, s.origin.url, fmt.Sprintf("obj%d.bin", i), data).ID)
		served.data = append(served.data, data)
	}
	var bodyBytes int64 // charged ones: 200 and 206 bodies through an edge
	for _, region := range []string{"eu", "us"} {
		for i, id := range served.ids {
			data := served.data[i]
			u := edgeURL(t, s, token, id, region)
			getFrom(t, u, "MISS", data)
			getFrom(t, u, "HIT", data)
			bodyBytes += 2 * int64(len(data))

			resp, body := request(t, "GET", u, "Range", "bytes=100-899")
			if resp.StatusCode != 206 || !bytes.Equal(body, data[100:900]) ||
				resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 100-899/%d", len(data)) {
				t.Fatalf("%s range 100-899: status %d, Content-Range %q, %d bytes (equal: %v); want 206 and bytes 100-899",
					region, resp.StatusCode, resp.Header.Get("Content-Range"), len(body), bytes.Equal(body, data[100:900]))
			}
			bodyBytes += int64(len(body))

			resp, _ = request(t, "HEAD", u)
			etag := resp.Header.Get("ETag")
			if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) || etag != `"`+sum(data)+`"` || resp.Header.Get("X-Cache") != "HIT" {
				t.Fatalf("%s HEAD: status %d, Content-Length %d, ETag %s, X-Cache %q; want 200, %d, the SHA-256, HIT",
					region, resp.StatusCode, resp.ContentLength, etag, resp.Header.Get("X-Cache"), len(data))
			}
			if resp, _ = request(t, "GET", u, "If-None-Match", etag); resp.StatusCode != 304 {
				t.Fatalf("%s If-None-Match %s: status %d, want 304", region, etag, resp.StatusCode)
			}
		}
	}
	// Per object: one miss; then a GET, a range, a HEAD and a 304 from the cache.
	for _, e := range s.edges {
		n := float64(len(served.ids))
		if hits, misses := metric(t, e.url, "mediagate_edge_hits_total"), metric(t, e.url, "mediagate_edge_misses_total"); hits != 4*n || misses != n {
			t.Fatalf("%s /metrics: hits %v, misses %v; want %v and %v", e.name, hits, misses, 4*n, n)
		}
	}
	// A region with no edge: a URL of the origin, charged when minted.
	u := mintURL(t, s, token, served.ids[1], "ap", 600)
	if want := mediagate.Cost(int64(len(served.data[1])), downloadPrice, mediagate.MiB); u.Edge != "" ||
		!strings.HasPrefix(u.URL, s.origin.url+"/blob/") || u.Charged != want {
		t.Fatalf("URL for region ap (no edge): edge %q, url %s, charged %d; want the origin's URL, charged %d", u.Edge, u.URL, u.Charged, want)
	}
	if resp, body := request(t, "GET", u.URL); resp.StatusCode != 200 || !bytes.Equal(body, served.data[1]) {
		t.Fatalf("GET of the origin URL: status %d, %d bytes; want 200 and the object", resp.StatusCode, len(body))
	}

	// Each lease is charged Cost(its bytes), rounded up once per lease:
	// together between Cost(all the bytes) and that plus one micro-credit
	// per lease but one.
	settledBalance(t, s, token)
	settles := leaseSettles(t, s, token)
	low := mediagate.Cost(bodyBytes, downloadPrice, mediagate.MiB)
	if got := total(settles); len(settles) == 0 || got < low || got > low+int64(len(settles))-1 {
		t.Fatalf("edge leases settled %d in %d leases for %d body bytes; want %d to %d", got, len(settles), bodyBytes, low, low+int64(len(settles))-1)
	}
	t.Logf("%d body bytes through the edges, charged %d in %d leases", bodyBytes, total(settles), len(settles))
}

// testEdgeDeletion: an object deleted at the origin stops being served by
// both edges, which had it cached, within 5 s (the feed polled every
// 500 ms), through URLs still unexpired.
func testEdgeDeletion(t *testing.T, s *edgeSite) {
	served := s.served
	if served.token == "" {
		t.Skip("needs the objects of Serve")
	}
	id, data := served.ids[0], served.data[0]
	urls := map[string]string{}
	for region := range s.edges {
		urls[region] = edgeURL(t, s, served.token, id, region)
		getFrom(t, urls[region], "HIT", data)
	}
	must(t, call(t, s.origin.url, "DELETE", "/v1/objects/"+id, served.token, nil, nil), 204)
	deleted := time.Now()
	for region, u := range urls {
		for {
			resp, _ := request(t, "GET", u)
			if resp.StatusCode == 404 {
				break
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%s edge after the delete: status %d, want 200 (not yet told) or 404", region, resp.StatusCode)
			}
			if time.Since(deleted) > 5*time.Second {
				t.Fatalf("%s edge still serves the deleted object 5 s after the delete", region)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("%s edge answers 404 %v after the delete", region, time.Since(deleted).Round(time.Millisecond))
	}
	// Removed by the feed, not found missing on a fill.
	for _, e := range s.edges {
		if n := metric(t, e.url, "mediagate_edge_cache_deletes_total"); n < 1 {
			t.Fatalf("%s deleted %v cached objects, want ≥ 1", e.name, n)
		}
	}
}

// testEdgeRefusals: a tampered URL, an expired one, and one signed for the
// other edge are 403; a user's API key reads through the edge until it is
// revoked at the origin, then is refused within the edge's key cache TTL.
func testEdgeRefusals(t *testing.T, s *edgeSite) {
	served := s.served
	if served.token == "" {
		t.Skip("needs the objects of Serve")
	}
	id, data := served.ids[1], served.data[1]
	eu, us := s.edges["eu"], s.edges["us"]
	good := edgeURL(t, s, served.token, id, "eu")
	requery := func(change func(url.Values)) string {
		u, err := url.Parse(good)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		change(q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	// The query re-encoded as it is still serves: what the others change
	// is what is refused.
	getFrom(t, requery(func(url.Values) {}), "HIT", data)
	for name, u := range map[string]string{
		"a later X-Mg-Expires": requery(func(q url.Values) {
			exp, _ := strconv.ParseInt(q.Get("X-Mg-Expires"), 10, 64)
			q.Set("X-Mg-Expires", strconv.FormatInt(exp+3600, 10))
		}),
		"another X-Mg-Account": requery(func(q url.Values) { q.Set("X-Mg-Account", "acct_someoneelse000000000000000") }),
		"another X-Mg-Node":    requery(func(q url.Values) { q.Set("X-Mg-Node", "edge/"+us.id) }),
		"the us edge's host":   strings.Replace(good, eu.url, us.url, 1),
		"the origin's host":    strings.Replace(good, eu.url, s.origin.url, 1),
	} {
		if resp, _ := request(t, "GET", u); resp.StatusCode != 403 {
			t.Errorf("eu URL with %s: status %d, want 403", name, resp.StatusCode)
		}
	}

	short := mintURL(t, s, served.token, id, "eu", 1)
	getFrom(t, short.URL, "HIT", data)
	time.Sleep(time.Until(short.ExpiresAt) + 100*time.Millisecond)
	if resp, _ := request(t, "GET", short.URL); resp.StatusCode != 403 {
		t.Errorf("eu URL after its expiry at %s: status %d, want 403", short.ExpiresAt.Format(time.RFC3339), resp.StatusCode)
	}

	content := eu.url + "/v1/objects/" + id + "/content"
	if resp, _ := request(t, "GET", content); resp.StatusCode != 401 {
		t.Errorf("content with no credential: status %d, want 401", resp.StatusCode)
	}
	if resp, _ := request(t, "GET", content, "Authorization", "Bearer mg_notakey"); resp.StatusCode != 401 {
		t.Errorf("content with a made-up key: status %d, want 401", resp.StatusCode)
	}
	var key apiv1.Key
	must(t, call(t, s.origin.url, "POST", "/v1/keys", served.token, apiv1.CreateKeyRequest{Name: "edge reader"}, &key), 201)
	getFrom(t, content, "HIT", data, "Authorization", "Bearer "+key.Secret)
	must(t, call(t, s.origin.url, "DELETE", "/v1/keys/"+key.ID, served.token, nil, nil), 204)
	revoked := time.Now()
	bound := edgeKeyCacheTTL + time.Second // the TTL, and a round trip to the origin
	for {
		resp, _ := request(t, "GET", content, "Authorization", "Bearer "+key.Secret)
		if resp.StatusCode == 401 {
			break
		}
		if resp.StatusCode != 200 {
			t.Fatalf("content with the revoked key: status %d, want 200 (trusted still) or 401", resp.StatusCode)
		}
		if time.Since(revoked) > bound {
			t.Fatalf("the edge still takes a key %v after it was revoked; its key cache TTL is %v", time.Since(revoked), edgeKeyCacheTTL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the revoked key is refused by the edge %v after the revoke (key cache TTL %v)", time.Since(revoked).Round(time.Millisecond), edgeKeyCacheTTL)
}

// testEdgeExactCredit: an account with credit for exactly 8 MiB of
// downloads after its upload gets exactly 8 MiB from the two edges
// together, then 402 from both; once the leases close it has 0 left, and
// its edge leases settled 8 MiB's price.
func testEdgeExactCredit(t *testing.T, s *edgeSite) {
	const n = 8
	data := randomBytes(mediagate.MiB, 100)
	upload := mediagate.Cost(mediagate.MiB, mediagate.DefaultPrices().UploadPerMiB, mediagate.MiB)
	token, _ := s.c.signup(t, 0, upload+n*downloadPrice)
	o := uploadBytes(t, token, s.origin.url, "meter.bin", data)
	var bal apiv1.AccountBalance
	must(t, call(t, s.origin.url, "GET", "/v1/account", token, nil, &bal), 200)
	if bal.Available != n*downloadPrice || bal.Held != 0 {
		t.Fatalf("after the upload: available %d, held %d; want %d and 0", bal.Available, bal.Held, n*downloadPrice)
	}
	paid := mediagate.LeaseBytes(bal.Available, downloadPrice, 1<<40)
	if paid != n*mediagate.MiB {
		t.Fatalf("%d micro-credits pay for %d bytes, want %d", bal.Available, paid, n*mediagate.MiB)
	}

	var got int64
	refused := map[string]bool{}
	perEdge := map[string]int{}
	for i := 0; !refused["eu"] || !refused["us"]; i++ {
		if i >= 4*n {
			t.Fatalf("after %d downloads (%d bytes), refused by %v; want both edges to answer 402", i, got, refused)
		}
		region := []string{"eu", "us"}[i%2]
		resp, body := request(t, "GET", edgeURL(t, s, token, o.ID, region))
		switch resp.StatusCode {
		case 200:
			if !bytes.Equal(body, data) {
				t.Fatalf("download %d from %s: %d bytes that differ from the object", i, region, len(body))
			}
			got += int64(len(body))
			perEdge[region]++
		case 402:
			refused[region] = true
		default:
			t.Fatalf("download %d from %s: status %d, want 200 or 402", i, region, resp.StatusCode)
		}
	}
	if got != paid {
		t.Fatalf("the edges served %d bytes (%v downloads) for credit that pays %d", got, perEdge, paid)
	}
	bal = settledBalance(t, s, token)
	if bal.Balance != 0 || bal.Available != 0 {
		t.Fatalf("after the leases closed: balance %d, available %d; want 0 and 0", bal.Balance, bal.Available)
	}
	settles := leaseSettles(t, s, token)
	if want := mediagate.Cost(got, downloadPrice, mediagate.MiB); total(settles) != want {
		t.Fatalf("edge leases settled %d (%v), want %d for %d bytes", total(settles), settles, want, got)
	}
	t.Logf("%d bytes served (%v downloads of 1 MiB), %d leases settled %d", got, perEdge, len(settles), total(settles))
}

// testEdgeKillMidStream: the eu edge is killed -9 while a slow client
// reads a 64 MiB object; restarted on its cache directory, it closes the
// dead process's lease charged what its book counted: at least every byte
// the client received, at most those plus the unsent rest of one 1 MiB
// chunk (and, before the client drained the socket, the bytes the kernel
// buffers held). Its cache still serves what it held, verified.
func testEdgeKillMidStream(t *testing.T, s *edgeSite) {
	const size = 64 << 20
	data := randomBytes(size, 200)
	token, _ := s.c.signup(t, 0, 10_000_000)
	o := uploadBytes(t, token, s.origin.url, "big.bin", data)
	eu := s.edges["eu"]
	u := edgeURL(t, s, token, o.ID, "eu")

	// The client's receive buffer is fixed (no autotuning), so what is
	// sent but not yet read at the kill is bounded: twice rcvBuf (Linux
	// doubles SO_RCVBUF) in the client's socket, at most tcp_wmem's maximum
	// in the edge's send buffer (autotuning stops there), and 256 KiB for
	// the client's 4 KiB bufio.Reader and the one segment each queue may
	// take beyond its limit.
	const rcvBuf = 128 << 10
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBuf) }); err != nil {
			return err
		}
		return serr
	}}
	tr := &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != size {
		t.Fatalf("GET of the 64 MiB object: status %d, Content-Length %d", resp.StatusCode, resp.ContentLength)
	}
	const first = 4 << 20
	head := make([]byte, first)
	if _, err := io.ReadFull(resp.Body, head); err != nil || !bytes.Equal(head, data[:first]) {
		t.Fatalf("the first 4 MiB: %v (equal: %v)", err, bytes.Equal(head, data[:first]))
	}
	time.Sleep(500 * time.Millisecond) // the client stalls: the buffers fill and the edge blocks mid-chunk
	eu.kill()
	// What the edge wrote before it died still arrives, then the end.
	rest, drainErr := io.ReadAll(resp.Body)
	received := int64(first + len(rest))
	if !bytes.Equal(rest, data[first:received]) || received >= size {
		t.Fatalf("after the kill the client got %d more bytes (of %d) that differ or complete the object", len(rest), size)
	}
	cleanEnd := errors.Is(drainErr, io.ErrUnexpectedEOF)

	eu = eu.restart(t)
	s.edges["eu"] = eu
	bal := settledBalance(t, s, token)
	settles := leaseSettles(t, s, token)
	if len(settles) != 1 {
		t.Fatalf("the account's leases settled: %v; want the one of the killed response", settles)
	}
	var lease string
	for id := range settles {
		lease = id
	}
	charged := settles[lease]
	// The restarted edge logs what the book counted for each lease it closes.
	const closed = "a lease of an earlier run is closed with what it counted"
	out := waitOutput(t, eu.node, regexp.MustCompile(`"msg":"`+closed+`".*"lease":"`+lease+`"`))
	metered := int64(-1)
	for line := range strings.Lines(out) {
		var l struct {
			Msg, Lease string
			Metered    int64
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == closed && l.Lease == lease {
			metered = l.Metered
		}
	}
	if metered < 0 {
		t.Fatalf("the restarted edge logged no metered count for lease %s", lease)
	}
	if want := mediagate.Cost(metered, downloadPrice, mediagate.MiB); charged != want {
		t.Fatalf("lease %s settled %d, want %d for the %d bytes the book counted", lease, charged, want, metered)
	}
	uploadCost := mediagate.Cost(size, mediagate.DefaultPrices().UploadPerMiB, mediagate.MiB)
	if want := 10_000_000 - uploadCost - charged; bal.Balance != want {
		t.Fatalf("balance %d, want %d: charged the upload and the lease only", bal.Balance, want)
	}
	slack := 2*rcvBuf + tcpWmemMax(t) + 256<<10
	if metered < received || metered > first+mediagate.MiB+slack {
		t.Fatalf("charged for %d bytes; the client received %d (%d before the kill); want between %d and %d",
			metered, received, first, received, first+mediagate.MiB+slack)
	}
	if cleanEnd && metered > received+mediagate.MiB {
		t.Fatalf("charged for %d bytes; the client received %d, all the edge sent; want at most one 1 MiB chunk more", metered, received)
	}
	t.Logf("kill -9 mid-response: received %d bytes before the kill, %d in all (drain: %v); charged for %d (%d over, %d micro-credits)",
		first, received, drainErr, metered, metered-received, charged)

	// The restarted edge serves its cache as it was, verified.
	if fills := metric(t, eu.url, "mediagate_edge_cache_fills_total"); fills != 0 {
		t.Fatalf("the restarted edge filled %v objects before any request", fills)
	}
	if served := s.served; served.token != "" { // the objects of Serve that Deletion left
		for i, id := range served.ids[1:] {
			getFrom(t, edgeURL(t, s, served.token, id, "eu"), "HIT", served.data[i+1])
		}
	}
	resp2, body := request(t, "GET", edgeURL(t, s, token, o.ID, "eu"))
	if resp2.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("the 64 MiB object after the restart: status %d, X-Cache %q, %d bytes (equal: %v)",
			resp2.StatusCode, resp2.Header.Get("X-Cache"), len(body), bytes.Equal(body, data))
	}
	if n := metric(t, eu.url, "mediagate_edge_cache_corrupt_total"); n != 0 {
		t.Fatalf("the restarted edge found %v corrupt cached files", n)
	}
	t.Logf("after the restart the 64 MiB object is a %s", resp2.Header.Get("X-Cache"))
}

// tcpWmemMax is the largest send buffer TCP autotuning gives a socket.
func tcpWmemMax(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_wmem")
	f := strings.Fields(string(b))
	if err != nil || len(f) != 3 {
		t.Fatalf("read tcp_wmem: %v %q", err, b)
	}
	n, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
