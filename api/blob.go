package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
	"mediagate/urlsign"
)

// blobs serves the local blob endpoint: signed PUTs of uploads and parts, and
// signed GETs of downloads, straight between the socket and the blob store.
type blobs struct {
	objects mediagate.ObjectStore
	store   mediagate.BlobStore
	signer  *urlsign.Signer
	now     func() time.Time
}

// handleBlobPut takes the bytes of a pending upload (or one of its parts)
// through a URL signed by handleCreateUpload or handleSignParts. The bytes
// stream to the store, which makes them visible only once complete and within
// the signed size.
func handleBlobPut(b *blobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		g, err := b.signer.VerifyQuery(http.MethodPut, key, r.URL.RawQuery, b.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		if g.ContentType != "" && mediaType(r.Header.Get("Content-Type")) != g.ContentType {
			writeError(w, r, mediagate.Errorf(mediagate.EFORBIDDEN, "Content-Type must be %s, as the URL was signed for", g.ContentType))
			return
		}
		if r.ContentLength > g.MaxSize {
			writeError(w, r, mediagate.Errorf(mediagate.ETOOLARGE, "body of %d bytes is over the %d this URL allows", r.ContentLength, g.MaxSize))
			return
		}
		o, err := b.objects.Object(r.Context(), g.AccountID, objectIDOfKey(key))
		switch {
		case err != nil:
			writeError(w, r, err)
			return
		case o.Key != key || o.State != mediagate.StatePending:
			writeError(w, r, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s and takes no more bytes", o.ID, o.State))
			return
		}
		body := &deadlineReader{r: r.Body, rc: http.NewResponseController(w)}
		var info mediagate.BlobInfo
		if g.UploadID != "" {
			mp, ok := b.store.(mediagate.Multiparter)
			if !ok {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "this blob store takes no multipart uploads"))
				return
			}
			var p mediagate.Part
			p, err = mp.PutPart(r.Context(), key, g.UploadID, g.Part, body, g.MaxSize)
			info.Size = p.Size
			w.Header().Set("ETag", p.ETag)
		} else {
			info, err = b.store.Put(r.Context(), key, body, g.MaxSize)
			if info.SHA256 != "" {
				w.Header().Set("ETag", `"`+info.SHA256+`"`)
			}
		}
		if body.err != nil && !errors.Is(body.err, io.EOF) {
			err = mediagate.Errorf(mediagate.EINVALID, "request body ended early: %v", body.err)
		}
		if err != nil {
			w.Header().Del("ETag")
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.BlobPut{Size: info.Size})
	})
}

// deadlineReader pushes the connection's read deadline forward as bytes
// arrive, so a large upload may take as long as it needs while a stalled one
// is cut off, and records the first read error (the client's, not the store's).
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	n    int64
	next int64
	err  error
}

const stallTimeout = 30 * time.Second

func (d *deadlineReader) Read(p []byte) (int, error) {
	if d.n >= d.next {
		d.rc.SetReadDeadline(time.Now().Add(stallTimeout))
		d.next = d.n + 4<<20
	}
	n, err := d.r.Read(p)
	d.n += int64(n)
	if err != nil && d.err == nil {
		d.err = err
	}
	return n, err
}

// handleBlobGet serves the bytes a signed GET URL grants, with Range (single
// and multiple), HEAD, ETag and If-None-Match from http.ServeContent, and
// sendfile(2) when the store hands out a file.
func handleBlobGet(b *blobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.PathValue("key")
		query := r.URL.Query()
		g, err := b.signer.VerifyQuery(r.Method, key, r.URL.RawQuery, b.now())
		if err != nil {
			writeError(w, r, err)
			return
		}
		f, info, err := b.store.Open(r.Context(), key)
		if err != nil {
			writeError(w, r, err)
			return
		}
		defer f.Close()
		h := w.Header()
		ct := g.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		h.Set("ETag", fmt.Sprintf(`"%x-%x"`, info.ModTime.UnixNano(), info.Size))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; media-src 'self'; img-src 'self'; sandbox")
		h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(int64(g.Expires.Sub(b.now())/time.Second), 10)+", immutable")
		if g.Filename != "" {
			h.Set("Content-Disposition", ContentDisposition(ct, g.Filename, query.Has("download")))
		}
		// A large download may take long; allow a minute plus 1 MiB/s.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute + time.Duration(info.Size>>20)*time.Second))
		if g.Length > 0 {
			// A URL for one byte range serves that window as if it were the
			// whole file (Range requests apply within it).
			if g.Offset+g.Length > info.Size {
				writeError(w, r, fmt.Errorf("serve range %d+%d of %s: the blob has %d bytes", g.Offset, g.Length, key, info.Size))
				return
			}
			h.Set("ETag", fmt.Sprintf(`"%x-%x-%x-%x"`, info.ModTime.UnixNano(), info.Size, g.Offset, g.Length))
			http.ServeContent(w, r, "", info.ModTime, window(f, g.Offset, g.Length))
			return
		}
		http.ServeContent(w, r, "", info.ModTime, f)
	})
}

// ContentDisposition is the Content-Disposition of a download of
// filename: media inline, anything else (or anything when download is asked
// for) as an attachment. Edges answer the same.
func ContentDisposition(contentType, filename string, download bool) string {
	disp := "attachment"
	major, _, _ := strings.Cut(contentType, "/")
	if !download && (major == "image" || major == "audio" || major == "video" || contentType == "application/pdf" || contentType == "text/plain") {
		disp = "inline"
	}
	if v := mime.FormatMediaType(disp, map[string]string{"filename": filename}); v != "" {
		return v
	}
	return disp
}

// window returns the bytes [off, off+n) of f as a ReadSeeker of their own:
// a SectionReader when f reads at offsets (a file), else a seekWindow.
func window(f io.ReadSeeker, off, n int64) io.ReadSeeker {
	if ra, ok := f.(io.ReaderAt); ok {
		return io.NewSectionReader(ra, off, n)
	}
	return &seekWindow{rs: f, off: off, n: n}
}

// seekWindow is a window over a ReadSeeker (a blob in S3) that seeks the
// blob only when its own position moved, so a sequential read is one
// ranged read of the store.
type seekWindow struct {
	rs     io.ReadSeeker
	off, n int64 // the window
	pos    int64 // within the window
	moved  bool  // rs is not at off+pos
}

func (w *seekWindow) Read(p []byte) (int, error) {
	if w.pos >= w.n {
		return 0, io.EOF
	}
	if w.pos == 0 || w.moved {
		if _, err := w.rs.Seek(w.off+w.pos, io.SeekStart); err != nil {
			return 0, err
		}
		w.moved = false
	}
	p = p[:min(int64(len(p)), w.n-w.pos)]
	k, err := w.rs.Read(p)
	w.pos += int64(k)
	if err == io.EOF && w.pos < w.n {
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

func (w *seekWindow) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += w.pos
	case io.SeekEnd:
		offset += w.n
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek to %d: before the window", offset)
	}
	if offset != w.pos {
		w.pos, w.moved = offset, true
	}
	return offset, nil
}
