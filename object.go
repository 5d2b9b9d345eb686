package mediagate

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ObjectState is where an object is in its life.
type ObjectState string

// An object is pending from create-upload until its bytes are verified, then
// ready; deleted is final (by the owner, by a failed verification, or because
// a pending upload expired).
const (
	StatePending ObjectState = "pending"
	StateReady   ObjectState = "ready"
	StateDeleted ObjectState = "deleted"
)

// Object is a stored file. Its storage Key is server-made; the user's Filename
// is metadata only and never touches a path.
type Object struct {
	ID             string
	AccountID      string
	Key            string // blob store key
	Filename       string
	ContentType    string // declared while pending, sniffed from the bytes once ready
	Size           int64  // declared while pending, measured once ready
	SHA256         string // lower-case hex; declared (optional) while pending, measured once ready
	State          ObjectState
	Pinned         bool       // the owner pinned it; PinState says whether the pin is in force
	PinSuspendedAt *time.Time // when the pin was suspended for want of credit; nil if not
	UploadID       string     // multipart upload id, "" for a single PUT
	PartSize       int64      // multipart part size, 0 for a single PUT
	ExpiresAt      *time.Time // a pending upload's deadline; nil once ready
	HoldID         string     // the ledger hold that pays for a pending upload
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// ObjectKey is the storage key of the object id: the id under a
// two-character directory, so no directory of a local store grows past
// ~1000 entries per million objects.
func ObjectKey(id string) string {
	rest := strings.TrimPrefix(id, PrefixObject)
	return rest[:2] + "/" + id
}

// PrepareReady checks an object the server made ready itself, before a
// store's PutObjects stores it, and sets a zero UpdatedAt to CreatedAt.
// EINVALID unless it has an object id, an account, a key and a content
// type, is ready with a size and a lower-case hex SHA-256 as measured, and
// has no deadline and no suspended pin. Stores call it in PutObjects, on
// every object of a batch before they store any.
func (o *Object) PrepareReady() error {
	switch {
	case !ValidID(PrefixObject, o.ID):
		return Errorf(EINVALID, "invalid object id %q", o.ID)
	case o.State != StateReady:
		return Errorf(EINVALID, "object %s is %q, not ready", o.ID, o.State)
	case o.AccountID == "" || o.Key == "" || o.ContentType == "":
		return Errorf(EINVALID, "object %s: account, key and content type are required", o.ID)
	case o.Size < 0 || !lowerHex(o.SHA256, 64):
		return Errorf(EINVALID, "object %s: size %d and SHA-256 %q are not measured ones", o.ID, o.Size, o.SHA256)
	case o.ExpiresAt != nil || o.PinSuspendedAt != nil:
		return Errorf(EINVALID, "object %s: a new ready object has no deadline and no suspended pin", o.ID)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	return nil
}

// lowerHex reports whether s is n lower-case hex digits.
func lowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ObjectFilter selects and pages objects. Zero values mean "any".
type ObjectFilter struct {
	State       ObjectState // default: pending and ready, never deleted
	ContentType string      // exact ("image/png") or a major type with a slash ("image/")
	Pinned      *bool
	// Name selects objects whose Filename contains it. Only ASCII letters
	// are folded: A–Z match a–z, and every other character matches only
	// itself, byte for byte (É does not match é). It is plain text: %, _
	// and \ match themselves, never as wildcards. CheckNameFilter says
	// what a store takes. Stores find it by scanning the account's
	// objects newest first, as far as it takes to fill the page.
	Name   string
	Limit  int    // 1..1000, default 100
	Cursor string // from a previous page's next cursor
}

// MaxNameFilter is the longest ObjectFilter.Name, in bytes: room for any
// search a person types, and a bound on the work of matching it against
// each filename.
const MaxNameFilter = 200

// CheckNameFilter returns EINVALID unless name is an ObjectFilter.Name a
// store takes: at most MaxNameFilter bytes of UTF-8 without control
// characters (no filename has any: SanitizeFilename drops them).
func CheckNameFilter(name string) error {
	switch {
	case len(name) > MaxNameFilter:
		return Errorf(EINVALID, "name must be at most %d bytes, not %d", MaxNameFilter, len(name))
	case !utf8.ValidString(name):
		return Errorf(EINVALID, "name must be UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return Errorf(EINVALID, "name must not contain control characters")
	}
	return nil
}

// ObjectStore keeps object metadata. Every method that takes an accountID
// answers ENOTFOUND for another account's object, never EFORBIDDEN.
type ObjectStore interface {
	// CreateObject stores a new pending object.
	CreateObject(ctx context.Context, o *Object) error
	// Object returns the account's object, or ENOTFOUND if it is absent or deleted.
	Object(ctx context.Context, accountID, id string) (*Object, error)
	// Objects returns one page of the account's objects, newest first, and the
	// cursor of the next page ("" on the last). A malformed cursor, or a
	// Name that CheckNameFilter refuses, is EINVALID.
	Objects(ctx context.Context, accountID string, f ObjectFilter) ([]*Object, string, error)
	// PutObjects stores objects the server made ready itself (the bodies a
	// fetch stored), skipping any whose id exists already, so a batch
	// stored twice is stored once; it returns how many it created. Each
	// must be ready, with its key, size, hash and type. ENOTFOUND if an
	// account does not exist.
	PutObjects(ctx context.Context, objs []*Object) (int, error)
	// CompleteObject makes a pending object ready with the measured size, hash
	// and content type, and clears its deadline. It returns ENOTFOUND if there is
	// no such object and ECONFLICT if it is not pending.
	CompleteObject(ctx context.Context, accountID, id string, size int64, sha256, contentType string, t time.Time) (*Object, error)
	// DeleteObject marks a pending or ready object deleted, to be purged from
	// the blob store, and ends its pin as unpinning does. It returns
	// ENOTFOUND if it is absent or already deleted.
	DeleteObject(ctx context.Context, accountID, id string, t time.Time) (*Object, error)
	// SetPinned pins or unpins a ready object at t; ENOTFOUND if none,
	// ECONFLICT if it is not ready. Pinning starts a pin's accrual, or
	// resumes a suspended pin; pinning an active pin changes nothing but
	// UpdatedAt. Unpinning an active pin adds what it accrued to the
	// account's pin meter (PinStore).
	SetPinned(ctx context.Context, accountID, id string, pinned bool, t time.Time) (*Object, error)
	// ExpirePending marks deleted, at most limit, pending objects whose deadline
	// is before t, and returns how many it marked. An expired upload whose
	// hold was settled (its completion was charged but it never became
	// ready) is refunded in the same transaction: a credit of the settled
	// amount, operation RefundOperation, idempotency key RefundKey(hold).
	ExpirePending(ctx context.Context, t time.Time, limit int) (int, error)
	// Unpurged returns at most limit deleted objects whose bytes have not been
	// confirmed gone from the blob store.
	Unpurged(ctx context.Context, limit int) ([]*Object, error)
	// MarkPurged records that the bytes of the given objects are gone.
	MarkPurged(ctx context.Context, ids []string) error
	// CountObjects returns how many objects are in each state, for metrics.
	CountObjects(ctx context.Context) (map[ObjectState]int64, error)
}
