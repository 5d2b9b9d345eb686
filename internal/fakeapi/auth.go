package fakeapi

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"mediagate"
)

type accountJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

type userJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	req, err := decode[struct {
		Email       string `json:"email"`
		Password    string `json:"password"`
		AccountName string `json:"account_name"`
	}](r)
	if err != nil {
		writeError(w, err)
		return
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		writeError(w, errorf(mediagate.EINVALID, "email %q is not a valid address", email))
		return
	}
	if n := len(req.Password); n < 8 || n > 1024 {
		writeError(w, errorf(mediagate.EINVALID, "password must be 8 to 1024 bytes long"))
		return
	}
	name := strings.TrimSpace(req.AccountName)
	if name == "" {
		name = email
	}
	if len(name) > 200 {
		writeError(w, errorf(mediagate.EINVALID, "account_name must be at most 200 bytes"))
		return
	}
	s.mu.Lock()
	if s.users[email] != nil {
		s.mu.Unlock()
		writeError(w, errorf(mediagate.ECONFLICT, "an account with email %s exists", email))
		return
	}
	t := now()
	a := &account{id: mediagate.NewID(mediagate.PrefixAccount), name: name, created: t}
	u := &user{id: mediagate.NewID(mediagate.PrefixUser), accountID: a.id, email: email, password: req.Password, created: t}
	s.accounts[a.id], s.users[email] = a, u
	tok, exp := s.issue(u)
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/account")
	encode(w, http.StatusCreated, map[string]any{
		"account": accountJSON{a.id, a.name, a.created}, "user": userJSON{u.id, u.email, u.created},
		"token": tok, "expires_at": exp,
	})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	req, err := decode[struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}](r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.mu.Lock()
	u := s.users[strings.ToLower(strings.TrimSpace(req.Email))]
	if u == nil || u.password != req.Password {
		s.mu.Unlock()
		writeError(w, errorf(mediagate.EUNAUTHORIZED, "wrong email or password"))
		return
	}
	tok, exp := s.issue(u)
	s.mu.Unlock()
	encode(w, http.StatusOK, map[string]any{"token": tok, "expires_at": exp, "account_id": u.accountID})
}

// issue makes a token for u; s.mu is held. Real tokens are JWTs; these are
// opaque, which a client cannot tell apart.
func (s *Server) issue(u *user) (string, time.Time) {
	var b [24]byte
	rand.Read(b[:])
	tok := "tok." + hex.EncodeToString(b[:])
	exp := now().Add(s.cfg.TokenTTL).Truncate(time.Second)
	s.tokens[tok] = &token{userID: u.id, accountID: u.accountID, expires: exp}
	return tok, exp
}

type keyJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Hint       string            `json:"hint"`
	Scopes     []mediagate.Scope `json:"scopes"`
	CreatedAt  time.Time         `json:"created_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time        `json:"revoked_at,omitempty"`
	Secret     string            `json:"secret,omitempty"`
}

func (k *key) json() keyJSON {
	return keyJSON{ID: k.id, Name: k.name, Hint: k.hint, Scopes: k.scopes, CreatedAt: k.created,
		LastUsedAt: utcPtr(k.lastUsed), RevokedAt: utcPtr(k.revoked)}
}

// newKey stores a key; s.mu is held.
func (s *Server) newKey(accountID, name string, scopes []mediagate.Scope) *key {
	k, secret := mediagate.NewAPIKey(accountID, name, scopes, now())
	fk := &key{id: k.ID, accountID: accountID, name: name, hint: k.Hint, secret: secret, scopes: k.Scopes, created: k.CreatedAt}
	s.keys[secret] = fk
	return fk
}

func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	req, err := decode[struct {
		Name   string            `json:"name"`
		Scopes []mediagate.Scope `json:"scopes"`
	}](r)
	if err != nil {
		writeError(w, err)
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || len(req.Name) > 100 {
		writeError(w, errorf(mediagate.EINVALID, "name is required, at most 100 bytes"))
		return
	}
	if len(req.Scopes) == 0 {
		for _, sc := range mediagate.UserScopes {
			if slices.Contains(p.scopes, sc) {
				req.Scopes = append(req.Scopes, sc)
			}
		}
	}
	for _, sc := range req.Scopes {
		if !mediagate.ValidScope(sc) {
			writeError(w, errorf(mediagate.EINVALID, "unknown scope %q", sc))
			return
		}
		if !slices.Contains(p.scopes, sc) {
			writeError(w, errorf(mediagate.EFORBIDDEN, "cannot grant scope %q: the caller does not hold it", sc))
			return
		}
	}
	slices.Sort(req.Scopes)
	s.mu.Lock()
	k := s.newKey(p.accountID, req.Name, slices.Compact(req.Scopes))
	out := k.json()
	s.mu.Unlock()
	out.Secret = k.secret
	w.Header().Set("Location", "/v1/keys/"+k.id)
	encode(w, http.StatusCreated, out)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	p := principalOf(r)
	s.mu.Lock()
	var list []*key
	for _, k := range s.keys {
		if k.accountID == p.accountID {
			list = append(list, k)
		}
	}
	slices.SortFunc(list, func(a, b *key) int { return b.created.Compare(a.created) })
	out := make([]keyJSON, 0, len(list))
	for _, k := range list {
		out = append(out, k.json())
	}
	s.mu.Unlock()
	encode(w, http.StatusOK, map[string]any{"keys": out})
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) {
	p, id := principalOf(r), r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.keys {
		if k.id == id && k.accountID == p.accountID {
			if k.revoked == nil {
				t := now()
				k.revoked = &t
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	writeError(w, errorf(mediagate.ENOTFOUND, "key %q not found", id))
}
