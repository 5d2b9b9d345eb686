package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/apiv1"
	"mediagate/client"
	"mediagate/fetch"
	"mediagate/internal/apitest"
	"mediagate/worker"
)

// fetchOrigin serves /img/N.png (distinct PNGs), /dup/N.png (one PNG for
// all N), /text (not an image), /missing (404), and /slow/N.png, which
// waits until release is closed.
func fetchOrigin(t *testing.T) (url string, release func()) {
	t.Helper()
	gate := make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/img/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.PathValue("n"), "%d.png", &n)
		w.Write(apitest.PNG(n))
	})
	mux.HandleFunc("/dup/{n}", func(w http.ResponseWriter, r *http.Request) { w.Write(apitest.PNG(9999)) })
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain words, not an image\n") })
	mux.HandleFunc("/slow/{n}", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		w.Write(apitest.PNG(5000))
	})
	origin := httptest.NewServer(mux)
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(func() { release(); origin.Close() })
	return origin.URL, release
}

// newFetchServer is the API with the fetch service: workers built-in shard
// runners, shards of shardSize URLs.
func newFetchServer(t *testing.T, workers, shardSize int) *server {
	a := apitest.Start(t, apitest.WithFetches(workers, shardSize), apitest.WithConfig(func(c *api.Config) { c.TokenTTL = tokenTTL }))
	return &server{Server: a, store: a.Store, blobs: a.Blobs, clock: a.Clock, cfg: a.Config}
}

// waitFetch polls a fetch until it has finished (bounded) and returns it.
func (s *server) waitFetch(t *testing.T, token, id string) apiv1.Fetch {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		r := s.do(t, "GET", "/v1/fetches/"+id, token, nil)
		var f apiv1.Fetch
		r.json(t, &f)
		if r.StatusCode == http.StatusOK {
			return f
		}
		r.status(t, http.StatusAccepted)
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("a running fetch answered 202 without Retry-After")
		}
		if time.Now().After(deadline) {
			t.Fatalf("fetch %s still %s after 60 s: %+v", id, f.Status, f.Counts)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// account is GET /v1/account: the balance and what is held.
func (s *server) account(t *testing.T, token string) apiv1.AccountBalance {
	t.Helper()
	var b apiv1.AccountBalance
	s.do(t, "GET", "/v1/account", token, nil).status(t, 200).json(t, &b)
	return b
}

// manifestLine is one line of a fetch's manifest: a result, and the object
// its body was stored as.
type manifestLine struct {
	fetch.Result
	ObjectID string `json:"object_id"`
}

// manifest reads a fetch's manifest, by URL.
func (s *server) manifest(t *testing.T, id string) map[string]manifestLine {
	t.Helper()
	out := map[string]manifestLine{}
	sc := bufio.NewScanner(bytes.NewReader(s.Bytes(t, id)))
	for sc.Scan() {
		var r manifestLine
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("manifest line %q: %v", sc.Text(), err)
		}
		if _, twice := out[r.URL]; twice {
			t.Fatalf("manifest has %s twice", r.URL)
		}
		out[r.URL] = r
	}
	return out
}

func TestFetchService(t *testing.T) {
	s := newFetchServer(t, 1, 4)
	origin, _ := fetchOrigin(t)
	tok := s.Token
	before := s.account(t, tok)

	// Three URLs of the same bytes in one shard, ten distinct images, and
	// three that fail in three ways: 17 lines (a comment and a blank line
	// are not URLs), 16 URLs in 4 shards.
	urls := []string{origin + "/dup/1.png", origin + "/dup/2.png", origin + "/dup/3.png", "# a comment", ""}
	for i := range 10 {
		urls = append(urls, fmt.Sprintf("%s/img/%d.png", origin, i))
	}
	urls = append(urls, origin+"/missing", origin+"/text", "ftp://example.com/x.png")
	r := s.do(t, "POST", "/v1/fetches", tok, apiv1.SubmitFetchRequest{URLs: urls,
		Options: apiv1.FetchOptions{Types: []string{"image/*"}, MaxSize: 1 << 20, Retries: -1}}).status(t, http.StatusAccepted)
	var f apiv1.Fetch
	r.json(t, &f)
	if r.Header.Get("Location") != "/v1/fetches/"+f.ID || f.URLs != 16 || f.Shards != 4 || f.Status != "running" {
		t.Fatalf("submit answered Location %q and %+v", r.Header.Get("Location"), f)
	}
	if held := s.account(t, tok).Held - before.Held; held != 16*(100+1000) {
		t.Fatalf("held %d for 16 URLs of up to 1 MiB, want %d", held, 16*(100+1000))
	}

	f = s.waitFetch(t, tok, f.ID)
	want := apiv1.FetchCounts{Done: 16, OK: 11, Duplicates: 2, Errors: 3}
	if f.Status != "succeeded" || f.Counts.Done != want.Done || f.Counts.OK != want.OK || f.Counts.Duplicates != want.Duplicates ||
		f.Counts.Errors != want.Errors || f.Counts.ByKind["http"] != 1 || f.Counts.ByKind["type"] != 1 || f.Counts.ByKind["url"] != 1 {
		t.Fatalf("fetch finished %s with %+v, want %+v with one http, type and url error each", f.Status, f.Counts, want)
	}
	var bytesStored int64
	for i := range 10 {
		bytesStored += int64(len(apitest.PNG(i)))
	}
	bytesStored += int64(len(apitest.PNG(9999)))
	if f.Counts.Bytes != bytesStored {
		t.Fatalf("bytes %d, want %d", f.Counts.Bytes, bytesStored)
	}
	// Exactly what it stored is charged, each shard on its own; nothing
	// stays held.
	var charge int64
	for _, sh := range f.Shard {
		charge += (sh.Counts.OK+sh.Counts.Duplicates)*100 + mediagate.Cost(sh.Counts.Bytes, 1000, mediagate.MiB)
	}
	after := s.account(t, tok)
	if f.Charged != charge || before.Balance-after.Balance != charge || after.Held != before.Held {
		t.Fatalf("charged %d (balance %d → %d, held %d → %d), want %d and nothing held", f.Charged, before.Balance, after.Balance,
			before.Held, after.Held, charge)
	}
	for _, sh := range f.Shard {
		if sh.Status != "succeeded" {
			t.Fatalf("shard %d is %s", sh.N, sh.Status)
		}
	}

	// The manifest has every URL once; each stored one is an object of the
	// account with the origin's bytes.
	m := s.manifest(t, f.ManifestObjectID)
	if len(m) != 16 {
		t.Fatalf("manifest has %d URLs, want 16", len(m))
	}
	var page apiv1.ObjectPage
	s.do(t, "GET", "/v1/objects?type=image/", tok, nil).status(t, 200).json(t, &page)
	if len(page.Objects) != 11 {
		t.Fatalf("%d image objects, want 11", len(page.Objects))
	}
	for i := range 10 {
		res := m[fmt.Sprintf("%s/img/%d.png", origin, i)]
		if res.Status != fetch.StatusOK {
			t.Fatalf("img %d: %+v", i, res)
		}
		found := false
		for _, o := range page.Objects {
			if o.SHA256 == res.SHA256 {
				found = bytes.Equal(s.Bytes(t, o.ID), apitest.PNG(i)) && o.Filename == fmt.Sprintf("%d.png", i) && o.ContentType == "image/png"
			}
		}
		if !found {
			t.Fatalf("img %d has no object with its bytes, name and type", i)
		}
		if res.ObjectID == "" || !bytes.Equal(s.Bytes(t, res.ObjectID), apitest.PNG(i)) {
			t.Fatalf("img %d: the manifest names object %q, which does not hold its bytes", i, res.ObjectID)
		}
	}
	// Of the three URLs of the same bytes, whichever ended first stored
	// them; the other two name its key.
	var stored, dups []manifestLine
	for i := 1; i <= 3; i++ {
		switch r := m[fmt.Sprintf("%s/dup/%d.png", origin, i)]; r.Status {
		case fetch.StatusOK:
			stored = append(stored, r)
		case fetch.StatusDuplicate:
			dups = append(dups, r)
		}
	}
	if len(stored) != 1 || len(dups) != 2 || dups[0].Key != stored[0].Key || dups[1].Key != stored[0].Key ||
		stored[0].ObjectID == "" || dups[0].ObjectID != stored[0].ObjectID || dups[1].ObjectID != stored[0].ObjectID {
		t.Fatalf("manifest: the same bytes stored by %+v, duplicates %+v", stored, dups)
	}
	if m[origin+"/missing"].Kind != fetch.KindHTTP || m[origin+"/missing"].ObjectID != "" {
		t.Fatalf("manifest: missing %+v", m[origin+"/missing"])
	}

	// The events of a finished fetch: one finished event.
	ev := s.do(t, "GET", "/v1/fetches/"+f.ID+"/events", tok, nil).status(t, 200)
	if ct := ev.Header.Get("Content-Type"); ct != "text/event-stream" || !strings.HasPrefix(string(ev.body), "event: finished\ndata: {") {
		t.Fatalf("events %s: %q", ct, ev.body)
	}
	var list apiv1.FetchPage
	s.do(t, "GET", "/v1/fetches", tok, nil).status(t, 200).json(t, &list)
	if len(list.Fetches) != 1 || list.Fetches[0].ID != f.ID {
		t.Fatalf("list: %+v", list)
	}
	// Another account sees none of it.
	other := s.NewAccount(t, "other@example.com")
	s.do(t, "GET", "/v1/fetches/"+f.ID, other.Token, nil).problem(t, 404, mediagate.ENOTFOUND)
	s.do(t, "DELETE", "/v1/fetches/"+f.ID, other.Token, nil).problem(t, 404, mediagate.ENOTFOUND)
}

func TestFetchCancelAndEvents(t *testing.T) {
	s := newFetchServer(t, 1, 2)
	origin, release := fetchOrigin(t)
	defer release()
	tok := s.Token
	before := s.account(t, tok)
	// Six slow URLs in three shards, as a text/plain list.
	var list strings.Builder
	for i := range 6 {
		fmt.Fprintf(&list, "%s/slow/%d.png\n", origin, i)
	}
	r := s.do(t, "POST", "/v1/fetches?concurrency=1&max_size=65536", tok, []byte(list.String()), "Content-Type", "text/plain").status(t, 202)
	var f apiv1.Fetch
	r.json(t, &f)
	if f.Shards != 3 || f.Options.Concurrency != 1 || f.Options.MaxSize != 65536 {
		t.Fatalf("submitted %+v", f)
	}
	// The events stream shows it running; the cancel ends it.
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/v1/fetches/"+f.ID+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var events []string
	canceled := false
	for sc.Scan() {
		line := sc.Text()
		if e, ok := strings.CutPrefix(line, "event: "); ok {
			events = append(events, e)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok && !canceled {
			var ev apiv1.Fetch
			json.Unmarshal([]byte(data), &ev)
			if slices.ContainsFunc(ev.Shard, func(sh apiv1.FetchShard) bool { return sh.Status == "running" }) {
				s.do(t, "DELETE", "/v1/fetches/"+f.ID, tok, nil).status(t, 200)
				canceled = true
			}
		}
	}
	if !canceled || len(events) < 2 || events[0] != "progress" || events[len(events)-1] != "finished" {
		t.Fatalf("events %v (canceled %v)", events, canceled)
	}
	f = s.waitFetch(t, tok, f.ID)
	if f.Status != "canceled" || f.Counts.OK != 0 {
		t.Fatalf("after cancel: %s %+v", f.Status, f.Counts)
	}
	for _, sh := range f.Shard {
		if sh.Status != "canceled" {
			t.Fatalf("shard %d %s after cancel", sh.N, sh.Status)
		}
	}
	// Nothing was stored: nothing is charged, nothing stays held.
	if after := s.account(t, tok); after.Balance != before.Balance || after.Held != before.Held || f.Charged != 0 {
		t.Fatalf("balance %+v → %+v, charged %d", before, after, f.Charged)
	}
}

func TestFetchRefusals(t *testing.T) {
	s := newFetchServer(t, 0, 0)
	tok := s.Token
	for _, tc := range []struct {
		name   string
		body   any
		ct     string
		status int
		code   string
	}{
		{"no URLs", apiv1.SubmitFetchRequest{URLs: []string{"# only a comment"}}, "", 400, mediagate.EINVALID},
		{"nothing", apiv1.SubmitFetchRequest{}, "", 400, mediagate.EINVALID},
		{"both", apiv1.SubmitFetchRequest{URLs: []string{"https://example.com/a"}, ListObjectID: mediagate.NewID(mediagate.PrefixObject)}, "", 400, mediagate.EINVALID},
		{"unknown list", apiv1.SubmitFetchRequest{ListObjectID: mediagate.NewID(mediagate.PrefixObject)}, "", 404, mediagate.ENOTFOUND},
		{"line break", apiv1.SubmitFetchRequest{URLs: []string{"https://example.com/a\nhttps://example.com/b"}}, "", 400, mediagate.EINVALID},
		{"concurrency", apiv1.SubmitFetchRequest{URLs: []string{"https://example.com/a"}, Options: apiv1.FetchOptions{Concurrency: 1000}}, "", 400, mediagate.EINVALID},
		{"max size", apiv1.SubmitFetchRequest{URLs: []string{"https://example.com/a"}, Options: apiv1.FetchOptions{MaxSize: 1 << 50}}, "", 400, mediagate.EINVALID},
		{"type", apiv1.SubmitFetchRequest{URLs: []string{"https://example.com/a"}, Options: apiv1.FetchOptions{Types: []string{"image png"}}}, "", 400, mediagate.EINVALID},
		{"long line", []byte("https://example.com/" + strings.Repeat("a", 70<<10) + "\n"), "text/plain", 400, mediagate.EINVALID},
		{"bad query", []byte("https://example.com/a\n"), "text/plain?retries=x", 400, mediagate.EINVALID},
		{"form", []byte("urls=x"), "application/x-www-form-urlencoded", 415, mediagate.EUNSUPPORTED},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, ct := "/v1/fetches", tc.ct
			if c, q, ok := strings.Cut(tc.ct, "?"); ok {
				path, ct = path+"?"+q, c
			}
			var hdr []string
			if ct != "" {
				hdr = []string{"Content-Type", ct}
			}
			s.do(t, "POST", path, tok, tc.body, hdr...).problem(t, tc.status, tc.code)
		})
	}
	// Short credit: 402 with what it needs; nothing is held or stored.
	before := s.account(t, tok)
	urls := make([]string, 50)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://example.com/%d.png", i)
	}
	p := s.do(t, "POST", "/v1/fetches", tok, apiv1.SubmitFetchRequest{URLs: urls, Options: apiv1.FetchOptions{MaxSize: 1 << 30}}).
		problem(t, 402, mediagate.EPAYMENT)
	if p["needed"] != float64(50*(100+1024*1000)) {
		t.Fatalf("402 needed %v", p["needed"])
	}
	var objs apiv1.ObjectPage
	s.do(t, "GET", "/v1/objects", tok, nil).status(t, 200).json(t, &objs)
	var fl apiv1.FetchPage
	s.do(t, "GET", "/v1/fetches", tok, nil).status(t, 200).json(t, &fl)
	if after := s.account(t, tok); after != before || len(objs.Objects) != 0 || len(fl.Fetches) != 0 {
		t.Fatalf("a refused fetch left balance %+v → %+v, %d objects, %d fetches", before, after, len(objs.Objects), len(fl.Fetches))
	}
	// A user may not submit or lease shards as jobs.
	s.do(t, "POST", "/v1/jobs", tok, apiv1.SubmitJobRequest{Type: mediagate.FetchJobType, InputObjectID: mediagate.NewID(mediagate.PrefixObject)}).
		problem(t, 400, mediagate.EINVALID)
}

// TestFetchRemoteWorker runs every shard on a worker that reaches the
// server only through its API, as `mediagate worker --fetch` on another
// machine does.
func TestFetchRemoteWorker(t *testing.T) {
	s := newFetchServer(t, 0, 3)
	origin, _ := fetchOrigin(t)
	tok := s.Token
	before := s.account(t, tok)
	urls := []string{origin + "/dup/1.png", origin + "/dup/2.png", origin + "/missing"}
	for i := range 5 {
		urls = append(urls, fmt.Sprintf("%s/img/%d.png", origin, i))
	}
	var f apiv1.Fetch
	s.do(t, "POST", "/v1/fetches", tok, apiv1.SubmitFetchRequest{URLs: urls, Options: apiv1.FetchOptions{MaxSize: 1 << 20, Retries: -1}}).
		status(t, 202).json(t, &f)

	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- worker.Run(ctx, worker.Config{Client: client.New(s.URL, s.workerKey(t, tok)), WorkerID: "remote-1", Fetch: true,
			FetchPrivate: true, TempDir: t.TempDir(), Concurrency: 2})
	}()
	f = s.waitFetch(t, tok, f.ID)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.Status != "succeeded" || f.Counts.Done != 8 || f.Counts.OK != 6 || f.Counts.Duplicates != 1 || f.Counts.Errors != 1 {
		t.Fatalf("fetch %s %+v", f.Status, f.Counts)
	}
	var page apiv1.ObjectPage
	s.do(t, "GET", "/v1/objects?type=image/", tok, nil).status(t, 200).json(t, &page)
	if len(page.Objects) != 6 {
		t.Fatalf("%d image objects, want 6", len(page.Objects))
	}
	for _, o := range page.Objects {
		if o.State != "ready" {
			t.Fatalf("object %s is %s", o.ID, o.State)
		}
		got := s.Bytes(t, o.ID)
		if !bytes.Equal(got[:8], apitest.PNG(0)[:8]) || int64(len(got)) != o.Size {
			t.Fatalf("object %s holds %d bytes, not its PNG", o.ID, len(got))
		}
	}
	if len(s.manifest(t, f.ManifestObjectID)) != 8 {
		t.Fatal("the manifest lacks URLs")
	}
	after := s.account(t, tok)
	if before.Balance-after.Balance != f.Charged || f.Charged == 0 || after.Held != before.Held {
		t.Fatalf("charged %d, balance %d → %d, held %d → %d", f.Charged, before.Balance, after.Balance, before.Held, after.Held)
	}
}
