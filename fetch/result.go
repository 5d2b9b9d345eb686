package fetch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"
)

// Status is how a URL ended.
type Status string

const (
	StatusOK        Status = "ok"        // fetched and stored
	StatusDuplicate Status = "duplicate" // its bytes were stored already, under Key
	StatusError     Status = "error"     // not stored; Kind and Error say why
)

// Kind classifies an error, for the counts and for what a caller may retry.
type Kind string

const (
	KindHTTP      Kind = "http"       // a final HTTP status (4xx but 408/429, or 5xx once retries ran out)
	KindTimeout   Kind = "timeout"    // the attempt or the server took too long
	KindNetwork   Kind = "network"    // DNS, connect, reset, broken body
	KindBlocked   Kind = "blocked"    // the address is not public unicast (SSRF guard)
	KindURL       Kind = "url"        // not an http(s) URL
	KindRedirects Kind = "redirects"  // more than MaxRedirects, or a redirect to a refused URL
	KindTooLarge  Kind = "too_large"  // over MaxSize
	KindType      Kind = "type"       // the bytes are of a type not in Types
	KindStore     Kind = "store"      // the Sink failed
	KindCanceled  Kind = "canceled"   // the run was stopped
	KindRateLimit Kind = "rate_limit" // 429 or 503 with a Retry-After beyond MaxRetryAfter
)

// transient reports whether an error of kind k may pass, so a resumed run
// tries its URL again.
func (k Kind) transient() bool {
	switch k {
	case KindTimeout, KindNetwork, KindRateLimit, KindStore, KindCanceled:
		return true
	}
	return false
}

// Result is what became of one URL: one line of the results NDJSON.
type Result struct {
	URL         string    `json:"url"`
	Status      Status    `json:"status"`
	HTTPStatus  int       `json:"http_status,omitempty"`
	Key         string    `json:"key,omitempty"` // where the bytes are (for a duplicate: the first copy's)
	Size        int64     `json:"size,omitempty"`
	SHA256      string    `json:"sha256,omitempty"`
	ContentType string    `json:"content_type,omitempty"` // sniffed from the bytes
	Kind        Kind      `json:"kind,omitempty"`
	Error       string    `json:"error,omitempty"`
	Attempts    int       `json:"attempts"`
	Time        time.Time `json:"time"` // when it ended
}

// resultWriter appends results as NDJSON, one write per call (a result, or
// the batch a Sync released), so that a result told is in the file (the
// kernel's page cache) before its worker takes its next URL: a run killed
// with SIGKILL loses no written result, and only the URLs then in flight
// are fetched again. The file is synced every second, against a crash of
// the machine. It is safe for concurrent use.
type resultWriter struct {
	mu  sync.Mutex
	w   io.Writer
	f   *os.File // synced by flush when the results go to a file
	buf []byte
	err error
}

func newResultWriter(w io.Writer) *resultWriter {
	rw := &resultWriter{w: w}
	rw.f, _ = w.(*os.File)
	return rw
}

func (rw *resultWriter) write(rs ...*Result) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	rw.buf = rw.buf[:0]
	for _, r := range rs {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		rw.buf = append(append(rw.buf, b...), '\n')
	}
	_, rw.err = rw.w.Write(rw.buf)
	if cap(rw.buf) > 1<<20 {
		rw.buf = nil // a big batch's buffer is not kept
	}
	return rw.err
}

// flush syncs a results file, so a crash of the machine later resumes
// from here.
func (rw *resultWriter) flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err == nil && rw.f != nil {
		if err := rw.f.Sync(); err != nil && !isNotSyncable(err) {
			rw.err = err
		}
	}
	return rw.err
}

// isNotSyncable reports whether err is a sync refused by what the results
// go to (a pipe, a terminal), which is not a failure of the run.
func isNotSyncable(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}

// Previous is what a run knows of an earlier run's results: the URLs done
// (skipped: stored, duplicates and final errors) and the content already
// stored (for deduplication). A URL whose error may pass (a timeout, a
// network error, a rate limit, a failed store, a stopped run) is tried
// again.
// A Previous serves one run, which takes its sets over.
type Previous struct {
	done    map[uint64]struct{}
	content *contentSet
	Results int // lines read
}

// ReadPrevious reads an earlier run's results NDJSON. A torn last line (the
// run was killed mid-write) is ignored; any other bad line is an error.
func ReadPrevious(r io.Reader) (*Previous, error) {
	p, _, err := readPrevious(r)
	return p, err
}

// readPrevious is ReadPrevious that also returns the length of the whole
// lines read.
func readPrevious(r io.Reader) (*Previous, int64, error) {
	p := &Previous{done: map[uint64]struct{}{}, content: newContentSet()}
	br := bufio.NewReaderSize(r, 1<<20)
	var whole int64
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			var res Result
			if jerr := json.Unmarshal(line, &res); jerr != nil {
				return nil, 0, fmt.Errorf("results line %d: %w", n, jerr)
			}
			p.add(&res)
			whole += int64(len(line))
		}
		if err == io.EOF {
			return p, whole, nil
		} else if err != nil {
			return nil, 0, err
		}
	}
}

func (p *Previous) add(r *Result) {
	p.Results++
	if r.Status == StatusError && r.Kind.transient() {
		return
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return
	}
	p.done[hashURL(normalize(u))] = struct{}{}
	if r.Status == StatusOK && r.SHA256 != "" && r.Key != "" {
		if sum, ok := parseSum(r.SHA256); ok {
			p.content.add(sum, r.Key)
		}
	}
}

// OpenResults opens the results file at path for a run: it reads what an
// earlier run left there (for resume), cuts off a last line torn by a
// killed run, and returns the file ready to append to.
func OpenResults(path string) (*os.File, *Previous, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, err
	}
	prev, whole, err := readPrevious(f)
	if err == nil {
		err = f.Truncate(whole)
	}
	if err == nil {
		_, err = f.Seek(whole, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, prev, nil
}
