package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mediagate/apiv1"
	"mediagate/client"
	"mediagate/internal/apitest"
)

// TestFetchServiceOnCluster: `mediagate fetch --server` submits a list to
// one node of two sharing PostgreSQL, Redis and MinIO and follows it; its
// shards are run by the nodes' built-in workers and by `mediagate worker
// --fetch`, a separate process that reaches the cluster only through the
// API and puts bodies into MinIO through pre-signed PUTs. Every image ends
// up an object with the origin's bytes, the manifest has every URL once,
// and the account is charged what the shards stored.
func TestFetchServiceOnCluster(t *testing.T) {
	const n = 1200
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var i int
		if _, err := fmt.Sscanf(r.URL.Path, "/img/%d.png", &i); err != nil {
			http.NotFound(w, r)
			return
		}
		time.Sleep(2 * time.Millisecond) // so that shards overlap
		w.Write(apitest.PNG(i))
	}))
	defer origin.Close()
	c := startCluster(t, 2, "--fetch-private", "--fetch-workers", "1", "--fetch-shard-size", "150")
	token, _ := c.signup(t, 0, 100_000_000)
	var before apiv1.AccountBalance
	must(t, call(t, c.nodes[1].url, "GET", "/v1/account", token, nil, &before), 200)

	var wk apiv1.Key
	must(t, call(t, c.nodes[0].url, "POST", "/v1/keys", c.adminKey, apiv1.CreateKeyRequest{Name: "fetcher", Scopes: []string{"worker"}}, &wk), 201)
	remote := startProcess(t, "fetch worker", []string{"MEDIAGATE_SERVER=" + c.nodes[1].url, "MEDIAGATE_KEY=" + wk.Secret},
		"worker", "--fetch", "--fetch-private", "--concurrency", "2")

	dir := t.TempDir()
	var list strings.Builder
	for i := range n {
		fmt.Fprintf(&list, "%s/img/%d.png\n", origin.URL, i)
	}
	fmt.Fprintf(&list, "%s/missing\n", origin.URL)
	listPath := filepath.Join(dir, "urls.txt")
	os.WriteFile(listPath, []byte(list.String()), 0o644)
	cmd := exec.Command(buildMediagate(t), "fetch", "--server", c.nodes[0].url, "--key", token, "--max-size", "64KiB", "--retries", "0", listPath)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("mediagate fetch --server: %v\n%s", err, out.String())
		}
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("mediagate fetch --server did not finish in 3 min:\n%s", out.String())
	}
	summary := out.String()
	if !strings.Contains(summary, fmt.Sprintf("%d URLs in", n+1)) || !strings.Contains(summary, fmt.Sprintf("%d stored", n)) ||
		!strings.Contains(summary, "http 1") || !strings.Contains(summary, "succeeded") {
		t.Fatalf("the CLI's summary:\n%s", summary)
	}

	user := client.New(c.nodes[1].url, token)
	ctx := t.Context()
	var page apiv1.FetchPage
	must(t, call(t, c.nodes[1].url, "GET", "/v1/fetches", token, nil, &page), 200)
	if len(page.Fetches) != 1 {
		t.Fatalf("%d fetches", len(page.Fetches))
	}
	f := page.Fetches[0]
	if f.Status != "succeeded" || f.Shards != 9 || f.Counts.OK != n || f.Counts.Errors != 1 {
		t.Fatalf("fetch %s, %d shards, %+v", f.Status, f.Shards, f.Counts)
	}
	// What the shards stored is charged, nothing more, and nothing stays
	// held (before the downloads below, which are charged too).
	var acct apiv1.AccountBalance
	must(t, call(t, c.nodes[1].url, "GET", "/v1/account", token, nil, &acct), 200)
	if acct.Balance != before.Balance-f.Charged || acct.Held != 0 || f.Charged < n*100 {
		t.Fatalf("balance %d held %d after a fetch charged %d", acct.Balance, acct.Held, f.Charged)
	}
	// Both kinds of runner took shards.
	ranOnNodes := strings.Count(c.nodes[0].out.String()+c.nodes[1].out.String(), "fetch shard started")
	ranRemote := strings.Count(remote.out.String(), "fetch shard done")
	if ranOnNodes == 0 || ranRemote == 0 || ranOnNodes+ranRemote < 9 {
		t.Fatalf("shards run: %d by the nodes, %d by the remote worker; want some by each, 9 in all", ranOnNodes, ranRemote)
	}
	// The manifest has every URL once, and each stored image is an object
	// holding the origin's bytes.
	var manifest bytes.Buffer
	if _, err := user.Download(ctx, f.ManifestObjectID, &manifest); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(manifest.String(), "\n"); lines != n+1 {
		t.Fatalf("the manifest has %d lines, want %d", lines, n+1)
	}
	seen := 0
	for cursor := ""; ; {
		var objs apiv1.ObjectPage
		must(t, call(t, c.nodes[0].url, "GET", "/v1/objects?type=image/&limit=1000&cursor="+cursor, token, nil, &objs), 200)
		for _, o := range objs.Objects {
			seen++
			if seen%100 != 1 {
				continue // every 100th is read back
			}
			var i int
			fmt.Sscanf(o.Filename, "%d.png", &i)
			var b bytes.Buffer
			if _, err := user.Download(ctx, o.ID, &b); err != nil || !bytes.Equal(b.Bytes(), apitest.PNG(i)) {
				t.Fatalf("object %s (%s): %v, %d bytes unlike the origin's", o.ID, o.Filename, err, b.Len())
			}
		}
		if cursor = objs.NextCursor; cursor == "" {
			break
		}
	}
	if seen != n {
		t.Fatalf("%d image objects, want %d", seen, n)
	}
}
