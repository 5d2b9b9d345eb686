package fakeapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
	"unicode"

	"mediagate"
	"mediagate/urlsign"
)

type instruction struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
}

func (s *Server) createUpload(w http.ResponseWriter, r *http.Request) {
	req, err := decode[struct {
		Filename    string `json:"filename"`
		ContentType string `json:"content_type"`
		Size        int64  `json:"size"`
		SHA256      string `json:"sha256"`
		Multipart   bool   `json:"multipart"`
		PartSize    int64  `json:"part_size"`
	}](r)
	if err != nil {
		writeError(w, err)
		return
	}
	name, err := sanitizeFilename(req.Filename)
	if err != nil {
		writeError(w, err)
		return
	}
	ct := mediaType(req.ContentType)
	switch {
	case req.ContentType == "":
		err = errorf(mediagate.EINVALID, "content_type is required")
	case ct == "":
		err = errorf(mediagate.EINVALID, "content_type %q is not a media type", req.ContentType)
	case !s.allowedType(ct):
		err = errorf(mediagate.EUNSUPPORTED, "content type %s is not allowed here (allowed: %s)", ct, strings.Join(s.cfg.AllowedTypes, ", "))
	case req.Size <= 0:
		err = errorf(mediagate.EINVALID, "size must be a positive number of bytes")
	case req.Size > s.cfg.MaxObjectSize:
		err = errorf(mediagate.ETOOLARGE, "size %d is over the limit of %d bytes", req.Size, s.cfg.MaxObjectSize)
	}
	sum := strings.ToLower(req.SHA256)
	if b, herr := hex.DecodeString(sum); err == nil && sum != "" && (herr != nil || len(b) != 32) {
		err = errorf(mediagate.EINVALID, "sha256 must be 64 hex digits")
	}
	var partSize int64
	if err == nil && (req.Multipart || req.PartSize > 0 || req.Size > s.cfg.MaxSinglePut) {
		partSize, err = s.choosePartSize(req.Size, req.PartSize)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	t := now()
	exp := t.Add(s.cfg.UploadTTL)
	id := mediagate.NewID(mediagate.PrefixObject)
	o := &object{Object: mediagate.Object{ID: id, AccountID: principalOf(r).accountID, Key: id[4:6] + "/" + id,
		Filename: name, ContentType: ct, Size: req.Size, SHA256: sum, State: mediagate.StatePending,
		PartSize: partSize, ExpiresAt: &exp, CreatedAt: t, UpdatedAt: t}}
	if partSize > 0 {
		o.UploadID, o.parts = "mp-"+id, map[int][]byte{}
	}
	s.mu.Lock()
	s.seq++
	o.seq = s.seq
	s.objects[id] = o
	resp := map[string]any{"object": o.json()}
	if o.UploadID != "" {
		resp["multipart"] = o.json().Multipart
	} else {
		resp["upload"] = s.putInstruction(&o.Object, 0)
	}
	s.mu.Unlock()
	w.Header().Set("Location", "/v1/objects/"+id)
	encode(w, http.StatusCreated, resp)
}

func (s *Server) choosePartSize(size, asked int64) (int64, error) {
	if asked > 0 {
		if asked < s.cfg.MinPartSize || asked > s.cfg.MaxSinglePut {
			return 0, errorf(mediagate.EINVALID, "part_size must be between %d and %d bytes", s.cfg.MinPartSize, s.cfg.MaxSinglePut)
		}
		if partCount(size, asked) > mediagate.MaxParts {
			return 0, errorf(mediagate.EINVALID, "part_size %d makes more than %d parts", asked, mediagate.MaxParts)
		}
		return asked, nil
	}
	ps := s.cfg.PartSize
	for partCount(size, ps) > mediagate.MaxParts {
		ps *= 2
	}
	return min(ps, s.cfg.MaxSinglePut), nil
}

// putInstruction signs the PUT of a whole object (part 0) or of one part.
func (s *Server) putInstruction(o *mediagate.Object, part int) instruction {
	g := urlsign.Grant{Method: http.MethodPut, Key: o.Key, Expires: *o.ExpiresAt, MaxSize: o.Size,
		ContentType: o.ContentType, AccountID: o.AccountID}
	headers := map[string]string{"Content-Type": o.ContentType}
	if part > 0 {
		g.UploadID, g.Part, g.MaxSize, g.ContentType = o.UploadID, part, partLen(o.Size, o.PartSize, part), ""
		headers = map[string]string{}
	}
	return instruction{Method: http.MethodPut, URL: s.signer.URL(s.URL, g), Headers: headers, ExpiresAt: o.ExpiresAt.UTC()}
}

// pending returns the caller's pending object named in the path; s.mu is held.
func (s *Server) pending(r *http.Request, multipart bool) (*object, error) {
	id := r.PathValue("id")
	o := s.objects[id]
	switch {
	case !mediagate.ValidID(mediagate.PrefixObject, id) || o == nil || o.AccountID != principalOf(r).accountID ||
		o.State == mediagate.StateDeleted:
		return nil, errorf(mediagate.ENOTFOUND, "upload %q not found", id)
	case o.State != mediagate.StatePending:
		return nil, errorf(mediagate.ECONFLICT, "object %s is %s, not pending", o.ID, o.State)
	case !time.Now().Before(*o.ExpiresAt):
		return nil, errorf(mediagate.EGONE, "upload %s expired", o.ID)
	case multipart && o.UploadID == "":
		return nil, errorf(mediagate.ECONFLICT, "upload %s is a single PUT, not multipart", o.ID)
	}
	return o, nil
}

func (s *Server) signParts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.pending(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	req, err := decode[struct {
		Parts []int `json:"parts"`
	}](r)
	if err != nil {
		writeError(w, err)
		return
	}
	n := partCount(o.Size, o.PartSize)
	if len(req.Parts) == 0 || len(req.Parts) > 1000 {
		writeError(w, errorf(mediagate.EINVALID, "parts must list 1 to 1000 part numbers"))
		return
	}
	type partInstruction struct {
		Number int `json:"number"`
		instruction
	}
	out := make([]partInstruction, 0, len(req.Parts))
	for _, p := range req.Parts {
		if p < 1 || p > n {
			writeError(w, errorf(mediagate.EINVALID, "part %d is out of range: this upload has parts 1 to %d", p, n))
			return
		}
		out = append(out, partInstruction{p, s.putInstruction(&o.Object, p)})
	}
	encode(w, http.StatusOK, map[string]any{"parts": out})
}

type partJSON struct {
	Number int    `json:"number"`
	Size   int64  `json:"size"`
	ETag   string `json:"etag"`
}

func (s *Server) listParts(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.pending(r, true)
	if err != nil {
		writeError(w, err)
		return
	}
	out := make([]partJSON, 0, len(o.parts))
	for n, b := range o.parts {
		out = append(out, partJSON{n, int64(len(b)), partETag(b)})
	}
	slices.SortFunc(out, func(a, b partJSON) int { return a.Number - b.Number })
	encode(w, http.StatusOK, map[string]any{"parts": out})
}

func (s *Server) abort(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.pending(r, false)
	if err != nil {
		writeError(w, err)
		return
	}
	s.markDeleted(o)
	w.WriteHeader(http.StatusNoContent)
}

// complete verifies what arrived as package api does: every part with its
// size, then size, checksum and content type. Missing bytes are a conflict
// (the upload stays pending); a mismatch deletes the object.
func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.pending(r, false)
	if err != nil {
		writeError(w, err)
		return
	}
	if _, err := decode[struct{}](r); err != nil {
		writeError(w, err)
		return
	}
	data, err := assemble(o)
	if err != nil {
		writeError(w, err)
		return
	}
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	sniffed := mediaType(http.DetectContentType(data))
	switch {
	case int64(len(data)) != o.Size:
		err = errorf(mediagate.EMISMATCH, "size mismatch: declared %d bytes, received %d", o.Size, len(data))
	case o.SHA256 != "" && o.SHA256 != hexSum:
		err = errorf(mediagate.EMISMATCH, "checksum mismatch: declared sha256 %s, received %s", o.SHA256, hexSum)
	case sniffed != o.ContentType:
		err = errorf(mediagate.EMISMATCH, "content type mismatch: declared %s, but the bytes are %s", o.ContentType, sniffed)
	case !s.allowedType(sniffed):
		err = errorf(mediagate.EUNSUPPORTED, "the bytes are %s, which is not allowed here", sniffed)
	}
	if err != nil {
		s.markDeleted(o)
		writeError(w, err)
		return
	}
	o.data, o.parts, o.State, o.SHA256, o.ContentType, o.ExpiresAt, o.UpdatedAt =
		data, nil, mediagate.StateReady, hexSum, sniffed, nil, now()
	encode(w, http.StatusOK, o.json())
}

func assemble(o *object) ([]byte, error) {
	if o.UploadID == "" {
		if !o.got {
			return nil, errorf(mediagate.ECONFLICT, "no bytes have arrived for %s yet: PUT them to the upload URL first", o.ID)
		}
		return o.data, nil
	}
	n := partCount(o.Size, o.PartSize)
	var missing []int
	var buf bytes.Buffer
	for i := 1; i <= n; i++ {
		b, ok := o.parts[i]
		if !ok {
			missing = append(missing, i)
			continue
		}
		if want := partLen(o.Size, o.PartSize, i); int64(len(b)) != want {
			return nil, errorf(mediagate.ECONFLICT, "part %d has %d bytes, want %d: upload it again", i, len(b), want)
		}
		buf.Write(b)
	}
	if len(missing) > 0 {
		return nil, errorf(mediagate.ECONFLICT, "%d of %d parts have not arrived (first missing: %d)", len(missing), n, missing[0])
	}
	if len(o.parts) > n {
		return nil, errorf(mediagate.ECONFLICT, "parts beyond %d arrived; abort and start again", n)
	}
	return buf.Bytes(), nil
}

func (s *Server) allowedType(ct string) bool {
	active := []string{"text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript", "text/xml", "application/xml"}
	for _, a := range s.cfg.AllowedTypes {
		if a == ct {
			return true
		}
		if major, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(ct, major+"/") && !slices.Contains(active, ct) {
			return true
		}
	}
	return false
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}

func sanitizeFilename(name string) (string, error) {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(path.Clean("/" + name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == ';' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	switch {
	case name == "" || name == "/":
		return "", errorf(mediagate.EINVALID, "filename is required and must name a file")
	case len(name) > 255:
		return "", errorf(mediagate.EINVALID, "filename must be at most 255 bytes")
	}
	return name, nil
}
