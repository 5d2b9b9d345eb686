package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// newKeyJSON is the wire form of k, without its secret.
func newKeyJSON(k *mediagate.APIKey) apiv1.Key {
	j := apiv1.Key{ID: k.ID, Name: k.Name, Hint: k.Hint, Scopes: convertStrings[string](k.Scopes), CreatedAt: k.CreatedAt.UTC(),
		LastUsedAt: utcPtr(k.LastUsedAt), RevokedAt: utcPtr(k.RevokedAt)}
	if l := k.RateLimit; l != nil {
		j.RateLimit = &apiv1.RateLimit{Rate: l.Rate, PeriodSeconds: int64(l.Period / time.Second), Burst: l.Burst}
	}
	return j
}

// keyLimit checks a key's own rate limit: valid, and no looser than the
// server's per-credential defaults, so a key cannot be used to escape them.
func keyLimit(req *apiv1.RateLimit, defaults RateLimits) (*mediagate.Limit, error) {
	if req == nil {
		return nil, nil
	}
	l := mediagate.Limit{Rate: req.Rate, Period: time.Duration(req.PeriodSeconds) * time.Second, Burst: req.Burst}
	if req.PeriodSeconds <= 0 || req.PeriodSeconds > 86400*366 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "rate_limit.period_seconds must be 1 to 31622400")
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	for _, d := range []mediagate.Limit{defaults.Read, defaults.Write} {
		if d.Rate > 0 && (l.Interval() < d.Interval() || l.Burst > d.Burst) {
			return nil, mediagate.Errorf(mediagate.EFORBIDDEN, "a key's rate limit may only be tighter than the server's (%d per %v, burst %d)", d.Rate, d.Period, d.Burst)
		}
	}
	return &l, nil
}

// handleCreateKey makes an API key for the caller's account. A caller can
// grant only scopes it holds itself, so no key is ever stronger than its maker.
func handleCreateKey(keys mediagate.KeyStore, defaults RateLimits, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		req, err := decode[apiv1.CreateKeyRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		req.Name = strings.TrimSpace(req.Name)
		if req.Name == "" || len(req.Name) > 100 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "name is required, at most 100 bytes"))
			return
		}
		scopes := convertStrings[mediagate.Scope](req.Scopes)
		if len(scopes) == 0 {
			for _, s := range mediagate.UserScopes {
				if slices.Contains(p.Scopes, s) {
					scopes = append(scopes, s)
				}
			}
		}
		for _, s := range scopes {
			if !mediagate.ValidScope(s) {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "unknown scope %q", s))
				return
			}
			if !slices.Contains(p.Scopes, s) {
				writeError(w, r, mediagate.Errorf(mediagate.EFORBIDDEN, "cannot grant scope %q: the caller does not hold it", s))
				return
			}
		}
		limit, err := keyLimit(req.RateLimit, defaults)
		if err != nil {
			writeError(w, r, err)
			return
		}
		slices.Sort(scopes)
		k, secret := mediagate.NewAPIKey(p.AccountID, req.Name, slices.Compact(scopes), now())
		k.RateLimit = limit
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
		out := apiv1.KeyList{Keys: make([]apiv1.Key, 0, len(list))}
		for _, k := range list {
			out.Keys = append(out.Keys, newKeyJSON(k))
		}
		encode(w, http.StatusOK, out)
	})
}

func handleRevokeKey(keys mediagate.KeyStore, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, mediagate.PrefixKey, "key")
		if !ok {
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

// convertStrings converts between slices of string types, such as the domain's
// []mediagate.Scope and the wire's []string; nil stays nil.
func convertStrings[To, From ~string](in []From) []To {
	if in == nil {
		return nil
	}
	out := make([]To, len(in))
	for i, s := range in {
		out[i] = To(s)
	}
	return out
}
