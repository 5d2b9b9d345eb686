package apitest

import (
	"encoding/json"
	"io"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// BlobPutHook is called before the API sees a PUT to a signed blob URL. If
// it answers fail, the PUT is answered with status and a problem body, after
// its body is read and discarded, and the API never sees it. It may be
// called from several goroutines at once.
type BlobPutHook func(r *http.Request) (status int, fail bool)

// BlobPut is one PUT to a signed blob URL, as the server answered it.
type BlobPut struct {
	// Method is the request's method (PUT).
	Method string
	// ObjectID is the last element of the blob's key, which the API makes the
	// object's id.
	ObjectID string
	// Part is the part number from the X-Mg-Part query parameter; 0 for the
	// single PUT of a whole object.
	Part int
	// Status is the HTTP status the PUT was answered with.
	Status int
	// Injected is true if a BlobPutHook failed the PUT.
	Injected bool
}

// serve passes a request to the API, running the blob PUT hook first and
// recording blob PUTs.
func (s *Server) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, "/blob/") {
		h.ServeHTTP(w, r)
		return
	}
	put := BlobPut{Method: r.Method, ObjectID: path.Base(r.URL.Path), Part: PartNumber(r)}
	s.mu.Lock()
	hook := s.beforePut
	s.mu.Unlock()
	if hook != nil {
		if status, fail := hook(r); fail {
			io.Copy(io.Discard, r.Body)
			writeInjected(w, status)
			put.Status, put.Injected = status, true
			s.record(put)
			return
		}
	}
	rec := &statusRecorder{ResponseWriter: w}
	h.ServeHTTP(rec, r)
	put.Status = rec.status
	if put.Status == 0 {
		put.Status = http.StatusOK
	}
	s.record(put)
}

func (s *Server) record(p BlobPut) {
	s.mu.Lock()
	s.puts = append(s.puts, p)
	s.mu.Unlock()
}

// writeInjected answers an injected failure as a problem body, with the code
// "injected" so no one takes it for the API's own.
func writeInjected(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"type": "urn:mediagate:problem:injected", "title": http.StatusText(status), "status": status,
		"detail": "apitest: injected failure", "code": "injected",
	})
}

// PartNumber returns the part number a blob PUT's signed URL names (the
// X-Mg-Part query parameter), or 0 for the single PUT of a whole object.
func PartNumber(r *http.Request) int {
	n, _ := strconv.Atoi(r.URL.Query().Get("X-Mg-Part"))
	return n
}

// FailPart returns a hook that fails the first times PUTs of part number
// part (0: a single PUT) with status, and lets every other PUT through.
func FailPart(part, times, status int) BlobPutHook {
	var mu sync.Mutex
	failed := 0
	return func(r *http.Request) (int, bool) {
		if PartNumber(r) != part {
			return 0, false
		}
		mu.Lock()
		defer mu.Unlock()
		if failed >= times {
			return 0, false
		}
		failed++
		return status, true
	}
}

// SetBeforeBlobPut sets the hook run before each blob PUT; nil removes it.
func (s *Server) SetBeforeBlobPut(hook BlobPutHook) {
	s.mu.Lock()
	s.beforePut = hook
	s.mu.Unlock()
}

// BlobPuts returns the blob PUTs answered so far, in the order they were
// answered. A PUT is recorded once its handler returns, so one a client gave
// up on may be recorded a little after the client returned.
func (s *Server) BlobPuts() []BlobPut {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.puts)
}

// ResetBlobPuts forgets the blob PUTs made so far.
func (s *Server) ResetBlobPuts() {
	s.mu.Lock()
	s.puts = nil
	s.mu.Unlock()
}

// PartsPut returns the part numbers of the blob PUTs of object id that were
// answered 200, sorted, with repeats.
func PartsPut(puts []BlobPut, id string) []int {
	var out []int
	for _, p := range puts {
		if p.ObjectID == id && p.Status == http.StatusOK {
			out = append(out, p.Part)
		}
	}
	slices.Sort(out)
	return out
}

// statusRecorder keeps the status a handler answers. It passes Unwrap through,
// so http.ResponseController still reaches the connection (the blob handler
// sets read deadlines through it), and ReadFrom, as package api expects of a
// ResponseWriter.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
