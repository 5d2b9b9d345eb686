package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mediagate"
	"mediagate/client"
	"mediagate/internal/apitest"
)

// clientEnv is the real API, an account on it and the environment that
// points the client commands at it.
type clientEnv struct {
	srv *apitest.Server
	env map[string]string
}

func newClientEnv(t *testing.T) *clientEnv {
	t.Helper()
	srv := apitest.Start(t, apitest.WithMinPartSize(1<<10)) // small parts keep multipart tests quick
	return &clientEnv{srv: srv, env: map[string]string{"MEDIAGATE_SERVER": srv.URL, "MEDIAGATE_KEY": srv.Key}}
}

// run runs the mediagate command line and returns its stdout, its stderr
// and its error.
func (c *clientEnv) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return c.env[k] }, strings.NewReader(""), &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// mustRun is run for a command that must succeed.
func (c *clientEnv) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := c.run(t, args...)
	if err != nil {
		t.Fatalf("mediagate %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// textFile writes size bytes of text to dir/name.
func textFile(t *testing.T, dir, name string, size int) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s line %d\n", name, i)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes()[:size], 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()[:size]
}

func TestClientCommandsNeedAKey(t *testing.T) {
	c := newClientEnv(t)
	delete(c.env, "MEDIAGATE_KEY")
	for _, args := range [][]string{{"ls"}, {"rm", "obj_x"}, {"pin", "obj_x"}, {"download", "obj_x"}, {"upload", "f"}, {"keys", "ls"}} {
		_, _, err := c.run(t, args...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "MEDIAGATE_KEY") {
			t.Errorf("%v without a key: err=%v (exit %d), want a usage error naming MEDIAGATE_KEY", args, err, exitCode(err))
		}
	}
	if _, _, err := c.run(t, "ls", "--key", "mg_x", "--server", "ftp://host"); err == nil || exitCode(err) != 2 {
		t.Errorf("ls with an ftp server: err=%v, want a usage error", err)
	}
}

func TestServerErrorIsOneLine(t *testing.T) {
	c := newClientEnv(t)
	id := mediagate.NewID(mediagate.PrefixObject)
	// The server's problem body becomes "code: detail", on one line.
	_, _, err := c.run(t, "download", id)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Code != "not_found" || !strings.Contains(ce.Detail, id) || exitCode(err) != 1 {
		t.Fatalf("err=%v (exit %d), want not_found naming %s (exit 1)", err, exitCode(err), id)
	}
	if want := "not_found: " + ce.Detail; err.Error() != want || strings.Contains(want, "\n") {
		t.Fatalf("err=%q, want %q on one line", err, want)
	}
	c.env["MEDIAGATE_KEY"] = "mg_wrong"
	_, _, err = c.run(t, "ls")
	if !errors.As(err, &ce) || ce.Code != "unauthorized" || err.Error() != "unauthorized: "+ce.Detail || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err=%q, want unauthorized: … on one line", err)
	}
}

func TestUploadAndDownload(t *testing.T) {
	c := newClientEnv(t)
	dir := t.TempDir()
	small, smallData := textFile(t, dir, "small.txt", 3000)
	big, bigData := textFile(t, dir, "big.txt", 20<<10)

	out := c.mustRun(t, "upload", "--json", "--multipart-threshold", "8KiB", "--part-size", "4KiB", "--parallel", "2",
		"--state-dir", t.TempDir(), small, big)
	var objs []client.Object
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var o client.Object
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("output %q: %v", out, err)
		}
		objs = append(objs, o)
	}
	if len(objs) != 2 || objs[0].Filename != "small.txt" || objs[1].Filename != "big.txt" || objs[1].State != "ready" {
		t.Fatalf("upload printed %+v, want small.txt and big.txt ready", objs)
	}
	if got := apitest.PartsPut(c.srv.BlobPuts(), objs[0].ID); !slices.Equal(got, []int{0}) {
		t.Fatalf("small.txt: PUTs of parts %v, want one single PUT", got)
	}
	if got := apitest.PartsPut(c.srv.BlobPuts(), objs[1].ID); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("big.txt: PUTs of parts %v, want parts 1 to 5", got)
	}
	if n := len(c.srv.BlobPuts()); n != 1+5 {
		t.Fatalf("%d PUTs, want 1 for small.txt and 5 parts for big.txt", n)
	}
	if !bytes.Equal(c.srv.Bytes(t, objs[0].ID), smallData) || !bytes.Equal(c.srv.Bytes(t, objs[1].ID), bigData) {
		t.Fatal("the server does not hold the files' bytes")
	}

	out = c.mustRun(t, "upload", "--quiet", small)
	if f := strings.Fields(out); len(f) != 3 || !strings.HasPrefix(f[0], "obj_") || f[1] != "ready" || f[2] != small {
		t.Fatalf("upload printed %q, want \"ID ready PATH\"", out)
	}

	dest := t.TempDir()
	target := filepath.Join(dest, "copy.txt")
	if out := c.mustRun(t, "download", objs[1].ID, "-o", target); strings.TrimSpace(out) != target {
		t.Fatalf("download printed %q, want %q", out, target)
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, bigData) {
		t.Fatalf("downloaded %d bytes, want the %d uploaded", len(got), len(bigData))
	}
	_, _, err := c.run(t, "download", "-o", target, objs[0].ID)
	if err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("download over an existing file: err=%v, want a refusal naming --force", err)
	}
	c.mustRun(t, "download", "--force", "-o", target, objs[0].ID)
	if got, _ := os.ReadFile(target); !bytes.Equal(got, smallData) {
		t.Fatalf("after --force the file holds %d bytes, want small.txt's %d", len(got), len(smallData))
	}
	// A directory as -o gets the object's own name.
	c.mustRun(t, "download", objs[1].ID, "-o", dest)
	if got, _ := os.ReadFile(filepath.Join(dest, "big.txt")); !bytes.Equal(got, bigData) {
		t.Fatal("download into a directory did not write big.txt")
	}
	if out := c.mustRun(t, "download", objs[1].ID, "-o", "-"); out != string(bigData) {
		t.Fatalf("download -o - wrote %d bytes to stdout, want %d", len(out), len(bigData))
	}
	entries, _ := os.ReadDir(dest)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".part") {
			t.Fatalf("a temporary file %s was left behind", e.Name())
		}
	}
}

func TestDownloadToCurrentDirectory(t *testing.T) {
	c := newClientEnv(t)
	src, data := textFile(t, t.TempDir(), "notes.txt", 500)
	id := strings.Fields(c.mustRun(t, "upload", src))[0]
	t.Chdir(t.TempDir())
	if out := c.mustRun(t, "download", id); strings.TrimSpace(out) != "notes.txt" {
		t.Fatalf("download printed %q, want notes.txt", out)
	}
	if got, _ := os.ReadFile("notes.txt"); !bytes.Equal(got, data) {
		t.Fatal("notes.txt does not hold the uploaded bytes")
	}
}

func TestUploadResumes(t *testing.T) {
	c := newClientEnv(t)
	path, data := textFile(t, t.TempDir(), "big.txt", 6<<10)
	stateDir := t.TempDir()
	args := []string{"upload", "--multipart-threshold", "1KiB", "--part-size", "1KiB", "--parallel", "1", "--state-dir", stateDir, path}
	c.srv.SetBeforeBlobPut(apitest.FailPart(4, math.MaxInt, http.StatusInternalServerError))
	_, _, err := c.run(t, args...)
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "resumable") {
		t.Fatalf("first run: err=%v, want a resumable failure (exit 1)", err)
	}
	c.srv.SetBeforeBlobPut(nil)
	c.srv.ResetBlobPuts()
	id := strings.Fields(c.mustRun(t, args...))[0]
	var parts []int
	for _, p := range c.srv.BlobPuts() {
		parts = append(parts, p.Part)
	}
	if !slices.Equal(parts, []int{4, 5, 6}) {
		t.Fatalf("second run put parts %v, want [4 5 6]", parts)
	}
	if !bytes.Equal(c.srv.Bytes(t, id), data) {
		t.Fatal("the server does not hold the file")
	}
}

func TestLsPinRm(t *testing.T) {
	c := newClientEnv(t)
	dir := t.TempDir()
	var ids []string
	for i := range 3 {
		p, _ := textFile(t, dir, fmt.Sprintf("f%d.txt", i), 100)
		ids = append(ids, strings.Fields(c.mustRun(t, "upload", p))[0])
	}
	out := c.mustRun(t, "ls")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID") || !strings.HasPrefix(lines[1], ids[2]) || !strings.Contains(lines[1], "f2.txt") {
		t.Fatalf("ls printed:\n%s\nwant a header and the 3 objects, newest first", out)
	}

	if out := c.mustRun(t, "pin", ids[0], ids[1]); out != ids[0]+" pinned\n"+ids[1]+" pinned\n" {
		t.Fatalf("pin printed %q", out)
	}
	c.mustRun(t, "pin", "--off", ids[1])
	out = c.mustRun(t, "ls", "--pinned", "--json")
	var o client.Object
	if err := json.Unmarshal([]byte(out), &o); err != nil || o.ID != ids[0] || !o.Pinned {
		t.Fatalf("ls --pinned --json printed %q, want only %s", out, ids[0])
	}
	if out := c.mustRun(t, "ls", "--pinned=false", "--json"); strings.Count(out, "\n") != 2 || strings.Contains(out, ids[0]) {
		t.Fatalf("ls --pinned=false printed %q, want the 2 unpinned", out)
	}
	if out := c.mustRun(t, "ls", "--name", "F1", "--json"); strings.Count(out, "\n") != 1 || !strings.Contains(out, ids[1]) {
		t.Fatalf("ls --name F1 printed %q, want only %s", out, ids[1])
	}

	out, errOut, err := c.run(t, "ls", "--limit", "2")
	if err != nil || strings.Count(out, "\n") != 3 || !strings.Contains(errOut, "--cursor") {
		t.Fatalf("ls --limit 2: out=%q stderr=%q err=%v, want 2 objects and a hint about the next page", out, errOut, err)
	}
	f := strings.Fields(errOut)
	cursor := f[slices.Index(f, "--cursor")+1]
	if out := c.mustRun(t, "ls", "--limit", "2", "--cursor", cursor, "--json"); !strings.Contains(out, ids[0]) || strings.Count(out, "\n") != 1 {
		t.Fatalf("ls --cursor printed %q, want the oldest object", out)
	}
	if out := c.mustRun(t, "ls", "--limit", "1", "--all", "--json"); strings.Count(out, "\n") != 3 {
		t.Fatalf("ls --all printed %q, want all 3 objects", out)
	}

	missing := mediagate.NewID(mediagate.PrefixObject)
	out, errOut, err = c.run(t, "rm", ids[1], missing, ids[2])
	if err == nil || err.Error() != "rm: 1 of 3 failed" || exitCode(err) != 1 {
		t.Fatalf("rm with a missing id: err=%v, want \"rm: 1 of 3 failed\"", err)
	}
	if !strings.Contains(errOut, "mediagate: not_found: ") || out != ids[1]+" deleted\n"+ids[2]+" deleted\n" {
		t.Fatalf("rm printed %q and %q on stderr", out, errOut)
	}
	if out := c.mustRun(t, "ls", "--json"); strings.Count(out, "\n") != 1 || !strings.Contains(out, ids[0]) {
		t.Fatalf("ls after rm printed %q, want only %s", out, ids[0])
	}
	if out := c.mustRun(t, "ls", "--state", "deleted", "--json"); strings.Count(out, "\n") != 2 {
		t.Fatalf("ls --state deleted printed %q, want the 2 deleted", out)
	}
}

func TestKeys(t *testing.T) {
	c := newClientEnv(t)
	secret, errOut, err := c.run(t, "keys", "create", "ci", "--scope", "objects:read")
	secret = strings.TrimSpace(secret)
	if err != nil || !strings.HasPrefix(secret, "mg_") || !strings.Contains(errOut, "only this once") {
		t.Fatalf("keys create: secret=%q stderr=%q err=%v", secret, errOut, err)
	}
	out := c.mustRun(t, "keys", "ls")
	if !strings.Contains(out, "ci") || !strings.Contains(out, "objects:read") || strings.Contains(out, secret) {
		t.Fatalf("keys ls printed:\n%s\nwant the new key, without its secret", out)
	}
	var keys []client.Key
	for line := range strings.Lines(c.mustRun(t, "keys", "ls", "--json")) {
		var k client.Key
		if err := json.Unmarshal([]byte(line), &k); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	i := slices.IndexFunc(keys, func(k client.Key) bool { return k.Name == "ci" })
	if len(keys) != 2 || i < 0 {
		t.Fatalf("keys ls --json: %+v, want the test key and ci", keys)
	}

	reader := &clientEnv{srv: c.srv, env: map[string]string{"MEDIAGATE_SERVER": c.srv.URL, "MEDIAGATE_KEY": secret}}
	reader.mustRun(t, "ls")
	if _, _, err := reader.run(t, "rm", mediagate.NewID(mediagate.PrefixObject)); !client.IsCode(err, "forbidden") {
		t.Fatalf("rm with a read-only key: err=%v, want forbidden", err)
	}
	if out := c.mustRun(t, "keys", "revoke", keys[i].ID); out != keys[i].ID+" revoked\n" {
		t.Fatalf("keys revoke printed %q", out)
	}
	if _, _, err := reader.run(t, "ls"); !client.IsCode(err, "unauthorized") {
		t.Fatalf("ls with a revoked key: err=%v, want unauthorized", err)
	}
	if _, _, err := c.run(t, "keys", "rotate"); err == nil || exitCode(err) != 2 {
		t.Fatalf("keys rotate: err=%v, want a usage error", err)
	}
}

func TestSafeFilename(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"photo.jpg", "photo.jpg"},
		{"../../etc/passwd", "passwd"},
		{`..\..\boot.ini`, "boot.ini"},
		{"/abs/path/x.png", "x.png"},
		{"..", "fallback"},
		{".bashrc", "bashrc"},
		{"a\x00b\nc.txt", "abc.txt"},
		{"", "fallback"},
		{"   ", "fallback"},
	} {
		if got := safeFilename(tc.in, "fallback"); got != tc.want {
			t.Errorf("safeFilename(%q)=%q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantPos []string
		wantO   string
	}{
		{[]string{"ID", "-o", "f"}, []string{"ID"}, "f"},
		{[]string{"-o", "f", "A", "B"}, []string{"A", "B"}, "f"},
		{[]string{"A", "-o", "-", "B"}, []string{"A", "B"}, "-"},
		{[]string{"A", "--", "-o", "x"}, []string{"A", "-o", "x"}, ""},
	} {
		e := &env{getenv: func(string) string { return "" }, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
		fs := newFlagSet(e, "t", "")
		o := fs.String("o", "", "")
		pos, err := parseInterleaved(fs, tc.args)
		if err != nil || !slices.Equal(pos, tc.wantPos) || *o != tc.wantO {
			t.Errorf("parseInterleaved(%q)=%q, -o %q, %v; want %q, -o %q", tc.args, pos, *o, err, tc.wantPos, tc.wantO)
		}
	}
}
