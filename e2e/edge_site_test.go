package e2e

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/client"
)

// startEdgeSite starts `mediagate serve` on a new data directory and one
// edge per region, each with a key of its own made by `mediagate admin
// create-key` and a cache directory of its own.
func startEdgeSite(t *testing.T, regions ...string) *edgeSite {
	t.Helper()
	dir := t.TempDir()
	s := &edgeSite{dataDir: filepath.Join(dir, "data"), edges: map[string]*edgeNode{}}
	addr := freeAddr(t)
	s.origin = startProcess(t, "origin", nil, "serve", "--data", s.dataDir, "--listen", addr,
		"--allowed-types", "application/octet-stream", "--signup-credit", "0", "--sweep-interval", "1s", "--edge-lease-ttl", "1m",
		"--rate-read", "10000/1s,10000", "--rate-write", "10000/1s,10000", "--rate-account", "10000/1s,10000",
		"--rate-anonymous", "10000/1s,10000")
	s.origin.url = "http://" + addr
	waitReady(t, s.origin)
	// The output is copied from a pipe: it may come after /readyz answers.
	out := waitOutput(t, s.origin, regexp.MustCompile(`keep it safe\): \S+\n`))
	m := adminAccountRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the origin printed no admin account:\n%s", out)
	}
	rest := out[strings.Index(out, "keep it safe): ")+len("keep it safe): "):]
	s.c = &cluster{nodes: []*node{s.origin}, adminKey: strings.TrimSpace(rest[:strings.IndexByte(rest, '\n')]), dataDir: s.dataDir}
	for _, region := range regions {
		key, err := exec.Command(buildMediagate(t), "admin", "create-key", "--data", s.dataDir, m[1], "edge-"+region, "--scope", "edge").Output()
		if err != nil {
			t.Fatalf("admin create-key --scope edge: %v", err)
		}
		s.edges[region] = startEdge(t, "edge "+region, "edge", "--origin", s.origin.url, "--key", strings.TrimSpace(string(key)),
			"--cache-dir", filepath.Join(dir, "cache-"+region), "--cache-size", "1GiB", "--region", region,
			"--listen", freeAddr(t), "--lease-size", "3MiB", "--lease-idle", edgeLeaseIdle.String(),
			"--key-cache-ttl", edgeKeyCacheTTL.String(), "--feed-interval", edgeFeedEvery.String())
	}
	return s
}

// startEdge starts an edge with args and waits until it is ready and has
// said which edge it is.
func startEdge(t *testing.T, name string, args ...string) *edgeNode {
	t.Helper()
	e := &edgeNode{node: startProcess(t, name, nil, args...), args: args}
	for i, a := range args {
		if a == "--listen" {
			e.url = "http://" + args[i+1]
		}
	}
	waitReady(t, e.node)
	m := edgeServingRE.FindStringSubmatch(waitOutput(t, e.node, edgeServingRE))
	if m[3] != e.url {
		t.Fatalf("%s serves on %s, want %s", name, m[3], e.url)
	}
	e.id = m[1]
	return e
}

// waitOutput waits up to 10 s for nd's output to match re, and returns it.
func waitOutput(t *testing.T, nd *node, re *regexp.Regexp) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if out := nd.out.String(); re.MatchString(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed %q:\n%s", nd.name, re, nd.out.String())
		}
	}
}

// restart kills the edge with SIGKILL and starts it again with the same
// flags and cache directory.
func (e *edgeNode) restart(t *testing.T) *edgeNode {
	t.Helper()
	e.kill()
	again := startEdge(t, e.name+" (restarted)", e.args...)
	if again.id != e.id {
		t.Fatalf("the restarted edge is %s, want %s", again.id, e.id)
	}
	return again
}

// uploadBytes uploads data as an application/octet-stream object.
func uploadBytes(t *testing.T, token, base, name string, data []byte) *client.Object {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := client.New(base, token).UploadFile(t.Context(), path, client.UploadOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	if o.State != "ready" || o.Size != int64(len(data)) || o.SHA256 != sum(data) {
		t.Fatalf("uploaded %+v, want ready, %d bytes, sha256 %s", o, len(data), sum(data))
	}
	return o
}

// randomBytes is n bytes that sniff as application/octet-stream and that
// no other object has.
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'e', 'd', 'g', 'e'}).Read(b)
	copy(b, "\x00\x01edge-e2e\x00")
	return b
}

// mintURL asks the origin for a download URL of object id for a client of
// region.
func mintURL(t *testing.T, s *edgeSite, token, id, region string, expiresIn int64) apiv1.DownloadURLResponse {
	t.Helper()
	var u apiv1.DownloadURLResponse
	must(t, call(t, s.origin.url, "POST", "/v1/objects/"+id+"/url", token, apiv1.DownloadURLRequest{ExpiresIn: expiresIn, Region: region}, &u), 200)
	return u
}

// edgeURL mints a URL for region and checks that it points at that
// region's edge and cost nothing.
func edgeURL(t *testing.T, s *edgeSite, token, id, region string) string {
	t.Helper()
	u := mintURL(t, s, token, id, region, 600)
	e := s.edges[region]
	if u.Edge != e.id || !strings.HasPrefix(u.URL, e.url+"/blob/") || u.Charged != 0 {
		t.Fatalf("URL for region %s: edge %q, url %s, charged %d; want edge %s at %s, charged 0", region, u.Edge, u.URL, u.Charged, e.id, e.url)
	}
	return u.URL
}

// request sends one request with header pairs and reads the whole answer.
func request(t *testing.T, method, u string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp, body
}

// getFrom GETs u and fails unless it is a 200 with X-Cache cache and the
// body want.
func getFrom(t *testing.T, u, cache string, want []byte, headers ...string) {
	t.Helper()
	resp, body := request(t, "GET", u, headers...)
	if resp.StatusCode != 200 || resp.Header.Get("X-Cache") != cache || !bytes.Equal(body, want) {
		t.Fatalf("GET %s: status %d, X-Cache %q, %d bytes (equal: %v); want 200, %s, the %d bytes uploaded",
			u, resp.StatusCode, resp.Header.Get("X-Cache"), len(body), bytes.Equal(body, want), cache, len(want))
	}
}

// metric reads a counter or gauge without labels from base's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, body := request(t, "GET", base+"/metrics")
	if resp.StatusCode != 200 {
		t.Fatalf("%s/metrics: status %d", base, resp.StatusCode)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s/metrics: %q: %v", base, line, err)
			}
			return f
		}
	}
	t.Fatalf("%s/metrics has no %s", base, name)
	return 0
}

// settledBalance waits up to 15 s for the account to hold nothing (every
// lease closed and settled) and returns its balance.
func settledBalance(t *testing.T, s *edgeSite, token string) apiv1.AccountBalance {
	t.Helper()
	var bal apiv1.AccountBalance
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		must(t, call(t, s.origin.url, "GET", "/v1/account", token, nil, &bal), 200)
		if bal.Held == 0 {
			return bal
		}
		if time.Now().After(deadline) {
			t.Fatalf("the account still holds %d 15 s after its last download: leases not closed", bal.Held)
		}
	}
}

// leaseSettles returns what the account's ledger settled for edge leases,
// by lease id.
func leaseSettles(t *testing.T, s *edgeSite, token string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	cursor := ""
	for {
		var page apiv1.LedgerPage
		must(t, call(t, s.origin.url, "GET", "/v1/ledger?limit=1000&cursor="+url.QueryEscape(cursor), token, nil, &page), 200)
		for _, e := range page.Entries {
			if e.Kind == "settle" && e.Operation == "download" && strings.HasPrefix(e.Reference, mediagate.PrefixLease) {
				if _, dup := out[e.Reference]; dup {
					t.Fatalf("lease %s settled twice", e.Reference)
				}
				out[e.Reference] = e.Amount
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			return out
		}
	}
}

func total(m map[string]int64) (n int64) {
	for _, v := range m {
		n += v
	}
	return n
}

// edgeObjects are the objects of the serve scenario, kept for the later
// ones: a small one, a medium one and one over 3 MiB, owned by the account
// with the token.
type edgeObjects struct {
	token string
	ids   []string
	data  [][]byte
}
