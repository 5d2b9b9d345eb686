package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate/apiv1"
	"mediagate/client"
)

// TestCluster runs three nodes on one PostgreSQL database, one Redis and
// one MinIO bucket, and checks that they behave as one service.
func TestCluster(t *testing.T) {
	c := startCluster(t, 3, "--signup-credit", "0",
		// High enough never to refuse the debits below; the rate-limit
		// case gives its key a tight limit of its own.
		"--rate-read", "10000/1s,10000", "--rate-write", "10000/1s,10000", "--rate-account", "10000/1s,10000")
	t.Run("UploadAcrossNodes", func(t *testing.T) { testUploadAcrossNodes(t, c) })
	t.Run("MultipartThroughClient", func(t *testing.T) { testMultipartThroughClient(t, c) })
	t.Run("GlobalRateLimit", func(t *testing.T) { testGlobalRateLimit(t, c) })
	t.Run("DebitsAcrossNodes", func(t *testing.T) { testDebitsAcrossNodes(t, c) })
	t.Run("LeaseFailover", func(t *testing.T) { testLeaseFailover(t, c) }) // last: it kills a node
}

// upload declares png on node n, PUTs it where the node says, completes it
// on node n+1 and returns the object.
func upload(t *testing.T, c *cluster, n int, token string) apiv1.Object {
	t.Helper()
	var up apiv1.CreateUploadResponse
	must(t, call(t, c.nodes[n%3].url, "POST", "/v1/uploads", token,
		apiv1.CreateUploadRequest{Filename: "dot.png", ContentType: "image/png", Size: int64(len(png)), SHA256: sum(png)}, &up), 201)
	if up.Upload == nil || !strings.HasPrefix(up.Upload.URL, minio.Endpoint+"/") {
		t.Fatalf("upload instruction %+v: want a URL pre-signed for MinIO at %s", up.Upload, minio.Endpoint)
	}
	req, err := http.NewRequest(up.Upload.Method, up.Upload.URL, bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Upload.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT to MinIO: %d %s", resp.StatusCode, body)
	}
	var o apiv1.Object
	must(t, call(t, c.nodes[(n+1)%3].url, "POST", "/v1/uploads/"+up.Object.ID+"/complete", token, nil, &o), 200)
	if o.State != "ready" || o.SHA256 != sum(png) || o.ContentType != "image/png" {
		t.Fatalf("completed object %+v", o)
	}
	return o
}

// testUploadAcrossNodes: created on one node, completed on another,
// downloaded through a third.
func testUploadAcrossNodes(t *testing.T, c *cluster) {
	token, _ := c.signup(t, 0, 1_000_000)
	o := upload(t, c, 0, token)
	var u apiv1.DownloadURLResponse
	must(t, call(t, c.nodes[2].url, "POST", "/v1/objects/"+o.ID+"/url", token, apiv1.DownloadURLRequest{}, &u), 200)
	resp, err := http.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, png) {
		t.Fatalf("download from %s: %d, %d bytes; want the %d uploaded", u.URL, resp.StatusCode, len(got), len(png))
	}
	// A range URL is served by a node, which gives only the range.
	must(t, call(t, c.nodes[1].url, "POST", "/v1/objects/"+o.ID+"/url", token, apiv1.DownloadURLRequest{Range: "bytes=1-3"}, &u), 200)
	resp, err = http.Get(u.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(got, png[1:4]) {
		t.Fatalf("range download: %d %q, want %q", resp.StatusCode, got, png[1:4])
	}
}

// testMultipartThroughClient: the Go client uploads a file in parts
// straight to MinIO through one node and downloads it through another.
func testMultipartThroughClient(t *testing.T, c *cluster) {
	token, _ := c.signup(t, 1, 1_000_000)
	data := bytes.Repeat([]byte("mediagate multipart over S3\n"), 11<<20/28) // ~11 MiB: three parts of 5 MiB
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := client.New(c.nodes[1].url, token).UploadFile(t.Context(), path,
		client.UploadOptions{MultipartThreshold: 1 << 20, PartSize: 5 << 20, ContentType: "text/plain"})
	if err != nil {
		t.Fatalf("UploadFile: %v", err)
	}
	if o.State != "ready" || o.Size != int64(len(data)) || o.SHA256 != sum(data) {
		t.Fatalf("uploaded %+v, want ready, %d bytes, sha256 %s", o, len(data), sum(data))
	}
	var got bytes.Buffer
	if _, err := client.New(c.nodes[2].url, token).Download(t.Context(), o.ID, &got); err != nil {
		t.Fatalf("Download: %v", err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("downloaded %d bytes that differ from the %d uploaded", got.Len(), len(data))
	}
}

// testGlobalRateLimit: a key limited to 10 requests a minute gets 10, not
// 30, from three nodes together; the limit is exact (one GCRA state in
// Redis), so the only tolerance is what refills while the test runs.
func testGlobalRateLimit(t *testing.T, c *cluster) {
	token, _ := c.signup(t, 1, 0)
	var k apiv1.Key
	must(t, call(t, c.nodes[1].url, "POST", "/v1/keys", token,
		apiv1.CreateKeyRequest{Name: "limited", RateLimit: &apiv1.RateLimit{Rate: 10, PeriodSeconds: 60, Burst: 10}}, &k), 201)
	const requests = 60
	var mu sync.Mutex
	status := map[int]int{}
	retryAfter := 0
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := w; i < requests; i += 6 {
				resp := call(t, c.nodes[i%3].url, "GET", "/v1/objects", k.Secret, nil, nil)
				mu.Lock()
				status[resp.StatusCode]++
				if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
					retryAfter++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	refilled := int(elapsed / (6 * time.Second)) // one request every 6 s
	t.Logf("%d requests over 3 nodes in %v: %v", requests, elapsed.Round(time.Millisecond), status)
	if ok := status[200]; ok < 10 || ok > 10+refilled {
		t.Fatalf("admitted %d, want 10 (+%d refilled)", ok, refilled)
	}
	if status[200]+status[429] != requests || retryAfter != status[429] {
		t.Fatalf("answers %v, %d 429s with Retry-After: want only 200 and 429, every 429 with Retry-After", status, retryAfter)
	}
}

// testDebitsAcrossNodes: an account with credit for exactly 25 downloads
// asks for 60 download URLs through three nodes at once: 25 are served and
// charged, 35 get 402, and the ledger sums to the balance.
func testDebitsAcrossNodes(t *testing.T, c *cluster) {
	// The upload costs 1 micro-credit (68 bytes at 1,000 per MiB, rounded
	// up) and each download URL 1 (at 2,000 per MiB).
	token, _ := c.signup(t, 2, 26)
	o := upload(t, c, 2, token)
	var mu sync.Mutex
	status := map[int]int{}
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			for i := range 5 {
				resp := call(t, c.nodes[(w+i)%3].url, "POST", "/v1/objects/"+o.ID+"/url", token, apiv1.DownloadURLRequest{}, nil)
				mu.Lock()
				status[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if status[200] != 25 || status[402] != 35 {
		t.Fatalf("answers %v, want 25 × 200 and 35 × 402", status)
	}
	var acct apiv1.AccountBalance
	must(t, call(t, c.nodes[0].url, "GET", "/v1/account", token, nil, &acct), 200)
	if acct.Balance != 0 || acct.Held != 0 {
		t.Fatalf("account after: balance %d held %d, want 0 and 0", acct.Balance, acct.Held)
	}
	// The ledger explains the balance: credits − settles.
	var sum int64
	seen := map[string]bool{}
	for cursor := ""; ; {
		var page apiv1.LedgerPage
		must(t, call(t, c.nodes[1].url, "GET", "/v1/ledger?limit=50&cursor="+cursor, token, nil, &page), 200)
		for _, e := range page.Entries {
			switch e.Kind {
			case "credit":
				sum += e.Amount
			case "settle":
				sum -= e.Amount
				if e.Reference != "" && seen[e.Operation+e.Reference] {
					t.Fatalf("%s %s settled twice", e.Operation, e.Reference)
				}
				seen[e.Operation+e.Reference] = true
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if sum != acct.Balance {
		t.Fatalf("ledger sums to %d, balance is %d", sum, acct.Balance)
	}
}

// testLeaseFailover: the background duties run on one node; killing it
// moves them to another within a few seconds (the stated bound is 10 s: the
// lease is a PostgreSQL advisory lock that the server drops with the dead
// node's session, and the others try for it every second).
func testLeaseFailover(t *testing.T, c *cluster) {
	const leading = "this node now runs the background duties"
	var leader *node
	for _, nd := range c.nodes {
		if strings.Contains(nd.out.String(), leading) {
			if leader != nil {
				t.Fatalf("%s and %s both lead", leader.name, nd.name)
			}
			leader = nd
		}
	}
	if leader == nil {
		t.Fatal("no node leads the background duties")
	}
	killed := time.Now()
	leader.kill()
	deadline := killed.Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, nd := range c.nodes {
			if nd != leader && strings.Contains(nd.out.String(), leading) {
				t.Logf("%s killed; %s took over after %v", leader.name, nd.name, time.Since(killed).Round(time.Millisecond))
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no node took the lease within 10s of %s being killed", leader.name)
}
