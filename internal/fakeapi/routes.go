package fakeapi

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"mediagate"
)

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	anyone, read, write := s.require(""), s.require(mediagate.ScopeObjectsRead), s.require(mediagate.ScopeObjectsWrite)
	h := func(f func(http.ResponseWriter, *http.Request)) http.Handler { return http.HandlerFunc(f) }
	for pattern, handler := range map[string]http.Handler{
		"POST /v1/auth/signup": h(s.signup),
		"POST /v1/auth/login":  h(s.login),

		"POST /v1/keys":        anyone(h(s.createKey)),
		"GET /v1/keys":         anyone(h(s.listKeys)),
		"DELETE /v1/keys/{id}": anyone(h(s.revokeKey)),

		"POST /v1/uploads":               write(h(s.createUpload)),
		"POST /v1/uploads/{id}/parts":    write(h(s.signParts)),
		"GET /v1/uploads/{id}/parts":     write(h(s.listParts)),
		"POST /v1/uploads/{id}/complete": write(h(s.complete)),
		"DELETE /v1/uploads/{id}":        write(h(s.abort)),

		"GET /v1/objects":              read(h(s.listObjects)),
		"GET /v1/objects/{id}":         read(h(s.getObject)),
		"DELETE /v1/objects/{id}":      write(h(s.deleteObject)),
		"POST /v1/objects/{id}/pin":    write(h(s.pin(true))),
		"DELETE /v1/objects/{id}/pin":  write(h(s.pin(false))),
		"POST /v1/objects/{id}/url":    read(h(s.downloadURL)),
		"GET /v1/objects/{id}/content": read(h(s.content)),

		"PUT /blob/{key...}": h(s.blobPut),
		"GET /blob/{key...}": h(s.blobGet),
	} {
		mux.Handle(pattern, handler)
	}
	// The mux's own 404 and 405 become problem bodies, as in package api.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", rec.header.Get("Allow"))
			writeError(w, errorf("method_not_allowed", "%s is not allowed on %s", r.Method, r.URL.Path))
			return
		}
		writeError(w, errorf(mediagate.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	})
}

type statusRecorder struct {
	header http.Header
	status int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(status int)      { s.status = status }

// principal is who calls.
type principal struct {
	accountID string
	scopes    []mediagate.Scope
}

type principalKey struct{}

func principalOf(r *http.Request) *principal { return r.Context().Value(principalKey{}).(*principal) }

// require lets through only requests with a valid Bearer credential that
// holds scope ("" for any).
func (s *Server) require(scope mediagate.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := s.authenticate(r.Header.Get("Authorization"))
			if err != nil {
				writeError(w, err)
				return
			}
			if scope != "" && !slices.Contains(p.scopes, scope) {
				writeError(w, errorf(mediagate.EFORBIDDEN, "this credential lacks the %q scope", scope))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

func (s *Server) authenticate(h string) (*principal, error) {
	if h == "" {
		return nil, errorf(mediagate.EUNAUTHORIZED, "missing Authorization: Bearer header")
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, errorf(mediagate.EUNAUTHORIZED, "Authorization must be \"Bearer <API key or token>\"")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasPrefix(cred, mediagate.KeySecretPrefix) {
		k := s.keys[cred]
		switch {
		case k == nil:
			return nil, errorf(mediagate.EUNAUTHORIZED, "unknown API key")
		case k.revoked != nil:
			return nil, errorf(mediagate.EUNAUTHORIZED, "API key %s was revoked", k.id)
		}
		t := now()
		k.lastUsed = &t
		return &principal{accountID: k.accountID, scopes: k.scopes}, nil
	}
	t := s.tokens[cred]
	if t == nil || !now().Before(t.expires) {
		return nil, errorf(mediagate.EUNAUTHORIZED, "invalid or expired token")
	}
	return &principal{accountID: t.accountID, scopes: mediagate.UserScopes}, nil
}
