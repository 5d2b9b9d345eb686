package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mediagate"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// decode reads one JSON value of type T from the request body. It refuses a
// body that is not JSON, is larger than maxJSONBody, has unknown fields or
// trailing data, with an EINVALID (or ETOOLARGE, EUNSUPPORTED) that says why.
// An empty body decodes as the zero T.
func decode[T any](w http.ResponseWriter, r *http.Request) (T, error) {
	var v T
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return v, mediagate.Errorf(mediagate.EUNSUPPORTED, "request body must be application/json, not %q", ct)
		}
	}
	body := http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return v, nil
		}
		return v, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, mediagate.Errorf(mediagate.EINVALID, "request body has data after the JSON value")
	}
	return v, nil
}

func jsonError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
		errPrefix = "json: unknown field "
	)
	switch {
	case errors.As(err, &syntax):
		return mediagate.Errorf(mediagate.EINVALID, "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeErr):
		return mediagate.Errorf(mediagate.EINVALID, "field %q must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &maxErr):
		return mediagate.Errorf(mediagate.ETOOLARGE, "request body over %d bytes", maxErr.Limit)
	case strings.HasPrefix(err.Error(), errPrefix):
		return mediagate.Errorf(mediagate.EINVALID, "unknown field %s", strings.TrimPrefix(err.Error(), errPrefix))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return mediagate.Errorf(mediagate.EINVALID, "truncated JSON body")
	}
	return mediagate.Errorf(mediagate.EINVALID, "malformed JSON: %v", err)
}

// encode answers v as JSON with status.
func encode(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode %T: %v", v, err)) // a programming error: our types always marshal
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// queryLimit reads a page size from ?limit= (1 to 1000; 100 when absent).
func queryLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, mediagate.Errorf(mediagate.EINVALID, "limit must be 1 to 1000")
	}
	return n, nil
}

// pathID returns the path's {id} if it is an id of prefix, or answers
// that the what it names is not found: an id that cannot be one names
// nothing.
func pathID(w http.ResponseWriter, r *http.Request, prefix, what string) (string, bool) {
	id := r.PathValue("id")
	if !mediagate.ValidID(prefix, id) {
		writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "%s %q not found", what, id))
		return "", false
	}
	return id, true
}
