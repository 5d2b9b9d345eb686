package fakeapi

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"mediagate"
)

// blobPut takes the bytes of an upload or a part through a signed URL. Like
// an object store, it refuses a request that also carries an Authorization
// header: a signed URL is the only credential.
func (s *Server) blobPut(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	g, err := s.signer.Verify(http.MethodPut, key, r.URL.Query(), time.Now())
	if err == nil && r.Header.Get("Authorization") != "" {
		err = errorf(mediagate.EINVALID, "a signed URL takes no Authorization header")
	}
	if err == nil && g.ContentType != "" && mediaType(r.Header.Get("Content-Type")) != g.ContentType {
		err = errorf(mediagate.EFORBIDDEN, "Content-Type must be %s, as the URL was signed for", g.ContentType)
	}
	if err == nil && r.ContentLength > g.MaxSize {
		err = errorf(mediagate.ETOOLARGE, "body of %d bytes is over the %d this URL allows", r.ContentLength, g.MaxSize)
	}
	id := path.Base(key)
	s.mu.Lock()
	o := s.objects[id]
	if err == nil && (o == nil || o.Key != key || o.AccountID != g.AccountID) {
		err = errorf(mediagate.ENOTFOUND, "object %s not found", id)
	}
	if err == nil && o.State != mediagate.StatePending {
		err = errorf(mediagate.ECONFLICT, "object %s is %s and takes no more bytes", o.ID, o.State)
	}
	if err == nil && s.beforePut != nil {
		if herr := s.beforePut(id, g.Part); herr != nil {
			err = fmt.Errorf("injected failure: %w", herr)
		}
	}
	s.mu.Unlock()
	if err != nil {
		s.recordPut(id, g.Part, 0, err)
		writeError(w, err)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, g.MaxSize+1))
	switch {
	case err != nil:
		err = errorf(mediagate.EINVALID, "request body ended early: %v", err)
	case int64(len(data)) > g.MaxSize:
		err = errorf(mediagate.ETOOLARGE, "body over the %d bytes this URL allows", g.MaxSize)
	}
	if err != nil {
		s.recordPut(id, g.Part, 0, err)
		writeError(w, err)
		return
	}
	s.mu.Lock()
	if o.State != mediagate.StatePending {
		err = errorf(mediagate.ECONFLICT, "object %s is %s and takes no more bytes", o.ID, o.State)
	} else if g.UploadID != "" {
		o.parts[g.Part] = data
		w.Header().Set("ETag", partETag(data))
	} else {
		o.data, o.got = data, true
		sum := sha256.Sum256(data)
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:])+`"`)
	}
	s.mu.Unlock()
	s.recordPut(id, g.Part, int64(len(data)), err)
	if err != nil {
		w.Header().Del("ETag")
		writeError(w, err)
		return
	}
	encode(w, http.StatusOK, map[string]int64{"size": int64(len(data))})
}

func (s *Server) recordPut(id string, part int, size int64, err error) {
	status := http.StatusOK
	if err != nil {
		status = statusOf[mediagate.ErrorCode(err)]
	}
	s.mu.Lock()
	s.puts = append(s.puts, Put{ObjectID: id, Part: part, Size: size, Status: status})
	s.mu.Unlock()
}

// partETag is a part's ETag as S3 makes it: the quoted MD5 of its bytes.
func partETag(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// blobGet serves a ready object's bytes through a signed URL, with Range and
// the file name in Content-Disposition.
func (s *Server) blobGet(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	g, err := s.signer.Verify(r.Method, key, r.URL.Query(), time.Now())
	if err == nil && r.Header.Get("Authorization") != "" {
		err = errorf(mediagate.EINVALID, "a signed URL takes no Authorization header")
	}
	s.mu.Lock()
	o := s.objects[path.Base(key)]
	var data []byte
	var mod time.Time
	if err == nil && (o == nil || o.Key != key || o.State != mediagate.StateReady) {
		err = errorf(mediagate.ENOTFOUND, "blob %s not found", key)
	}
	if err == nil {
		data, mod = o.data, o.UpdatedAt
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", g.ContentType)
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, mod.UnixNano(), len(data)))
	if g.Filename != "" {
		// Media inline, anything else (or anything with ?download) as an attachment.
		disp := "attachment"
		major, _, _ := strings.Cut(g.ContentType, "/")
		if !r.URL.Query().Has("download") && (major == "image" || major == "audio" || major == "video" ||
			g.ContentType == "application/pdf" || g.ContentType == "text/plain") {
			disp = "inline"
		}
		w.Header().Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": g.Filename}))
	}
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
}
