package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path"
	"path/filepath"

	"mediagate/disk"
)

// verifyFiles checks a downloader that saves each URL under its base name
// (aria2c, wget2): every object's file is there with the right size, nothing
// else is (no partial or control files), and the bytes of a random sample of
// files are those of their URL.
func verifyFiles(r *record, dir, tag string, want [][32]byte, sample int) error {
	seen := make([]bool, len(want))
	var found, badSize, other int
	var picked []string // reservoir sample of good files
	rng := rand.New(rand.NewPCG(1, 2))
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		t, i, ok := parseName(d.Name())
		if !ok || t != tag || i >= len(want) || seen[i] || !d.Type().IsRegular() {
			other++
			return nil
		}
		seen[i] = true
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() != int64(r.Size) {
			badSize++
			return nil
		}
		found++
		r.Bytes += info.Size()
		if len(picked) < sample {
			picked = append(picked, p)
		} else if j := rng.IntN(found); j < sample {
			picked[j] = p
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.Files = found
	for _, p := range picked {
		_, i, _ := parseName(filepath.Base(p))
		sum, err := fileSHA256(p)
		if err != nil {
			return err
		}
		r.Sampled++
		if sum == want[i] {
			r.SampleOK++
		}
	}
	r.Verified = found == len(want) && badSize == 0 && other == 0 && r.SampleOK == r.Sampled && r.Sampled > 0
	r.Check = fmt.Sprintf("%d/%d files of %d B (%d wrong size, %d other files); %d/%d sampled files hold their URL's bytes",
		found, len(want), r.Size, badSize, other, r.SampleOK, r.Sampled)
	return nil
}

// verifyManifest checks mediagate fetch: its NDJSON results say "ok" for
// every URL with the URL's size and sha256, and its store (opened with
// mediagate's own disk package, since small objects live in pack segments,
// not files) holds every result's key at that size, and the bytes of a
// random sample of them are their URL's.
func verifyManifest(r *record, manifest, dir, tag string, want [][32]byte, sample int) error {
	f, err := os.Open(manifest)
	if err != nil {
		r.Check = fmt.Sprintf("no results file: %v", err)
		return nil
	}
	defer f.Close()
	seen := make([]bool, len(want))
	keys := make([]string, 0, len(want))
	idx := make([]int, 0, len(want))
	var lines int
	statuses := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines++
		var e struct {
			URL    string `json:"url"`
			Status string `json:"status"`
			Key    string `json:"key"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			statuses["unparsable"]++
			continue
		}
		statuses[e.Status]++
		u, err := url.Parse(e.URL)
		if err != nil {
			continue
		}
		t, i, good := parseName(path.Base(u.Path))
		if !good || t != tag || i >= len(want) || seen[i] {
			continue
		}
		seen[i] = true
		sum, err := hex.DecodeString(e.SHA256)
		if e.Status == "ok" && e.Size == int64(r.Size) && err == nil && string(sum) == string(want[i][:]) && e.Key != "" {
			keys = append(keys, e.Key)
			idx = append(idx, i)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	ok := len(keys)

	store, err := disk.Open(dir)
	if err != nil {
		r.Check = fmt.Sprintf("results: %d/%d ok; store: %v", ok, len(want), err)
		return nil
	}
	defer store.Close()
	ctx := context.Background()
	var stored int
	for _, k := range keys {
		if bi, err := store.Stat(ctx, k); err == nil && bi.Size == int64(r.Size) {
			stored++
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, j := range rng.Perm(len(keys))[:min(sample, len(keys))] {
		r.Sampled++
		rc, _, err := store.Open(ctx, keys[j])
		if err != nil {
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err == nil && string(h.Sum(nil)) == string(want[idx[j]][:]) {
			r.SampleOK++
		}
	}
	r.Files = stored
	r.Bytes = int64(stored) * int64(r.Size)
	r.Verified = ok == len(want) && stored == len(want) && r.SampleOK == r.Sampled && r.Sampled > 0
	r.Check = fmt.Sprintf("results: %d lines, %d/%d ok with the URL's size and sha256 (statuses %v); %d/%d keys in the store at that size; %d/%d sampled read back with their URL's bytes",
		lines, ok, len(want), statuses, stored, len(want), r.SampleOK, r.Sampled)
	return nil
}

func fileSHA256(p string) ([32]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}
