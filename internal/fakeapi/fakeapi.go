// Package fakeapi is an in-memory fake of the mediagate HTTP API for tests of
// its clients: the same routes, JSON shapes, problem bodies, validation and
// state changes as package api, with objects kept in memory and signed blob
// URLs served by the fake itself. It has no database, no rate limits, no
// credits and no real content sniffing (net/http's DetectContentType stands
// in for it).
//
// Tests start one with Start, make an account with NewAccount, and may inject
// failures into blob PUTs with SetBeforePut and inspect them with Puts.
package fakeapi

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/urlsign"
)

// Config holds the fake's limits; DefaultConfig gives the real server's.
type Config struct {
	UploadTTL     time.Duration
	MaxObjectSize int64
	MaxSinglePut  int64
	PartSize      int64
	MinPartSize   int64
	AllowedTypes  []string
	DownloadTTL   time.Duration
	MaxURLTTL     time.Duration
	TokenTTL      time.Duration
}

// DefaultConfig returns the defaults of `mediagate serve`.
func DefaultConfig() Config {
	return Config{
		UploadTTL:     time.Hour,
		MaxObjectSize: 50 << 30,
		MaxSinglePut:  5 << 30,
		PartSize:      16 << 20,
		MinPartSize:   5 << 20,
		AllowedTypes:  []string{"image/*", "audio/*", "video/*", "application/pdf", "text/*"},
		DownloadTTL:   15 * time.Minute,
		MaxURLTTL:     7 * 24 * time.Hour,
		TokenTTL:      12 * time.Hour,
	}
}

// Put records one PUT to a signed blob URL.
type Put struct {
	ObjectID string
	Part     int   // 0 for a single PUT
	Size     int64 // bytes stored; 0 if refused
	Status   int
}

// Server is a running fake.
type Server struct {
	*httptest.Server
	cfg    Config
	signer *urlsign.Signer

	mu        sync.Mutex
	beforePut func(objectID string, part int) error
	puts      []Put
	accounts  map[string]*account
	users     map[string]*user // by lower-case email
	keys      map[string]*key  // by secret
	tokens    map[string]*token
	objects   map[string]*object
	seq       int64
}

type account struct {
	id, name string
	created  time.Time
}

type user struct {
	id, accountID, email, password string
	created                        time.Time
}

type key struct {
	id, accountID, name, hint, secret string
	scopes                            []mediagate.Scope
	created                           time.Time
	lastUsed, revoked                 *time.Time
}

type token struct {
	userID, accountID string
	expires           time.Time
}

// Start runs a fake with cfg until the test ends.
func Start(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	var master [32]byte
	rand.Read(master[:])
	s := &Server{
		cfg:      cfg,
		signer:   urlsign.New(master[:], "fake"),
		accounts: map[string]*account{},
		users:    map[string]*user{},
		keys:     map[string]*key{},
		tokens:   map[string]*token{},
		objects:  map[string]*object{},
	}
	s.Server = httptest.NewServer(s.handler())
	tb.Cleanup(s.Close)
	return s
}

// NewAccount makes an account with an API key holding scopes (none: the
// scopes of a user) and returns the account's id and the key's secret.
func (s *Server) NewAccount(name string, scopes ...mediagate.Scope) (accountID, secret string) {
	if len(scopes) == 0 {
		scopes = mediagate.UserScopes
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := &account{id: mediagate.NewID(mediagate.PrefixAccount), name: name, created: now()}
	s.accounts[a.id] = a
	return a.id, s.newKey(a.id, "test", scopes).secret
}

// SetBeforePut sets a function called before each blob PUT is taken (part 0:
// a single PUT); if it returns an error, the PUT is refused with a 500
// problem before its body is read.
func (s *Server) SetBeforePut(fn func(objectID string, part int) error) {
	s.mu.Lock()
	s.beforePut = fn
	s.mu.Unlock()
}

// Puts returns the blob PUTs made so far, in the order they were answered.
func (s *Server) Puts() []Put {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.puts)
}

// ResetPuts forgets the PUTs made so far.
func (s *Server) ResetPuts() {
	s.mu.Lock()
	s.puts = nil
	s.mu.Unlock()
}

// Bytes returns the stored bytes of a ready object, or nil.
func (s *Server) Bytes(objectID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.objects[objectID]; o != nil && o.State == mediagate.StateReady {
		return slices.Clone(o.data)
	}
	return nil
}

// State returns the state of an object ("" if there is none).
func (s *Server) State(objectID string) mediagate.ObjectState {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.objects[objectID]; o != nil {
		return o.State
	}
	return ""
}

func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// The problem bodies of package api.

var statusOf = map[string]int{
	mediagate.EINVALID:      http.StatusBadRequest,
	mediagate.EUNAUTHORIZED: http.StatusUnauthorized,
	mediagate.EFORBIDDEN:    http.StatusForbidden,
	mediagate.ENOTFOUND:     http.StatusNotFound,
	mediagate.ECONFLICT:     http.StatusConflict,
	mediagate.EGONE:         http.StatusGone,
	mediagate.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	mediagate.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	mediagate.EMISMATCH:     http.StatusUnprocessableEntity,
	mediagate.EINTERNAL:     http.StatusInternalServerError,
	mediagate.EUNAVAILABLE:  http.StatusServiceUnavailable,
	"method_not_allowed":    http.StatusMethodNotAllowed,
}

func errorf(code, format string, args ...any) error { return mediagate.Errorf(code, format, args...) }

func writeError(w http.ResponseWriter, err error) {
	code := mediagate.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mediagate"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "urn:mediagate:problem:" + code, "title": http.StatusText(status), "status": status,
		"detail": mediagate.ErrorMessage(err), "code": code,
	})
}

func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body as package api does: JSON only, no unknown
// fields, no trailing data, an empty body as the zero value.
func decode[T any](r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return v, errorf(mediagate.EUNSUPPORTED, "request body must be application/json, not %q", ct)
		}
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return v, nil
		}
		return v, errorf(mediagate.EINVALID, "malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, errorf(mediagate.EINVALID, "request body has data after the JSON value")
	}
	return v, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
