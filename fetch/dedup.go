package fetch

import (
	"encoding/hex"
	"hash/maphash"
	"net/url"
	"strings"
	"sync"
)

// urlSeed keys the URL hashes of a process; they are never stored.
var urlSeed = maphash.MakeSeed()

// hashURL is the 64-bit hash a URL is deduplicated by. A million URLs take
// 8 MB, not the URLs themselves; two URLs sharing a hash (about one chance
// in 10^7 among a million) would have the second skipped as seen.
func hashURL(normalized string) uint64 { return maphash.String(urlSeed, normalized) }

// normalize returns the form a URL (checked by safedial's CheckURL) is
// deduplicated and fetched by: host lower-cased, the default port dropped,
// an empty path made "/", the fragment dropped.
func normalize(in *url.URL) string {
	u := *in
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	u.Host = host
	if port != "" {
		u.Host += ":" + port
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// seenSet is a set of URL hashes, safe for concurrent use.
type seenSet struct {
	mu sync.Mutex
	m  map[uint64]struct{}
}

// add adds h and reports whether it was new.
func (s *seenSet) add(h uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[h]; ok {
		return false
	}
	s.m[h] = struct{}{}
	return true
}

// smallKey is the key a body stored whole by its hash is kept under.
func smallKey(sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return "sha256/" + h[:2] + "/" + h
}

// contentSet knows the SHA-256 of stored bodies and where they are. Bodies
// stored under their smallKey are kept as the hash alone (32 bytes each, not
// the key: a million take about 60 MB); the few streamed ones with their
// key. A body being stored is claimed first, so two workers with the same
// bytes at once store them once: the second waits for the first's outcome.
type contentSet struct {
	mu      sync.Mutex
	hashed  map[[32]byte]struct{} // stored under smallKey
	named   map[[32]byte]string   // stored under another key
	pending map[[32]byte]chan struct{}
}

func newContentSet() *contentSet {
	return &contentSet{hashed: map[[32]byte]struct{}{}, named: map[[32]byte]string{}, pending: map[[32]byte]chan struct{}{}}
}

// lookup returns the key sum is stored under; the caller holds mu.
func (c *contentSet) lookup(sum [32]byte) (string, bool) {
	if _, ok := c.hashed[sum]; ok {
		return smallKey(sum), true
	}
	k, ok := c.named[sum]
	return k, ok
}

// add records that sum is stored under key; the caller holds mu.
func (c *contentSet) add(sum [32]byte, key string) {
	if key == smallKey(sum) {
		c.hashed[sum] = struct{}{}
	} else {
		c.named[sum] = key
	}
}

// claim returns the key of sum if it is stored; otherwise, if no one is
// storing it, it claims it (ok true: the caller stores and then calls
// done); if someone is, it waits for them and looks again.
func (c *contentSet) claim(sum [32]byte) (key string, ok bool) {
	for {
		c.mu.Lock()
		if k, found := c.lookup(sum); found {
			c.mu.Unlock()
			return k, false
		}
		wait, busy := c.pending[sum]
		if !busy {
			c.pending[sum] = make(chan struct{})
			c.mu.Unlock()
			return "", true
		}
		c.mu.Unlock()
		<-wait
	}
}

// done ends a claim: key is where sum was stored, or "" if storing failed
// (the next claimant tries).
func (c *contentSet) done(sum [32]byte, key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key != "" {
		c.add(sum, key)
	}
	close(c.pending[sum])
	delete(c.pending, sum)
}

// lookupOrAdd records key for sum unless it has one, and returns the key
// the content is kept under (for bodies hashed while being stored).
func (c *contentSet) lookupOrAdd(sum [32]byte, key string) (first string, dup bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, found := c.lookup(sum); found {
		return k, true
	}
	c.add(sum, key)
	return key, false
}

// parseSum parses a hex SHA-256.
func parseSum(s string) ([32]byte, bool) {
	var sum [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(sum) {
		return sum, false
	}
	copy(sum[:], b)
	return sum, true
}
