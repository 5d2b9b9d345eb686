package client

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
)

// sendParts sends the parts of a multipart upload the server does not have
// yet, with opt.Parallel workers, then completes the upload.
func (u *fileUpload) sendParts(ctx context.Context, id string, mp *Multipart, have []Part) (*Object, error) {
	got := make(map[int]bool, len(have))
	for _, p := range have {
		if p.Number >= 1 && p.Number <= mp.PartCount && p.Size == mp.PartLen(u.size, p.Number) && !got[p.Number] {
			got[p.Number] = true
			u.p.add(p.Size)
		}
	}
	var need []int
	for n := 1; n <= mp.PartCount; n++ {
		if !got[n] {
			need = append(need, n)
		}
	}
	if err := u.putParts(ctx, id, mp, need); err != nil {
		return nil, u.failed(id, err)
	}
	o, err := u.c.CompleteUpload(ctx, id)
	if err != nil {
		return nil, u.failed(id, fmt.Errorf("complete: %w", err))
	}
	u.forget()
	return o, nil
}

// putParts PUTs the parts numbered in need, signing their URLs in batches as
// the workers get to them. It stops at the first part that fails for good.
func (u *fileUpload) putParts(ctx context.Context, id string, mp *Multipart, need []int) error {
	if len(need) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan PartURL)
	workers := min(u.opt.Parallel, len(need))
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for pu := range jobs {
				if err := u.putPart(ctx, mp, pu); err != nil {
					cancel(fmt.Errorf("part %d: %w", pu.Number, err))
					return
				}
			}
		})
	}
	batch := min(MaxSignParts, max(8*workers, 64))
produce:
	for i := 0; i < len(need); i += batch {
		urls, err := u.c.SignParts(ctx, id, need[i:min(i+batch, len(need))])
		if err != nil {
			cancel(fmt.Errorf("sign part URLs: %w", err))
			break
		}
		for _, pu := range urls {
			select {
			case jobs <- pu:
			case <-ctx.Done():
				break produce
			}
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}

// putPart sends one part straight from the file.
func (u *fileUpload) putPart(ctx context.Context, mp *Multipart, pu PartURL) error {
	if pu.Number < 1 || pu.Number > mp.PartCount {
		return fmt.Errorf("the server signed a URL for part %d of %d", pu.Number, mp.PartCount)
	}
	off, n := int64(pu.Number-1)*mp.PartSize, mp.PartLen(u.size, pu.Number)
	return u.retry(ctx, func() error {
		_, err := u.c.putSigned(ctx, &pu.SignedURL, u.f, off, n, u.p)
		return err
	})
}

// failed decides what becomes of an upload that failed: resumable ones keep
// their state, others are aborted or forgotten.
func (u *fileUpload) failed(id string, err error) error {
	switch {
	case u.state == nil:
		u.abort(id)
		return fmt.Errorf("upload %s: %w", id, err)
	case finalForUpload(err):
		u.forget()
		return fmt.Errorf("upload %s: %w", id, err)
	}
	return fmt.Errorf("upload %s (resumable: upload the same file again): %w", id, err)
}

// finalForUpload says whether err means the upload cannot go on: the server
// deleted it (a failed verification), it expired, or it is gone.
func finalForUpload(err error) bool {
	for _, code := range []string{"verification_failed", "unsupported_type", "not_found", "gone"} {
		if IsCode(err, code) {
			return true
		}
	}
	return false
}

// resume carries on with the upload recorded for this file, if any. done is
// false if there is nothing to resume: UploadFile then starts afresh.
func (u *fileUpload) resume(ctx context.Context) (o *Object, done bool, err error) {
	s, err := loadState(u.stateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil || !s.sameFile(u.state) || s.ObjectID == "" || s.PartSize <= 0 || s.PartCount <= 0 {
		u.forget() // unreadable, or another file's
		return nil, false, nil
	}
	have, err := u.c.ListParts(ctx, s.ObjectID)
	switch {
	case err == nil:
	case IsCode(err, "conflict"):
		// No longer pending: an earlier run may have completed it and stopped
		// before it could forget it.
		o, oerr := u.c.Object(ctx, s.ObjectID)
		u.forget()
		if oerr == nil && o.State == StateReady && o.Size == u.size && (s.SHA256 == "" || o.SHA256 == s.SHA256) {
			return o, true, nil
		}
		return nil, false, nil
	case finalForUpload(err):
		u.forget() // expired or deleted: start again
		return nil, false, nil
	default:
		return nil, true, fmt.Errorf("resume upload %s: %w", s.ObjectID, err)
	}
	*u.state = *s
	o, err = u.sendParts(ctx, s.ObjectID, &Multipart{PartSize: s.PartSize, PartCount: s.PartCount}, have)
	return o, true, err
}

// forget removes the upload's state file, if resuming is on.
func (u *fileUpload) forget() {
	if u.state != nil {
		os.Remove(u.stateFile)
	}
}
