package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"mediagate"
)

// jwtSecretPrefix names the JWT signing keys in the secret store; the rest of
// the name is the key id ("kid"). The newest key signs; every key verifies.
const jwtSecretPrefix = "jwt/"

// Tokens issues and verifies the HS256 JWT access tokens of signed-in users.
// Its keys live in the secret store, so every API node shares them, and a key
// added by any node (rotation) is picked up on the first token that names it.
type Tokens struct {
	secrets mediagate.SecretStore
	ttl     time.Duration
	now     func() time.Time

	mu         sync.RWMutex
	keys       map[string][]byte
	current    string
	lastReload time.Time
}

// NewTokens loads the JWT keys, making the first one if there is none.
func NewTokens(ctx context.Context, secrets mediagate.SecretStore, ttl time.Duration, now func() time.Time) (*Tokens, error) {
	t := &Tokens{secrets: secrets, ttl: ttl, now: now}
	if err := t.reload(ctx); err != nil {
		return nil, err
	}
	if t.current == "" {
		// The first key has a fixed id, so nodes starting at once on a new
		// database agree on it (EnsureSecret keeps the first) rather than
		// each sign with a key the others have not loaded.
		if err := ensureJWTKey(ctx, secrets, firstKID, now()); err != nil {
			return nil, err
		}
		if err := t.reload(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// RotateJWTKey adds a new JWT signing key and returns its id. Tokens signed
// with older keys stay valid until they expire.
func RotateJWTKey(ctx context.Context, secrets mediagate.SecretStore, now time.Time) (string, error) {
	kid := mediagate.NewID("")[:12]
	return kid, ensureJWTKey(ctx, secrets, kid, now)
}

// firstKID is the id of the first JWT key of a database.
const firstKID = "first"

// ensureJWTKey stores a new random key with id kid unless there is one.
func ensureJWTKey(ctx context.Context, secrets mediagate.SecretStore, kid string, now time.Time) error {
	value := make([]byte, 32)
	rand.Read(value)
	_, _, err := secrets.EnsureSecret(ctx, &mediagate.Secret{Name: jwtSecretPrefix + kid, Value: value, CreatedAt: now})
	return err
}

func (t *Tokens) reload(ctx context.Context) error {
	list, err := t.secrets.Secrets(ctx, jwtSecretPrefix)
	if err != nil {
		return fmt.Errorf("load JWT keys: %w", err)
	}
	keys := make(map[string][]byte, len(list))
	for _, s := range list {
		keys[strings.TrimPrefix(s.Name, jwtSecretPrefix)] = s.Value
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.keys = keys
	t.current = ""
	if len(list) > 0 {
		t.current = strings.TrimPrefix(list[0].Name, jwtSecretPrefix) // newest first
	}
	t.lastReload = t.now()
	return nil
}

// claims are the claims of an access token.
type claims struct {
	AccountID string `json:"acct"`
	jwt.RegisteredClaims
}

// Issue returns a signed token for user and when it expires.
func (t *Tokens) Issue(u *mediagate.User) (string, time.Time, error) {
	t.mu.RLock()
	kid, key := t.current, t.keys[t.current]
	t.mu.RUnlock()
	now := t.now()
	exp := now.Add(t.ttl)
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{AccountID: u.AccountID, RegisteredClaims: jwt.RegisteredClaims{
		Subject: u.ID, Issuer: "mediagate", IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp),
	}})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return s, exp, nil
}

// Verify checks a token's signature, issuer and expiry and returns its user
// and account ids, or EUNAUTHORIZED saying what is wrong.
func (t *Tokens) Verify(ctx context.Context, token string) (userID, accountID string, err error) {
	var c claims
	_, err = jwt.ParseWithClaims(token, &c, func(tok *jwt.Token) (any, error) {
		kid, _ := tok.Header["kid"].(string)
		return t.key(ctx, kid)
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("mediagate"), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", "", mediagate.Errorf(mediagate.EUNAUTHORIZED, "token expired; sign in again")
	case err != nil:
		return "", "", mediagate.Errorf(mediagate.EUNAUTHORIZED, "invalid token")
	case c.Subject == "" || c.AccountID == "":
		return "", "", mediagate.Errorf(mediagate.EUNAUTHORIZED, "invalid token")
	}
	return c.Subject, c.AccountID, nil
}

// key returns the key with id kid, reloading the keys (at most once a second)
// when kid is unknown, as after a rotation on another node.
func (t *Tokens) key(ctx context.Context, kid string) ([]byte, error) {
	t.mu.RLock()
	key, ok := t.keys[kid]
	stale := t.now().Sub(t.lastReload) > time.Second
	t.mu.RUnlock()
	if ok {
		return key, nil
	}
	if stale {
		if err := t.reload(ctx); err != nil {
			return nil, err
		}
		t.mu.RLock()
		key, ok = t.keys[kid]
		t.mu.RUnlock()
		if ok {
			return key, nil
		}
	}
	return nil, errors.New("unknown key id")
}
