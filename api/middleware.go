package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

type (
	loggerKey    struct{}
	requestIDKey struct{}
)

// requestID returns the id withRequest gave the request, "" outside one.
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequest gives each request an id (kept from a well-formed X-Request-Id,
// else made), a logger carrying it, access logging, metrics and panic recovery.
func withRequest(log *slog.Logger, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get("X-Request-Id")
			if !validRequestID(id) {
				var b [8]byte
				rand.Read(b[:])
				id = hex.EncodeToString(b[:])
			}
			l := log.With("request_id", id)
			ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey{}, id), loggerKey{}, l)
			r = r.WithContext(ctx)
			sw := &statusWriter{ResponseWriter: w}
			sw.Header().Set("X-Request-Id", id)
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					l.Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					if sw.status == 0 {
						writeError(sw, r, fmt.Errorf("panic: %v", v))
					}
				}
				if sw.status == 0 {
					sw.status = http.StatusOK
				}
				route := r.Pattern
				if route == "" {
					route = "unmatched"
				}
				elapsed := time.Since(start)
				m.observe(route, sw.status, elapsed, r.ContentLength, sw.written)
				if l.Enabled(ctx, slog.LevelInfo) {
					l.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("method", r.Method),
						slog.String("path", r.URL.Path), slog.String("route", route), slog.Int("status", sw.status),
						slog.Int64("bytes", sw.written), slog.Duration("duration", elapsed))
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// statusWriter records the status and the bytes written. It passes ReadFrom
// through, so a file copied to it still goes out with sendfile(2), and Unwrap,
// so http.ResponseController reaches the connection.
type statusWriter struct {
	http.ResponseWriter
	status  int
	written int64
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		// A writer without ReadFrom (a recorder, another middleware): copy
		// through Write, hiding our own ReadFrom so io.Copy does not recurse.
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.written += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
