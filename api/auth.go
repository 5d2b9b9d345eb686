package api

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// principal is who is calling: an account, through a user's token or an API key.
type principal struct {
	AccountID string
	UserID    string // set for a signed-in user
	KeyID     string // set for an API key
	Scopes    []mediagate.Scope
	RateLimit *mediagate.Limit // the key's own limit, replacing the per-credential defaults
}

type principalKey struct{}

// has reports whether the principal holds scope.
func (p *principal) has(s mediagate.Scope) bool { return slices.Contains(p.Scopes, s) }

func principalFrom(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// authenticator turns a Bearer credential into a principal.
type authenticator struct {
	keys   mediagate.KeyStore
	tokens *Tokens
	now    func() time.Time

	// touched throttles last-used writes to one per key per minute.
	touched sync.Map // key id → time.Time
}

// require returns middleware that lets through only requests whose Bearer
// credential is valid and carries scope (none: any valid credential).
func (a *authenticator) require(scope mediagate.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.authenticate(r)
			if err != nil {
				writeError(w, r, err)
				return
			}
			if scope != "" && !p.has(scope) {
				writeError(w, r, mediagate.Errorf(mediagate.EFORBIDDEN, "this credential lacks the %q scope", scope))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
		})
	}
}

func (a *authenticator) authenticate(r *http.Request) (*principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, mediagate.Errorf(mediagate.EUNAUTHORIZED, "missing Authorization: Bearer header")
	}
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return nil, mediagate.Errorf(mediagate.EUNAUTHORIZED, "Authorization must be \"Bearer <API key or token>\"")
	}
	return a.credential(r.Context(), cred)
}

// credential checks an API key or a user's token: EUNAUTHORIZED unless it
// is valid (an edge passes on its clients' credentials this way).
func (a *authenticator) credential(ctx context.Context, cred string) (*principal, error) {
	if cred == "" {
		return nil, mediagate.Errorf(mediagate.EUNAUTHORIZED, "no credential given")
	}
	if strings.HasPrefix(cred, mediagate.KeySecretPrefix) {
		return a.apiKey(ctx, cred)
	}
	userID, accountID, err := a.tokens.Verify(ctx, cred)
	if err != nil {
		return nil, err
	}
	return &principal{AccountID: accountID, UserID: userID, Scopes: mediagate.UserScopes}, nil
}

func (a *authenticator) apiKey(ctx context.Context, secret string) (*principal, error) {
	sum := sha256.Sum256([]byte(secret))
	k, err := a.keys.KeyByHash(ctx, sum[:])
	if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
		return nil, mediagate.Errorf(mediagate.EUNAUTHORIZED, "unknown API key")
	} else if err != nil {
		return nil, err
	}
	if k.RevokedAt != nil {
		return nil, mediagate.Errorf(mediagate.EUNAUTHORIZED, "API key %s was revoked", k.ID)
	}
	now := a.now()
	if last, ok := a.touched.Load(k.ID); !ok || now.Sub(last.(time.Time)) >= time.Minute {
		a.touched.Store(k.ID, now)
		if err := a.keys.TouchKey(ctx, k.ID, now); err != nil {
			logger(ctx).Warn("record key use", "key", k.ID, "err", err)
		}
	}
	return &principal{AccountID: k.AccountID, KeyID: k.ID, Scopes: k.Scopes, RateLimit: k.RateLimit}, nil
}

// Signup and login.

func handleSignup(accounts mediagate.AccountStore, ledger mediagate.Ledger, signupCredit int64, tokens *Tokens, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[apiv1.SignupRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		email, err := validEmail(req.Email)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if n := len(req.Password); n < 8 || n > 1024 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "password must be 8 to 1024 bytes long"))
			return
		}
		name := strings.TrimSpace(req.AccountName)
		if name == "" {
			name = email
		}
		if len(name) > 200 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "account_name must be at most 200 bytes"))
			return
		}
		t := now().UTC()
		a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: name, CreatedAt: t}
		u := &mediagate.User{ID: mediagate.NewID(mediagate.PrefixUser), AccountID: a.ID, Email: email,
			PasswordHash: hashPassword(req.Password), CreatedAt: t}
		if err := accounts.CreateAccountWithUser(r.Context(), a, u); err != nil {
			writeError(w, r, err)
			return
		}
		grantSignupCredit(r, ledger, a.ID, signupCredit)
		tok, exp, err := tokens.Issue(u)
		if err != nil {
			writeError(w, r, err)
			return
		}
		w.Header().Set("Location", "/v1/account")
		encode(w, http.StatusCreated, apiv1.SignupResponse{
			Account: apiv1.Account{ID: a.ID, Name: a.Name, CreatedAt: a.CreatedAt},
			User:    apiv1.User{ID: u.ID, Email: u.Email, CreatedAt: u.CreatedAt},
			Token:   tok, ExpiresAt: exp.UTC(),
		})
	})
}

func handleLogin(accounts mediagate.AccountStore, tokens *Tokens) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := decode[apiv1.LoginRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		wrong := mediagate.Errorf(mediagate.EUNAUTHORIZED, "wrong email or password")
		u, err := accounts.UserByEmail(r.Context(), strings.ToLower(strings.TrimSpace(req.Email)))
		switch {
		case mediagate.ErrorCode(err) == mediagate.ENOTFOUND:
			checkPassword(dummyHash, req.Password)
			writeError(w, r, wrong)
			return
		case err != nil:
			writeError(w, r, err)
			return
		case !checkPassword(u.PasswordHash, req.Password):
			writeError(w, r, wrong)
			return
		}
		tok, exp, err := tokens.Issue(u)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.LoginResponse{Token: tok, ExpiresAt: exp.UTC(), AccountID: u.AccountID})
	})
}

func validEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		return "", mediagate.Errorf(mediagate.EINVALID, "email %q is not a valid address", s)
	}
	return s, nil
}
