package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"

	"github.com/gabriel-vasile/mimetype"

	"mediagate"
)

// sniffLen is how many leading bytes content sniffing reads.
const sniffLen = 3072

// handleCompleteUpload verifies what arrived for a pending upload: all parts
// (multipart), the size, the SHA-256 when one was declared, and the real
// content type by its magic bytes. Only then is the object ready. A mismatch
// deletes the object and its bytes and answers 422 saying what was wrong.
func handleCompleteUpload(u *uploads) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o, ok := u.pendingObject(w, r)
		if !ok {
			return
		}
		if _, err := decode[struct{}](w, r); err != nil {
			writeError(w, r, err)
			return
		}
		done, err := u.finish(r.Context(), o)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, newObjectJSON(done))
	})
}

// finish verifies what arrived for the pending object o — all parts
// (multipart), the size, the SHA-256 when one was declared, the real content
// type by its magic bytes — and only then settles its hold and makes it
// ready. A mismatch deletes the object and its bytes and answers EMISMATCH or
// EUNSUPPORTED saying what was wrong; missing bytes are ECONFLICT.
func (u *uploads) finish(ctx context.Context, o *mediagate.Object) (*mediagate.Object, error) {
	info, err := u.assemble(ctx, o)
	if err != nil {
		return nil, err
	}
	sum, ct, err := u.verify(ctx, o, info)
	if mediagate.ErrorCode(err) == mediagate.EMISMATCH || mediagate.ErrorCode(err) == mediagate.EUNSUPPORTED {
		if _, derr := u.objects.DeleteObject(ctx, o.AccountID, o.ID, u.now()); derr == nil {
			u.release(ctx, o)
			purge(ctx, u.objects, u.blobs, o)
		}
	}
	if err != nil {
		return nil, err
	}
	// Charge, then make ready: the order never serves an object that is
	// not paid for. Settle is idempotent for the same amount, so if
	// CompleteObject fails, or the process dies between the two, the
	// object stays pending and a retried complete settles again (a
	// no-op) and makes it ready. The hold outlives the upload's deadline
	// (holdMargin), so a complete that passed the deadline check still
	// finds it active. Both steps outlive the request: a client hanging
	// up must not leave a charge without its object.
	wctx := context.WithoutCancel(ctx)
	if o.HoldID != "" { // "": an upload made before uploads were charged
		if _, err := u.ledger.Settle(wctx, o.HoldID, u.uploadCost(info.Size)); err != nil {
			return nil, err
		}
	}
	return u.objects.CompleteObject(wctx, o.AccountID, o.ID, info.Size, sum, ct, u.now())
}

// assemble joins a multipart upload's parts, checking each is there with the
// size the layout gives it, or stats a single PUT's blob. Missing bytes are
// ECONFLICT: the upload stays pending, so the client can still send them.
func (u *uploads) assemble(ctx context.Context, o *mediagate.Object) (mediagate.BlobInfo, error) {
	if o.UploadID == "" {
		info, err := u.blobs.Stat(ctx, o.Key)
		if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
			return info, mediagate.Errorf(mediagate.ECONFLICT, "no bytes have arrived for %s yet: PUT them to the upload URL first", o.ID)
		}
		return info, err
	}
	mp := u.blobs.(mediagate.Multiparter)
	parts, err := mp.ListParts(ctx, o.Key, o.UploadID)
	if err != nil {
		return mediagate.BlobInfo{}, err
	}
	n := partCount(o.Size, o.PartSize)
	have := make(map[int]mediagate.Part, len(parts))
	for _, p := range parts {
		have[p.Number] = p
	}
	var missing []int
	for i := 1; i <= n; i++ {
		p, ok := have[i]
		if !ok {
			missing = append(missing, i)
			continue
		}
		if want := partLen(o.Size, o.PartSize, i); p.Size != want {
			return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.ECONFLICT, "part %d has %d bytes, want %d: upload it again", i, p.Size, want)
		}
	}
	if len(missing) > 0 {
		return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.ECONFLICT, "%d of %d parts have not arrived (first missing: %d)", len(missing), n, missing[0])
	}
	if len(parts) > n {
		return mediagate.BlobInfo{}, mediagate.Errorf(mediagate.ECONFLICT, "parts beyond %d arrived; abort and start again", n)
	}
	return mp.CompleteMultipart(ctx, o.Key, o.UploadID, parts[:n])
}

// verify checks the assembled bytes against the declaration and returns their
// SHA-256 and sniffed content type, or EMISMATCH / EUNSUPPORTED saying why not.
func (u *uploads) verify(ctx context.Context, o *mediagate.Object, info mediagate.BlobInfo) (string, string, error) {
	if info.Size != o.Size {
		return "", "", mediagate.Errorf(mediagate.EMISMATCH, "size mismatch: declared %d bytes, received %d", o.Size, info.Size)
	}
	rc, _, err := u.blobs.Open(ctx, o.Key)
	if err != nil {
		return "", "", err
	}
	defer rc.Close()
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(rc, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", "", fmt.Errorf("read %s for sniffing: %w", o.Key, err)
	}
	head = head[:n]
	sum := info.SHA256
	if sum == "" {
		h := sha256.New()
		h.Write(head)
		if _, err := io.Copy(h, rc); err != nil {
			return "", "", fmt.Errorf("hash %s: %w", o.Key, err)
		}
		sum = hex.EncodeToString(h.Sum(nil))
	}
	if o.SHA256 != "" && sum != o.SHA256 {
		return "", "", mediagate.Errorf(mediagate.EMISMATCH, "checksum mismatch: declared sha256 %s, received %s", o.SHA256, sum)
	}
	ct, err := u.sniff(head, o.ContentType)
	return sum, ct, err
}

// sniff detects the real type of the bytes. It must be allowed and be the
// declared type or a kind of it (text/csv is a kind of text/plain), so a
// script cannot come in as an image.
func (u *uploads) sniff(head []byte, declared string) (string, error) {
	m := mimetype.Detect(head)
	real := mediaType(m.String())
	for t := m; t != nil; t = t.Parent() {
		if t.Is(declared) {
			if !u.cfg.allowedType(real) {
				return "", mediagate.Errorf(mediagate.EUNSUPPORTED, "the bytes are %s, which is not allowed here", real)
			}
			return real, nil
		}
	}
	return "", mediagate.Errorf(mediagate.EMISMATCH, "content type mismatch: declared %s, but the bytes are %s", declared, real)
}
