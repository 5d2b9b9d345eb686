package api

import (
	"log/slog"
	"net/http"
	"time"

	"mediagate"
	"mediagate/fetchsvc"
	"mediagate/urlsign"
	"mediagate/webhook"
)

// Deps are what the API needs; cmd/mediagate wires them.
type Deps struct {
	Store  mediagate.Store
	Blobs  mediagate.BlobStore
	Signer *urlsign.Signer
	// URLMaster is the master secret of URL signing: it derives each edge's
	// signing key. nil: the server takes no edges.
	URLMaster []byte
	Tokens    *Tokens
	Config    Config
	Logger    *slog.Logger
	Metrics   *Metrics
	Checks    map[string]Checker // for /readyz, by backend name
	Limiter   mediagate.Limiter  // applies Config.Limits; nil: no rate limits
	Jobs      mediagate.JobStore // the job queue
	// Webhooks sends job callbacks (through the SSRF guard); nil: none are
	// sent. WebhookKey derives each account's callback secret; every node
	// must have the same.
	Webhooks   *webhook.Sender
	WebhookKey []byte
	// Fetches is the fetch service (/v1/fetches and the worker's side of
	// it); nil: none.
	Fetches *fetchsvc.Service
	Now     func() time.Time
}

// NewHandler returns the whole HTTP API as one handler.
func NewHandler(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(d.Store)
	}
	mux := http.NewServeMux()
	for _, rt := range routes(d) {
		mux.Handle(rt.pattern, rt.handler)
	}
	return withRequest(d.Logger, d.Metrics)(problemsForMux(mux))
}

// problemsForMux makes the mux's own 404 and 405 answers problem+json like
// every other error, keeping the Allow header of a 405.
func problemsForMux(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		probe := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(probe, r)
		switch probe.status {
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", probe.header.Get("Allow"))
			writeError(w, r, mediagate.Errorf(errMethod, "%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, probe.header.Get("Allow")))
		case http.StatusNotFound:
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "no route for %s %s; see /docs", r.Method, r.URL.Path))
		default: // a redirect the mux makes to clean a path
			for k, v := range probe.header {
				w.Header()[k] = v
			}
			w.WriteHeader(probe.status)
		}
	})
}

// headerRecorder keeps the status and headers a handler answers, not its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }
