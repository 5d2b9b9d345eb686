package api

import (
	"context"
	"net/http"
	"time"
)

// Checker is a backend /readyz asks: it returns nil when the backend answers.
type Checker func(ctx context.Context) error

// handleHealthz answers 200 while the process serves at all.
func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// handleReadyz asks every backend and answers 200 only if all answer, with
// each one's state, so a load balancer and an operator see which is down.
func handleReadyz(checks map[string]Checker) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, out := http.StatusOK, map[string]string{}
		for name, check := range checks {
			if err := check(ctx); err != nil {
				status = http.StatusServiceUnavailable
				out[name] = "down: " + err.Error()
				continue
			}
			out[name] = "ok"
		}
		encode(w, status, map[string]any{"status": http.StatusText(status), "checks": out})
	})
}
