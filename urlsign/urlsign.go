// Package urlsign signs and verifies the short-lived URLs through which bytes
// move: PUTs of uploads and parts, GETs of downloads. A URL carries its
// constraints (expiry, maximum size, content type, upload part, file name) in
// its query, and an HMAC-SHA256 over the method, the storage key and all of
// them, so none can be changed without the signature failing.
//
// Each serving node signs with its own key, derived from one master secret by
// HMAC: a node that knows only its own key can mint URLs only for itself.
package urlsign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mediagate"
)

// Query parameters of a signed URL.
const (
	paramExpires  = "X-Mg-Expires"
	paramMax      = "X-Mg-Max"
	paramType     = "X-Mg-Type"
	paramUpload   = "X-Mg-Upload"
	paramPart     = "X-Mg-Part"
	paramName     = "X-Mg-Name"
	paramAccount  = "X-Mg-Account"
	paramRange    = "X-Mg-Range"
	paramNode     = "X-Mg-Node"
	paramSig      = "X-Mg-Signature"
	signedVersion = "mg1"
)

// Grant is what a signed URL allows: one method on one storage key until
// Expires, within its constraints.
type Grant struct {
	Method      string // "GET" (also allows HEAD) or "PUT"
	Key         string // blob store key
	Expires     time.Time
	MaxSize     int64  // PUT: the most bytes the body may have
	ContentType string // PUT: the Content-Type the body must declare; GET: the type to answer with
	UploadID    string // PUT of a multipart part: the upload
	Part        int    // PUT of a multipart part: its number
	Filename    string // GET: for Content-Disposition
	AccountID   string // the account the bytes belong to
	Offset      int64  // GET: the first byte the URL serves
	Length      int64  // GET: how many bytes from Offset it serves; 0: the whole blob
}

// Signer signs and verifies Grants with the key of one node.
type Signer struct {
	node string
	key  []byte
	macs sync.Pool // of hash.Hash: HMAC-SHA256 keyed with key, reset before use
}

// NodeKey derives the signing key of node from the master secret.
func NodeKey(master []byte, node string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte("mediagate/urlsign/node/" + node))
	return m.Sum(nil)
}

// New returns a Signer for node with the key NodeKey(master, node).
func New(master []byte, node string) *Signer {
	return &Signer{node: node, key: NodeKey(master, node)}
}

// NewWithKey returns a Signer for node holding only that node's derived key,
// as an edge does.
func NewWithKey(node string, key []byte) *Signer {
	return &Signer{node: node, key: key}
}

// Node returns the node name the signer signs for.
func (s *Signer) Node() string { return s.node }

// Query returns the query string that grants g, signed.
func (s *Signer) Query(g Grant) string {
	q := grantValues(g, s.node)
	q.Set(paramSig, hex.EncodeToString(s.sign(g)))
	return q.Encode()
}

// URL returns base (scheme and host, optionally a path prefix) + "/blob/" + key
// + the signed query.
func (s *Signer) URL(base string, g Grant) string {
	return strings.TrimSuffix(base, "/") + "/blob/" + g.Key + "?" + s.Query(g)
}

// Verify checks that query grants method on key at now, and returns the grant.
// It answers EFORBIDDEN for a missing, malformed or altered signature, a URL
// for another node or another method, and an expired URL.
func (s *Signer) Verify(method, key string, query url.Values, now time.Time) (Grant, error) {
	return s.VerifyQuery(method, key, query.Encode(), now)
}

// VerifyQuery is Verify of a raw (still escaped) query, as a request
// carries it: it reads only the signed URL's parameters, with no map of
// them, since it runs for every download an edge serves.
func (s *Signer) VerifyQuery(method, key, rawQuery string, now time.Time) (Grant, error) {
	if method == "HEAD" {
		method = "GET"
	}
	q, err := parseParams(rawQuery)
	if err != nil {
		return Grant{}, err
	}
	g, err := parseGrant(method, key, q)
	if err != nil {
		return Grant{}, err
	}
	sig, err := hex.DecodeString(q.get(paramSig))
	if err != nil || len(sig) != sha256.Size {
		return Grant{}, mediagate.Errorf(mediagate.EFORBIDDEN, "missing or malformed URL signature")
	}
	if q.get(paramNode) != s.node {
		return Grant{}, mediagate.Errorf(mediagate.EFORBIDDEN, "URL was signed for another node")
	}
	if !hmac.Equal(sig, s.sign(g)) {
		return Grant{}, mediagate.Errorf(mediagate.EFORBIDDEN, "URL signature does not match")
	}
	if !now.Before(g.Expires) {
		return Grant{}, mediagate.Errorf(mediagate.EFORBIDDEN, "URL expired at %s", g.Expires.UTC().Format(time.RFC3339))
	}
	return g, nil
}

// params are the values of a signed URL's parameters, by their index in
// paramNames.
type params [len(paramNames)]string

var paramNames = [...]string{paramExpires, paramMax, paramType, paramUpload, paramPart, paramName, paramAccount, paramRange, paramNode, paramSig}

func (p *params) get(name string) string {
	for i, n := range paramNames {
		if n == name {
			return p[i]
		}
	}
	return ""
}

// parseParams reads the signed URL's parameters from a raw query; other
// parameters are skipped. A parameter given twice, or one that does not
// unescape, is EFORBIDDEN.
func parseParams(raw string) (*params, error) {
	var p params
	var seen [len(paramNames)]bool
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "X-Mg-") {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			var err error
			if k, err = url.QueryUnescape(k); err != nil || !strings.HasPrefix(k, "X-Mg-") {
				continue
			}
		}
		i := slices.Index(paramNames[:], k)
		if i < 0 {
			continue
		}
		if seen[i] {
			return nil, mediagate.Errorf(mediagate.EFORBIDDEN, "malformed signed URL: repeated %s", k)
		}
		seen[i] = true
		if strings.ContainsAny(v, "%+") {
			var err error
			if v, err = url.QueryUnescape(v); err != nil {
				return nil, mediagate.Errorf(mediagate.EFORBIDDEN, "malformed signed URL: %s does not unescape", k)
			}
		}
		p[i] = v
	}
	return &p, nil
}

func (s *Signer) sign(g Grant) []byte {
	m, _ := s.macs.Get().(hash.Hash)
	if m == nil {
		m = hmac.New(sha256.New, s.key)
	}
	defer s.macs.Put(m)
	m.Reset()
	// Every field is escaped and newline-terminated, so no two grants share a
	// canonical form.
	var buf [24]byte
	field := func(f string) {
		m.Write([]byte(url.QueryEscape(f)))
		m.Write([]byte{'\n'})
	}
	num := func(n int64) {
		m.Write(strconv.AppendInt(buf[:0], n, 10))
		m.Write([]byte{'\n'})
	}
	field(signedVersion)
	field(s.node)
	field(g.Method)
	field(g.Key)
	num(g.Expires.Unix())
	num(g.MaxSize)
	field(g.ContentType)
	field(g.UploadID)
	num(int64(g.Part))
	field(g.Filename)
	field(g.AccountID)
	num(g.Offset)
	num(g.Length)
	return m.Sum(nil)
}

func grantValues(g Grant, node string) url.Values {
	q := url.Values{}
	q.Set(paramExpires, strconv.FormatInt(g.Expires.Unix(), 10))
	q.Set(paramNode, node)
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	if g.MaxSize > 0 {
		q.Set(paramMax, strconv.FormatInt(g.MaxSize, 10))
	}
	if g.Part > 0 {
		q.Set(paramPart, strconv.Itoa(g.Part))
	}
	set(paramType, g.ContentType)
	set(paramUpload, g.UploadID)
	set(paramName, g.Filename)
	set(paramAccount, g.AccountID)
	if g.Length > 0 {
		q.Set(paramRange, strconv.FormatInt(g.Offset, 10)+"-"+strconv.FormatInt(g.Offset+g.Length-1, 10))
	}
	return q
}

func parseGrant(method, key string, q *params) (Grant, error) {
	bad := func(what string) (Grant, error) {
		return Grant{}, mediagate.Errorf(mediagate.EFORBIDDEN, "malformed signed URL: %s", what)
	}
	g := Grant{Method: method, Key: key, ContentType: q.get(paramType), UploadID: q.get(paramUpload),
		Filename: q.get(paramName), AccountID: q.get(paramAccount)}
	exp, err := strconv.ParseInt(q.get(paramExpires), 10, 64)
	if err != nil || exp <= 0 {
		return bad("expiry")
	}
	g.Expires = time.Unix(exp, 0)
	if v := q.get(paramMax); v != "" {
		if g.MaxSize, err = strconv.ParseInt(v, 10, 64); err != nil || g.MaxSize <= 0 {
			return bad("max size")
		}
	}
	if v := q.get(paramRange); v != "" {
		first, last, ok := strings.Cut(v, "-")
		a, err1 := strconv.ParseInt(first, 10, 64)
		b, err2 := strconv.ParseInt(last, 10, 64)
		if !ok || err1 != nil || err2 != nil || a < 0 || b < a {
			return bad("range")
		}
		g.Offset, g.Length = a, b-a+1
	}
	if v := q.get(paramPart); v != "" {
		if g.Part, err = strconv.Atoi(v); err != nil || g.Part <= 0 {
			return bad("part number")
		}
	}
	return g, nil
}
