package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gabriel-vasile/mimetype"

	"mediagate"
	"mediagate/apiv1"
)

// submission is a job submit request, whatever its form.
type submission struct {
	typ         *jobType
	params      json.RawMessage
	callbackURL string
	input       *mediagate.Object // an object of the account, ready; or nil with body set
	body        io.Reader
	filename    string
}

// handleSubmitJob takes a job three ways: JSON naming an uploaded object,
// the input as the raw body (?type=, ?params=), or multipart/form-data with
// a "file" part. The input must be a type the job type accepts, by its
// magic bytes; raw and form inputs are stored only once that is checked.
// The job's price is held; 202 points at the job.
func handleSubmitJob(h *jobs) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		sub, cleanup, err := h.readSubmission(w, r, p.AccountID)
		if cleanup != nil {
			defer cleanup()
		}
		if err != nil {
			writeError(w, r, err)
			return
		}
		j, err := h.submit(r.Context(), p.AccountID, sub)
		if err != nil {
			writeError(w, r, err)
			return
		}
		retry := h.retryAfter(r.Context(), j)
		h.gatePoll(r.Context(), j, retry) // the first poll waits Retry-After too
		w.Header().Set("Location", "/v1/jobs/"+j.ID)
		w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)))
		encode(w, http.StatusAccepted, h.jobJSON(r.Context(), j))
	})
}

// readSubmission parses the request in whichever of the three forms it has.
// cleanup, when not nil, must run after the request (it closes a form).
func (h *jobs) readSubmission(w http.ResponseWriter, r *http.Request, accountID string) (*submission, func(), error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		req, err := decode[apiv1.SubmitJobRequest](w, r)
		if err != nil {
			return nil, nil, err
		}
		sub, err := h.newSubmission(req.Type, req.Params, req.CallbackURL)
		if err != nil {
			return nil, nil, err
		}
		if !mediagate.ValidID(mediagate.PrefixObject, req.InputObjectID) {
			return nil, nil, mediagate.Errorf(mediagate.EINVALID, "input_object_id must name an object (obj_…)")
		}
		o, err := h.objects.Object(r.Context(), accountID, req.InputObjectID)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case o.State != mediagate.StateReady:
			return nil, nil, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s; a job needs a ready object", o.ID, o.State)
		case !sub.typ.accepts(o.ContentType):
			return nil, nil, mediagate.Errorf(mediagate.EUNSUPPORTED, "job type %s takes %s, and object %s is %s",
				sub.typ.Name, strings.Join(sub.typ.ContentTypes, ", "), o.ID, o.ContentType)
		case o.Size > sub.typ.MaxInputSize:
			return nil, nil, mediagate.Errorf(mediagate.ETOOLARGE, "job type %s takes at most %d bytes; object %s has %d",
				sub.typ.Name, sub.typ.MaxInputSize, o.ID, o.Size)
		}
		sub.input = o
		return sub, nil, nil
	case "multipart/form-data":
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, nil, mediagate.Errorf(mediagate.EINVALID, "bad multipart body: %v", err)
		}
		fields := map[string]string{}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, nil, mediagate.Errorf(mediagate.EINVALID, "the form has no \"file\" part")
			} else if err != nil {
				return nil, nil, mediagate.Errorf(mediagate.EINVALID, "bad multipart body: %v", err)
			}
			name := part.FormName()
			if name == "file" {
				// Fields must come before the file, which is streamed.
				sub, err := h.newSubmission(fields["type"], []byte(fields["params"]), fields["callback_url"])
				if err != nil {
					part.Close()
					return nil, nil, err
				}
				sub.body, sub.filename = part, part.FileName()
				return sub, func() { part.Close() }, nil
			}
			v, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
			part.Close()
			if err != nil || len(v) > 64<<10 {
				return nil, nil, mediagate.Errorf(mediagate.EINVALID, "form field %q is unreadable or over 64 KiB", name)
			}
			fields[name] = string(v)
		}
	default:
		q := r.URL.Query()
		sub, err := h.newSubmission(q.Get("type"), []byte(q.Get("params")), q.Get("callback_url"))
		if err != nil {
			return nil, nil, err
		}
		sub.body, sub.filename = r.Body, q.Get("filename")
		return sub, nil, nil
	}
}

// newSubmission checks what every form of submit carries.
func (h *jobs) newSubmission(typeName string, params []byte, callback string) (*submission, error) {
	t, err := h.jobType(typeName)
	if err != nil {
		return nil, err
	}
	ps, err := t.params(params)
	if err != nil {
		return nil, err
	}
	if callback != "" {
		u, err := url.Parse(callback)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(callback) > 2048 {
			return nil, mediagate.Errorf(mediagate.EINVALID, "callback_url must be an http or https URL")
		}
	}
	return &submission{typ: t, params: ps, callbackURL: callback}, nil
}

// submit stores a raw or form input (after checking its type by its first
// bytes), holds the job's price and queues it. If the hold or the queue
// refuses, the stored input is deleted again: nothing is left half-made.
func (h *jobs) submit(ctx context.Context, accountID string, sub *submission) (*mediagate.Job, error) {
	now := h.now().UTC().Truncate(time.Microsecond)
	stored := false
	if sub.input == nil {
		o, err := h.storeInput(ctx, accountID, sub, now)
		if err != nil {
			return nil, err
		}
		sub.input, stored = o, true
	}
	undo := func() {
		if stored {
			if o, err := h.objects.DeleteObject(context.WithoutCancel(ctx), accountID, sub.input.ID, now); err == nil {
				purge(ctx, h.objects, h.blobs, o)
			}
		}
	}
	j := &mediagate.Job{ID: mediagate.NewID(mediagate.PrefixJob), AccountID: accountID, Type: sub.typ.Name,
		Params: sub.params, InputObjectID: sub.input.ID, MaxAttempts: sub.typ.MaxAttempts, RunAfter: now,
		CallbackURL: sub.callbackURL, TTL: sub.typ.TTL.Duration, CreatedAt: now}
	hold, err := h.ledger.Hold(ctx, accountID, sub.typ.Price, "job", j.ID, jobHoldTTL)
	if err != nil {
		undo()
		return nil, err
	}
	j.HoldID = hold.ID
	if err := h.store.CreateJob(context.WithoutCancel(ctx), j); err != nil {
		h.ledger.Release(context.WithoutCancel(ctx), hold.ID)
		undo()
		return nil, err
	}
	return j, nil
}

// storeInput streams a submitted body into a new ready object of the
// account, once its first bytes show a type the job type takes.
func (h *jobs) storeInput(ctx context.Context, accountID string, sub *submission, now time.Time) (*mediagate.Object, error) {
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(sub.body, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, mediagate.Errorf(mediagate.EINVALID, "reading the input: %v", err)
	}
	head = head[:n]
	if n == 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "the input is empty")
	}
	ct := mediaType(mimetype.Detect(head).String())
	if !sub.typ.accepts(ct) {
		return nil, mediagate.Errorf(mediagate.EUNSUPPORTED, "job type %s takes %s; the input is %s",
			sub.typ.Name, strings.Join(sub.typ.ContentTypes, ", "), ct)
	}
	name, err := mediagate.SanitizeFilename(sub.filename)
	if err != nil || sub.filename == "" {
		name = "input"
	}
	id := mediagate.NewID(mediagate.PrefixObject)
	o := &mediagate.Object{ID: id, AccountID: accountID, Key: mediagate.ObjectKey(id), Filename: name, ContentType: ct,
		State: mediagate.StatePending, CreatedAt: now, UpdatedAt: now}
	info, err := h.blobs.Put(ctx, o.Key, io.MultiReader(bytes.NewReader(head), sub.body), sub.typ.MaxInputSize)
	if mediagate.ErrorCode(err) == mediagate.ETOOLARGE {
		return nil, mediagate.Errorf(mediagate.ETOOLARGE, "job type %s takes at most %d bytes", sub.typ.Name, sub.typ.MaxInputSize)
	} else if err != nil {
		return nil, err
	}
	o.Size, o.SHA256 = info.Size, info.SHA256
	wctx := context.WithoutCancel(ctx)
	if err := h.objects.CreateObject(wctx, o); err != nil {
		h.blobs.Delete(wctx, o.Key)
		return nil, err
	}
	done, err := h.objects.CompleteObject(wctx, accountID, o.ID, info.Size, info.SHA256, ct, now)
	if err != nil {
		if d, derr := h.objects.DeleteObject(wctx, accountID, o.ID, now); derr == nil {
			purge(ctx, h.objects, h.blobs, d)
		}
		return nil, err
	}
	return done, nil
}
