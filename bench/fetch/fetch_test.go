package main

import (
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestContentDistinctAndRepeatable(t *testing.T) {
	a, b, c := make([]byte, 4096), make([]byte, 4096), make([]byte, 4096)
	content(a, "s", 7)
	content(b, "s", 7)
	content(c, "s", 8)
	if string(a) != string(b) {
		t.Fatalf("content(s, 7) differs between calls")
	}
	if string(a) == string(c) {
		t.Fatalf("content(s, 7) == content(s, 8)")
	}
	if !strings.HasPrefix(string(a), "mediagate-fetch-bench s 7\n") {
		t.Fatalf("header=%q", a[:30])
	}
}

func TestObjectPathParse(t *testing.T) {
	p := objectPath("s", 123456)
	if p != "/s/0123/s-0123456.bin" {
		t.Fatalf("objectPath=%q", p)
	}
	tag, i, ok := parseName(filepath.Base(p))
	if !ok || tag != "s" || i != 123456 {
		t.Fatalf("parseName=%q %d %v, want s 123456 true", tag, i, ok)
	}
	for _, bad := range []string{"s-123.bin", "s-0123456.bin.1", "s-0123456.bin.aria2", "S-0123456.bin"} {
		if _, _, ok := parseName(bad); ok {
			t.Fatalf("parseName(%q) ok, want not ours", bad)
		}
	}
}

// genFiles writes n objects of set s into dir the way a downloader that
// saves by base name would, and returns their expected hashes.
func genFiles(t *testing.T, dir string, n, size int) [][32]byte {
	t.Helper()
	want := make([][32]byte, n)
	buf := make([]byte, size)
	for i := range n {
		content(buf, "s", i)
		want[i] = sha256.Sum256(buf)
		if err := os.WriteFile(filepath.Join(dir, objectName("s", i)), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func TestVerifyFiles(t *testing.T) {
	dir := t.TempDir()
	want := genFiles(t, dir, 50, 256)
	r := record{Size: 256}
	if err := verifyFiles(&r, dir, "s", want, 100); err != nil {
		t.Fatal(err)
	}
	if !r.Verified || r.Files != 50 || r.SampleOK != 50 {
		t.Fatalf("intact: verified=%v files=%d sampleOK=%d (%s), want true 50 50", r.Verified, r.Files, r.SampleOK, r.Check)
	}

	// Same size, wrong bytes: only the hash can tell.
	other := make([]byte, 256)
	content(other, "s", 999)
	os.WriteFile(filepath.Join(dir, objectName("s", 3)), other, 0o644)
	r = record{Size: 256}
	verifyFiles(&r, dir, "s", want, 100)
	if r.Verified || r.SampleOK != 49 {
		t.Fatalf("corrupt: verified=%v sampleOK=%d (%s), want false 49", r.Verified, r.SampleOK, r.Check)
	}

	// A missing object and a leftover control file.
	os.WriteFile(filepath.Join(dir, objectName("s", 3)), want3(256), 0o644)
	os.Remove(filepath.Join(dir, objectName("s", 4)))
	os.WriteFile(filepath.Join(dir, objectName("s", 4)+".aria2"), nil, 0o644)
	r = record{Size: 256}
	verifyFiles(&r, dir, "s", want, 100)
	if r.Verified || r.Files != 49 {
		t.Fatalf("missing: verified=%v files=%d (%s), want false 49", r.Verified, r.Files, r.Check)
	}
}

func want3(size int) []byte {
	b := make([]byte, size)
	content(b, "s", 3)
	return b
}

func TestOriginHandler(t *testing.T) {
	srv := httptest.NewServer(originHandler("l", 10, 512, 30*time.Millisecond))
	defer srv.Close()
	start := time.Now()
	resp, err := http.Get(srv.URL + objectPath("l", 9))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took < 30*time.Millisecond {
		t.Fatalf("answered in %s, want >= the 30ms delay", took)
	}
	wantBody := make([]byte, 512)
	content(wantBody, "l", 9)
	if resp.StatusCode != 200 || string(body) != string(wantBody) {
		t.Fatalf("status=%d, body matches=%v; want 200 true", resp.StatusCode, string(body) == string(wantBody))
	}
	for _, p := range []string{objectPath("l", 10), objectPath("s", 1), "/l/0001/l-0000001.bin"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("GET %s: status=%d, want 404", p, resp.StatusCode)
		}
	}
}

func TestGenAndReport(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-tag", "s", "-count", "1500", "-size", "128", "-root", filepath.Join(dir, "root"),
		"-base", "http://127.0.0.1:1", "-urls", filepath.Join(dir, "u"), "-hashes", filepath.Join(dir, "h")}
	if err := runGen(context.Background(), args, io.Discard); err != nil {
		t.Fatal(err)
	}
	want, err := readHashes(filepath.Join(dir, "h"))
	if err != nil || len(want) != 1500 {
		t.Fatalf("hashes: %d, %v; want 1500", len(want), err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "root", objectPath("s", 1499)))
	if err != nil || sha256.Sum256(b) != want[1499] {
		t.Fatalf("file 1499: %v, hash matches=%v", err, err == nil && sha256.Sum256(b) == want[1499])
	}
	urls, _ := os.ReadFile(filepath.Join(dir, "u"))
	if lines := strings.Split(strings.TrimSpace(string(urls)), "\n"); len(lines) != 1500 || lines[1499] != "http://127.0.0.1:1/s/0001/s-0001499.bin" {
		t.Fatalf("urls: %d lines, last %q", len(lines), lines[len(lines)-1])
	}

	res := filepath.Join(dir, "r.jsonl")
	appendRecord(res, record{Kind: "disk", DiskMBs: 1000, DiskMethod: "test"})
	appendRecord(res, record{Kind: "tool", Case: "small", Tool: "wget2", Available: true, URLs: 100, Size: 4096, Files: 100, Bytes: 409600, WallS: 1, Verified: true})
	appendRecord(res, record{Kind: "tool", Case: "small", Tool: "mediagate", Available: true, URLs: 100, Size: 4096, Files: 100, Bytes: 409600, WallS: 0.5, MaxRSSKB: 100 << 10, Verified: true})
	appendRecord(res, record{Kind: "tool", Case: "big", Tool: "mediagate", Note: "this build has no fetch"})
	appendRecord(res, record{Kind: "tool", Case: "latency", Tool: "mediagate", Available: true, URLs: 100, Size: 4096, Files: 100, Bytes: 409600, WallS: 0.1, Conc: 64, DelayMs: 50, Verified: true})
	var out strings.Builder
	if err := runReport([]string{"-results", res, "-full-urls", "100"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"2.00× wget2 (200 vs 100 files/s) | ✓", "1000 files/s = 78% of 1280 | ✗", "mediagate fetch not available | ✗", "| mediagate | not available |"} {
		if !strings.Contains(out.String(), s) {
			t.Fatalf("report lacks %q:\n%s", s, out.String())
		}
	}
}

func TestPlaceholders(t *testing.T) {
	got := strings.Join(placeholders([]string{"/w/bin/mediagate", "fetch", "/w/list", "-o", "/w/out", "--results", "/w/out/r.ndjson"},
		map[string]string{"/w/list": "LIST", "/w/out": "DIR", "/w/out/r.ndjson": "RESULTS"}), " ")
	if want := "mediagate fetch LIST -o DIR --results RESULTS"; got != want {
		t.Fatalf("placeholders=%q, want %q", got, want)
	}
}
