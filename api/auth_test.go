package api_test

import (
	"strings"
	"testing"
	"time"
)

func TestSignupLogin(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "Ann@Example.com")
	if tok == "" {
		t.Fatal("signup gave no token")
	}
	s.do(t, "GET", "/v1/keys", tok, nil).status(t, 200)

	var login struct {
		Token     string
		AccountID string `json:"account_id"`
	}
	s.do(t, "POST", "/v1/auth/login", "", map[string]any{"email": "ann@example.com", "password": "correct horse"}).status(t, 200).json(t, &login)
	if login.Token == "" || !strings.HasPrefix(login.AccountID, "acct_") {
		t.Fatalf("login=%+v", login)
	}

	tests := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"duplicate email", "/v1/auth/signup", map[string]any{"email": "ANN@example.com", "password": "12345678"}, 409, "conflict"},
		{"bad email", "/v1/auth/signup", map[string]any{"email": "not-an-email", "password": "12345678"}, 400, "invalid"},
		{"short password", "/v1/auth/signup", map[string]any{"email": "b@example.com", "password": "short"}, 400, "invalid"},
		{"wrong password", "/v1/auth/login", map[string]any{"email": "ann@example.com", "password": "wrong horse"}, 401, "unauthorized"},
		{"unknown user", "/v1/auth/login", map[string]any{"email": "nobody@example.com", "password": "correct horse"}, 401, "unauthorized"},
		{"unknown field", "/v1/auth/login", map[string]any{"email": "a@b.c", "password": "x", "admin": true}, 400, "invalid"},
		{"malformed JSON", "/v1/auth/login", `{"email": "a@b.c",`, 400, "invalid"},
		{"trailing data", "/v1/auth/login", `{"email": "a@b.c"} {}`, 400, "invalid"},
		{"wrong field type", "/v1/auth/login", `{"email": 7}`, 400, "invalid"},
		{"huge body", "/v1/auth/signup", `{"email":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.do(t, "POST", tt.path, "", tt.body).problem(t, tt.status, tt.code)
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		s.do(t, "POST", "/v1/auth/login", "", []byte("email=a"), "Content-Type", "application/x-www-form-urlencoded").problem(t, 415, "unsupported_type")
	})
}

func TestCredentials(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	key := s.key(t, tok)
	tests := []struct {
		name, header string
	}{
		{"no header", ""},
		{"not bearer", "Basic YTpi"},
		{"empty bearer", "Bearer "},
		{"unknown key", "Bearer mg_doesnotexist"},
		{"tampered token", "Bearer " + tok[:len(tok)-2] + "xx"},
		{"garbage token", "Bearer abc.def.ghi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, "GET", "/v1/objects", "", nil, "Authorization", tt.header)
			r.problem(t, 401, "unauthorized")
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	s.do(t, "GET", "/v1/objects", key, nil).status(t, 200)

	t.Run("expired token", func(t *testing.T) {
		s.clock.Advance(tokenTTL + time.Second)
		defer s.clock.Advance(-tokenTTL - time.Second)
		p := s.do(t, "GET", "/v1/objects", tok, nil).problem(t, 401, "unauthorized")
		if !strings.Contains(p["detail"].(string), "expired") {
			t.Fatalf("detail=%v, want it to say expired", p["detail"])
		}
	})
}

func TestKeys(t *testing.T) {
	s := newServer(t)
	tok := s.signup(t, "a@example.com")
	readOnly := s.key(t, tok, "objects:read")

	// A key works, lists, and carries only its scopes.
	s.do(t, "GET", "/v1/objects", readOnly, nil).status(t, 200)
	s.do(t, "POST", "/v1/uploads", readOnly, map[string]any{"filename": "a.png", "content_type": "image/png", "size": 10}).problem(t, 403, "forbidden")

	// No escalation: a key cannot grant what it lacks, users cannot grant admin.
	s.do(t, "POST", "/v1/keys", readOnly, map[string]any{"name": "x", "scopes": []string{"objects:write"}}).problem(t, 403, "forbidden")
	s.do(t, "POST", "/v1/keys", tok, map[string]any{"name": "x", "scopes": []string{"admin"}}).problem(t, 403, "forbidden")
	s.do(t, "POST", "/v1/keys", tok, map[string]any{"name": "x", "scopes": []string{"wizard"}}).problem(t, 400, "invalid")
	s.do(t, "POST", "/v1/keys", tok, map[string]any{"name": ""}).problem(t, 400, "invalid")

	var list struct {
		Keys []struct {
			ID, Hint   string
			Secret     string
			LastUsedAt *time.Time `json:"last_used_at"`
			RevokedAt  *time.Time `json:"revoked_at"`
		}
	}
	s.do(t, "GET", "/v1/keys", tok, nil).status(t, 200).json(t, &list)
	if len(list.Keys) != 1 {
		t.Fatalf("keys=%d, want 1", len(list.Keys))
	}
	k := list.Keys[0]
	if k.Secret != "" || !strings.HasPrefix(readOnly, k.Hint) || k.LastUsedAt == nil {
		t.Fatalf("listed key %+v: want no secret, a hint of %s…, a last-used time", k, readOnly[:9])
	}

	// Revocation takes effect at once; another account cannot revoke it.
	other := s.signup(t, "b@example.com")
	s.do(t, "DELETE", "/v1/keys/"+k.ID, other, nil).problem(t, 404, "not_found")
	s.do(t, "DELETE", "/v1/keys/"+k.ID, tok, nil).status(t, 204)
	s.do(t, "GET", "/v1/objects", readOnly, nil).problem(t, 401, "unauthorized")
	s.do(t, "DELETE", "/v1/keys/key_nonsense", tok, nil).problem(t, 404, "not_found")
}
