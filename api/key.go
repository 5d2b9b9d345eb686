package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"mediagate"
)

type keyJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Hint       string            `json:"hint"`
	Scopes     []mediagate.Scope `json:"scopes"`
	CreatedAt  time.Time         `json:"created_at"`
	LastUsedAt *time.Time        `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time        `json:"revoked_at,omitempty"`
	Secret     string            `json:"secret,omitempty"` // only when created
}

func newKeyJSON(k *mediagate.APIKey) keyJSON {
	return keyJSON{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: k.Scopes, CreatedAt: k.CreatedAt.UTC(),
		LastUsedAt: utcPtr(k.LastUsedAt), RevokedAt: utcPtr(k.RevokedAt)}
}

type createKeyRequest struct {
	Name   string            `json:"name"`
	Scopes []mediagate.Scope `json:"scopes"`
}

// handleCreateKey makes an API key for the caller's account. A caller can
// grant only scopes it holds itself, so no key is ever stronger than its maker.
func handleCreateKey(keys mediagate.KeyStore, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		req, err := decode[createKeyRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		req.Name = strings.TrimSpace(req.Name)
		if req.Name == "" || len(req.Name) > 100 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "name is required, at most 100 bytes"))
			return
		}
		if len(req.Scopes) == 0 {
			for _, s := range mediagate.UserScopes {
				if slices.Contains(p.Scopes, s) {
					req.Scopes = append(req.Scopes, s)
				}
			}
		}
		for _, s := range req.Scopes {
			if !mediagate.ValidScope(s) {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "unknown scope %q", s))
				return
			}
			if !slices.Contains(p.Scopes, s) {
				writeError(w, r, mediagate.Errorf(mediagate.EFORBIDDEN, "cannot grant scope %q: the caller does not hold it", s))
				return
			}
		}
		slices.Sort(req.Scopes)
		k, secret := mediagate.NewAPIKey(p.AccountID, req.Name, slices.Compact(req.Scopes), now())
		if err := keys.CreateKey(r.Context(), k); err != nil {
			writeError(w, r, err)
			return
		}
		out := newKeyJSON(k)
		out.Secret = secret
		w.Header().Set("Location", "/v1/keys/"+k.ID)
		encode(w, http.StatusCreated, out)
	})
}

func handleListKeys(keys mediagate.KeyStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := keys.Keys(r.Context(), principalFrom(r.Context()).AccountID)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := struct {
			Keys []keyJSON `json:"keys"`
		}{Keys: make([]keyJSON, 0, len(list))}
		for _, k := range list {
			out.Keys = append(out.Keys, newKeyJSON(k))
		}
		encode(w, http.StatusOK, out)
	})
}

func handleRevokeKey(keys mediagate.KeyStore, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !mediagate.ValidID(mediagate.PrefixKey, id) {
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "key %q not found", id))
			return
		}
		if err := keys.RevokeKey(r.Context(), principalFrom(r.Context()).AccountID, id, now()); err != nil {
			writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
