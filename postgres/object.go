package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

const objectColumns = `id, account_id, key, filename, content_type, size, sha256, state, pinned,
	upload_id, part_size, expires_at, created_at, updated_at, hold_id, pin_suspended_at`

const (
	sqlInsertObject = `INSERT INTO objects (` + objectColumns + `)
		VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12, $13, $14, NULL)`
	// Objects the server made ready itself, one per element of the
	// arrays; one pinned starts its pin's accrual as it is stored.
	sqlPutObjects = `INSERT INTO objects (id, account_id, key, filename, content_type, size, sha256, state, pinned,
			upload_id, part_size, created_at, updated_at, hold_id, pin_since)
		SELECT id, account_id, key, filename, content_type, size, sha256, 'ready', pinned,
			upload_id, part_size, created_at, updated_at, hold_id, CASE WHEN pinned THEN updated_at END
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
			$8::boolean[], $9::text[], $10::bigint[], $11::timestamptz[], $12::timestamptz[], $13::text[])
			AS o (id, account_id, key, filename, content_type, size, sha256,
				pinned, upload_id, part_size, created_at, updated_at, hold_id)
		ON CONFLICT (id) DO NOTHING`
	sqlObject = `SELECT ` + objectColumns + ` FROM objects WHERE id = $1 AND account_id = $2 AND state <> 'deleted'`

	// Each update answers with the object as it is after it, or, if it
	// changed nothing, as it is (no row if there is no such object), in one
	// round trip. An object pinned while pending starts its pin's accrual
	// when ready.
	sqlCompleteObject = `WITH u AS (UPDATE objects
			SET state = 'ready', size = $3, sha256 = $4, content_type = $5, expires_at = NULL, updated_at = $6,
				pin_since = CASE WHEN pinned THEN $6::timestamptz END
			WHERE id = $1 AND account_id = $2 AND state = 'pending' RETURNING ` + objectColumns + `)
		` + updateAnswer
	sqlDeleteObject = `WITH u AS (UPDATE objects SET state = 'deleted', pin_since = NULL, updated_at = $3
			WHERE id = $1 AND account_id = $2 AND state <> 'deleted' RETURNING ` + objectColumns + `)
		` + updateAnswer
	// An active pin keeps accruing from where it did; a new or suspended
	// one starts now.
	sqlStartPin = `WITH u AS (UPDATE objects SET pinned = true, pin_since = coalesce(pin_since, $3),
				pin_suspended_at = NULL, updated_at = $3
			WHERE id = $1 AND account_id = $2 AND state = 'ready' RETURNING ` + objectColumns + `)
		` + updateAnswer
	sqlEndPin = `WITH u AS (UPDATE objects SET pinned = false, pin_since = NULL, pin_suspended_at = NULL, updated_at = $3
			WHERE id = $1 AND account_id = $2 AND state = 'ready' RETURNING ` + objectColumns + `)
		` + updateAnswer
	updateAnswer = `SELECT true, ` + objectColumns + ` FROM u
		UNION ALL
		SELECT false, ` + objectColumns + `
		FROM objects WHERE id = $1 AND account_id = $2 AND NOT EXISTS (SELECT 1 FROM u)`

	sqlExpirePending = `UPDATE objects SET state = 'deleted', updated_at = $1
		WHERE id IN (SELECT id FROM objects WHERE state = 'pending' AND expires_at < $1
			ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)
		RETURNING account_id, hold_id`
	sqlUnpurged = `SELECT ` + objectColumns + ` FROM objects
		WHERE state = 'deleted' AND purged_at IS NULL ORDER BY updated_at LIMIT $1`
	sqlMarkPurged   = `UPDATE objects SET purged_at = $1 WHERE id = ANY($2) AND state = 'deleted' AND purged_at IS NULL`
	sqlCountObjects = `SELECT state, count(*) FROM objects GROUP BY state`
)

// CreateObject stores a new pending object; ECONFLICT if its id is taken,
// ENOTFOUND if its account does not exist. It sets o.State to pending, and a
// zero o.UpdatedAt to o.CreatedAt.
func (db *DB) CreateObject(ctx context.Context, o *mediagate.Object) error {
	if o.ID == "" || o.AccountID == "" || o.Key == "" {
		return mediagate.Errorf(mediagate.EINVALID, "object id, account and key are required")
	}
	o.State = mediagate.StatePending
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	_, err := db.pool.Exec(ctx, sqlInsertObject, o.ID, o.AccountID, o.Key, o.Filename, o.ContentType, o.Size, o.SHA256,
		o.Pinned, o.UploadID, o.PartSize, usPtr(o.ExpiresAt), us(o.CreatedAt), us(o.UpdatedAt), o.HoldID)
	switch {
	case err == nil:
		return nil
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "object %s already exists", o.ID)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", o.AccountID)
	}
	return fmt.Errorf("create object %s: %w", o.ID, err)
}

// PutObjects stores ready objects the server made itself, skipping those
// whose id exists, in one statement (the batch as arrays, unnested), and
// returns how many it created. EINVALID if Object.PrepareReady refuses
// one; ENOTFOUND if an account does not exist; either way nothing of the
// batch is stored.
func (db *DB) PutObjects(ctx context.Context, objs []*mediagate.Object) (int, error) {
	for _, o := range objs {
		if err := o.PrepareReady(); err != nil {
			return 0, err
		}
	}
	if len(objs) == 0 {
		return 0, nil
	}
	// The batch as one array per column, in id order: two batches that
	// share ids (a shard run again while its first worker still runs) then
	// wait on each other's rows in one order, never in a cycle.
	sorted := slices.SortedFunc(slices.Values(objs), func(a, b *mediagate.Object) int { return strings.Compare(a.ID, b.ID) })
	var ids, accounts, keys, filenames, types, hashes, uploads, holds []string
	var sizes, partSizes []int64
	var pinned []bool
	var created, updated []time.Time
	for _, o := range sorted {
		ids, accounts, keys = append(ids, o.ID), append(accounts, o.AccountID), append(keys, o.Key)
		filenames, types, hashes = append(filenames, o.Filename), append(types, o.ContentType), append(hashes, o.SHA256)
		sizes, pinned = append(sizes, o.Size), append(pinned, o.Pinned)
		uploads, partSizes, holds = append(uploads, o.UploadID), append(partSizes, o.PartSize), append(holds, o.HoldID)
		created, updated = append(created, us(o.CreatedAt)), append(updated, us(o.UpdatedAt))
	}
	tag, err := db.pool.Exec(ctx, sqlPutObjects, ids, accounts, keys, filenames, types, sizes, hashes,
		pinned, uploads, partSizes, created, updated, holds)
	switch {
	case isForeignKey(err):
		return 0, mediagate.Errorf(mediagate.ENOTFOUND, "the account of one of %d objects does not exist", len(objs))
	case err != nil:
		return 0, fmt.Errorf("put %d objects: %w", len(objs), err)
	}
	return int(tag.RowsAffected()), nil
}

// Object returns the account's object, or ENOTFOUND if it is absent or deleted.
func (db *DB) Object(ctx context.Context, accountID, id string) (*mediagate.Object, error) {
	o, err := scanObject(db.pool.QueryRow(ctx, sqlObject, id, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "object %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("get object %s: %w", id, err)
	}
	return o, nil
}

// CompleteObject makes a pending object ready with the measured size, hash
// and content type, and clears its deadline. ENOTFOUND if the account has no
// such object or it is deleted, ECONFLICT if it is ready.
func (db *DB) CompleteObject(ctx context.Context, accountID, id string, size int64, sha256, contentType string, t time.Time) (*mediagate.Object, error) {
	return updateObject(ctx, db.pool, sqlCompleteObject, id, mediagate.StatePending, id, accountID, size, sha256, contentType, us(t))
}

// DeleteObject marks a pending or ready object deleted, to be purged from the
// blob store, and meters its pin; ENOTFOUND if it is absent or already deleted.
func (db *DB) DeleteObject(ctx context.Context, accountID, id string, t time.Time) (*mediagate.Object, error) {
	var o *mediagate.Object
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) (err error) {
		if err := meterPin(ctx, tx, accountID, id, us(t)); err != nil {
			return err
		}
		o, err = updateObject(ctx, tx, sqlDeleteObject, id, "", id, accountID, us(t))
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// SetPinned pins (or resumes the pin of) or unpins a ready object;
// ENOTFOUND if the account has no such object or it is deleted, ECONFLICT if
// it is pending. Unpinning meters what the pin accrued.
func (db *DB) SetPinned(ctx context.Context, accountID, id string, pinned bool, t time.Time) (*mediagate.Object, error) {
	if pinned {
		return updateObject(ctx, db.pool, sqlStartPin, id, mediagate.StateReady, id, accountID, us(t))
	}
	var o *mediagate.Object
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) (err error) {
		// Only an active pin is metered, and it is on a ready object of
		// the account, which meterPin locks: the update cannot then fail.
		if err := meterPin(ctx, tx, accountID, id, us(t)); err != nil {
			return err
		}
		o, err = updateObject(ctx, tx, sqlEndPin, id, mediagate.StateReady, id, accountID, us(t))
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// updateObject runs query, an update of object id that requires it to be in
// state want ("": any but deleted), and returns the object as it is now. If
// the update changed nothing it answers why: ENOTFOUND if the object is
// absent or deleted, else ECONFLICT.
func updateObject(ctx context.Context, q querier, query, id string, want mediagate.ObjectState, args ...any) (*mediagate.Object, error) {
	var updated bool
	var o mediagate.Object
	err := q.QueryRow(ctx, query, args...).Scan(append([]any{&updated}, objectFields(&o)...)...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "object %s not found", id)
	case err != nil:
		return nil, fmt.Errorf("update object %s: %w", id, err)
	case updated:
		fixObjectTimes(&o)
		return &o, nil
	case o.State == mediagate.StateDeleted || want == "":
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "object %s not found", id)
	}
	return nil, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s, not %s", id, o.State, want)
}

// ExpirePending marks deleted, at most limit, pending objects whose deadline
// is before t, and returns how many it marked. Rows another sweeper is
// expiring are skipped, not waited for. An expired upload whose hold was
// settled is refunded in the same transaction, once (mediagate.RefundKey).
func (db *DB) ExpirePending(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	now := db.now()
	var n int
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlExpirePending, us(t), limit)
		if err != nil {
			return err
		}
		var holds [][2]string // account, hold
		n = 0
		for rows.Next() {
			var accountID, holdID string
			if err := rows.Scan(&accountID, &holdID); err != nil {
				rows.Close()
				return err
			}
			if holdID != "" {
				holds = append(holds, [2]string{accountID, holdID})
			}
			n++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// Accounts in one order, so that two sweepers lock their balances alike.
		slices.SortFunc(holds, func(a, b [2]string) int { return strings.Compare(a[0]+" "+a[1], b[0]+" "+b[1]) })
		for _, h := range holds {
			// The account's lock first, as the ledger's writer takes it (write.go).
			if _, err := tx.Exec(ctx, sqlLockAccount, h[0]); err != nil {
				return fmt.Errorf("refund %s: %w", h[1], err)
			}
			if _, err := tx.Exec(ctx, sqlRefundSettled, h[1], h[0], mediagate.NewID("led_"), mediagate.RefundKey(h[1]), now,
				mediagate.RefundOperation); err != nil {
				return fmt.Errorf("refund %s: %w", h[1], err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire pending objects: %w", err)
	}
	return n, nil
}

// Unpurged returns at most limit deleted objects whose bytes have not been
// confirmed gone from the blob store, longest deleted first.
func (db *DB) Unpurged(ctx context.Context, limit int) ([]*mediagate.Object, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, sqlUnpurged, limit)
	if err != nil {
		return nil, fmt.Errorf("list unpurged objects: %w", err)
	}
	list, err := collectObjects(rows)
	if err != nil {
		return nil, fmt.Errorf("list unpurged objects: %w", err)
	}
	return list, nil
}

// MarkPurged records that the bytes of the given deleted objects are gone;
// ids of objects that are not deleted, or unknown, are ignored.
func (db *DB) MarkPurged(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, sqlMarkPurged, db.now(), ids); err != nil {
		return fmt.Errorf("mark %d objects purged: %w", len(ids), err)
	}
	return nil
}

// CountObjects returns how many objects are in each state, every state
// present, for metrics.
func (db *DB) CountObjects(ctx context.Context) (map[mediagate.ObjectState]int64, error) {
	rows, err := db.pool.Query(ctx, sqlCountObjects)
	if err != nil {
		return nil, fmt.Errorf("count objects: %w", err)
	}
	defer rows.Close()
	counts := map[mediagate.ObjectState]int64{mediagate.StatePending: 0, mediagate.StateReady: 0, mediagate.StateDeleted: 0}
	for rows.Next() {
		var state string
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count objects: %w", err)
		}
		counts[mediagate.ObjectState(state)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count objects: %w", err)
	}
	return counts, nil
}

// objectFields are the scan targets of objectColumns.
func objectFields(o *mediagate.Object) []any {
	return []any{&o.ID, &o.AccountID, &o.Key, &o.Filename, &o.ContentType, &o.Size, &o.SHA256, &o.State,
		&o.Pinned, &o.UploadID, &o.PartSize, &o.ExpiresAt, &o.CreatedAt, &o.UpdatedAt, &o.HoldID, &o.PinSuspendedAt}
}

// fixObjectTimes puts o's times in UTC.
func fixObjectTimes(o *mediagate.Object) {
	o.ExpiresAt = utcPtr(o.ExpiresAt)
	o.PinSuspendedAt = utcPtr(o.PinSuspendedAt)
	o.CreatedAt = o.CreatedAt.UTC()
	o.UpdatedAt = o.UpdatedAt.UTC()
}

func scanObject(s pgx.Row) (*mediagate.Object, error) {
	var o mediagate.Object
	if err := s.Scan(objectFields(&o)...); err != nil {
		return nil, err
	}
	fixObjectTimes(&o)
	return &o, nil
}

// collectObjects reads and closes rows.
func collectObjects(rows pgx.Rows) ([]*mediagate.Object, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.Object, error) { return scanObject(r) })
}
