package fakeapi

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/urlsign"
)

// object is an object with its bytes: data once uploaded whole, parts while
// a multipart upload receives them.
type object struct {
	mediagate.Object
	seq   int64
	data  []byte
	got   bool // data arrived (a single PUT)
	parts map[int][]byte
}

type objectJSON struct {
	ID          string         `json:"id"`
	Filename    string         `json:"filename"`
	ContentType string         `json:"content_type"`
	Size        int64          `json:"size"`
	SHA256      string         `json:"sha256,omitempty"`
	State       string         `json:"state"`
	Pinned      bool           `json:"pinned"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	ExpiresAt   *time.Time     `json:"expires_at,omitempty"`
	Multipart   *multipartJSON `json:"multipart,omitempty"`
}

type multipartJSON struct {
	PartSize  int64      `json:"part_size"`
	PartCount int        `json:"part_count"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

func (o *object) json() objectJSON {
	j := objectJSON{ID: o.ID, Filename: o.Filename, ContentType: o.ContentType, Size: o.Size, SHA256: o.SHA256,
		State: string(o.State), Pinned: o.Pinned, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, ExpiresAt: utcPtr(o.ExpiresAt)}
	if o.UploadID != "" && o.State == mediagate.StatePending {
		j.Multipart = &multipartJSON{PartSize: o.PartSize, PartCount: partCount(o.Size, o.PartSize), ExpiresAt: j.ExpiresAt}
	}
	return j
}

func partCount(size, partSize int64) int {
	if partSize <= 0 {
		return 0
	}
	return int((size + partSize - 1) / partSize)
}

func partLen(size, partSize int64, n int) int64 {
	if n < partCount(size, partSize) {
		return partSize
	}
	return size - int64(n-1)*partSize
}

// object returns the caller's object named in the path, not deleted; s.mu is held.
func (s *Server) object(r *http.Request) (*object, error) {
	id := r.PathValue("id")
	o := s.objects[id]
	if !mediagate.ValidID(mediagate.PrefixObject, id) || o == nil || o.AccountID != principalOf(r).accountID ||
		o.State == mediagate.StateDeleted {
		return nil, errorf(mediagate.ENOTFOUND, "object %q not found", id)
	}
	return o, nil
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := mediagate.ObjectState(q.Get("state"))
	switch state {
	case "", mediagate.StatePending, mediagate.StateReady, mediagate.StateDeleted:
	default:
		writeError(w, errorf(mediagate.EINVALID, "state must be pending, ready or deleted"))
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, errorf(mediagate.EINVALID, "limit must be 1 to 1000"))
			return
		}
		limit = n
	}
	var pinned *bool
	if v := q.Get("pinned"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, errorf(mediagate.EINVALID, "pinned must be true or false"))
			return
		}
		pinned = &b
	}
	before := int64(-1)
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		n, perr := strconv.ParseInt(strings.TrimPrefix(string(b), "seq:"), 10, 64)
		if err != nil || perr != nil || !strings.HasPrefix(string(b), "seq:") {
			writeError(w, errorf(mediagate.EINVALID, "malformed cursor"))
			return
		}
		before = n
	}
	typ := q.Get("type")
	s.mu.Lock()
	var list []*object
	for _, o := range s.objects {
		switch {
		case o.AccountID != principalOf(r).accountID,
			before >= 0 && o.seq >= before,
			state == "" && o.State == mediagate.StateDeleted,
			state != "" && o.State != state,
			pinned != nil && o.Pinned != *pinned,
			typ != "" && strings.HasSuffix(typ, "/") && !strings.HasPrefix(o.ContentType, typ),
			typ != "" && !strings.HasSuffix(typ, "/") && o.ContentType != typ:
			continue
		}
		list = append(list, o)
	}
	slices.SortFunc(list, func(a, b *object) int { return int(b.seq - a.seq) })
	next := ""
	if len(list) > limit {
		list = list[:limit]
		next = base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(list[limit-1].seq, 10)))
	}
	out := make([]objectJSON, 0, len(list))
	for _, o := range list {
		out = append(out, o.json())
	}
	s.mu.Unlock()
	encode(w, http.StatusOK, map[string]any{"objects": out, "next_cursor": next})
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.object(r)
	if err != nil {
		writeError(w, err)
		return
	}
	encode(w, http.StatusOK, o.json())
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.object(r)
	if err != nil {
		writeError(w, err)
		return
	}
	s.markDeleted(o)
	w.WriteHeader(http.StatusNoContent)
}

// markDeleted deletes o and drops its bytes; s.mu is held.
func (s *Server) markDeleted(o *object) {
	o.State, o.UpdatedAt, o.data, o.parts = mediagate.StateDeleted, now(), nil, nil
}

func (s *Server) pin(pinned bool) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		o, err := s.object(r)
		if err != nil {
			writeError(w, err)
			return
		}
		if o.State != mediagate.StateReady {
			writeError(w, errorf(mediagate.ECONFLICT, "object %s is %s, not ready", o.ID, o.State))
			return
		}
		o.Pinned, o.UpdatedAt = pinned, now()
		encode(w, http.StatusOK, o.json())
	}
}

func (s *Server) downloadURL(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, err := s.object(r)
	var oc mediagate.Object
	if err == nil {
		oc = o.Object
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	req, err := decode[struct {
		ExpiresIn int64 `json:"expires_in"`
	}](r)
	if err != nil {
		writeError(w, err)
		return
	}
	ttl := time.Duration(req.ExpiresIn) * time.Second
	switch {
	case req.ExpiresIn == 0:
		ttl = s.cfg.DownloadTTL
	case req.ExpiresIn < 0 || ttl > s.cfg.MaxURLTTL:
		writeError(w, errorf(mediagate.EINVALID, "expires_in must be 1 to %d seconds", int64(s.cfg.MaxURLTTL/time.Second)))
		return
	}
	u, exp, err := s.getURL(&oc, ttl)
	if err != nil {
		writeError(w, err)
		return
	}
	encode(w, http.StatusOK, map[string]any{"method": http.MethodGet, "url": u, "expires_at": exp})
}

func (s *Server) content(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, err := s.object(r)
	var oc mediagate.Object
	if err == nil {
		oc = o.Object
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	u, _, err := s.getURL(&oc, s.cfg.DownloadTTL)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Server) getURL(o *mediagate.Object, ttl time.Duration) (string, time.Time, error) {
	if o.State != mediagate.StateReady {
		return "", time.Time{}, errorf(mediagate.ECONFLICT, "object %s is %s; only ready objects can be downloaded", o.ID, o.State)
	}
	exp := time.Now().Add(ttl).Truncate(time.Second).Add(time.Second).UTC()
	g := urlsign.Grant{Method: http.MethodGet, Key: o.Key, Expires: exp, ContentType: o.ContentType,
		Filename: o.Filename, AccountID: o.AccountID}
	return s.signer.URL(s.URL, g), exp, nil
}
