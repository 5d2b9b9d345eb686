package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

const objectColumns = `id, account_id, key, filename, content_type, size, sha256, state, pinned,
	upload_id, part_size, expires_at, created_at, updated_at, hold_id, pin_suspended_at`

const (
	sqlInsertObject = `INSERT INTO objects (` + objectColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, NULL)`
	// An object the server made ready itself; one pinned starts its pin's
	// accrual as it is stored.
	sqlPutObject = `INSERT INTO objects (id, account_id, key, filename, content_type, size, sha256, state, pinned,
			upload_id, part_size, created_at, updated_at, hold_id, pin_since)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'ready', ?8, ?9, ?10, ?11, ?12, ?13, CASE WHEN ?8 THEN ?12 END)
		ON CONFLICT (id) DO NOTHING`
	sqlObject    = `SELECT ` + objectColumns + ` FROM objects WHERE id = ? AND account_id = ? AND state != 'deleted'`
	sqlObjectAny = `SELECT ` + objectColumns + ` FROM objects WHERE id = ? AND account_id = ?`

	// UPDATE … RETURNING costs more than an UPDATE and a SELECT in SQLite.
	// An object pinned while pending starts its pin's accrual when ready.
	sqlCompleteObject = `UPDATE objects
		SET state = 'ready', size = ?1, sha256 = ?2, content_type = ?3, expires_at = NULL, updated_at = ?4,
			pin_since = CASE WHEN pinned THEN ?4 END
		WHERE id = ?5 AND account_id = ?6 AND state = 'pending'`
	sqlDeleteObject = `UPDATE objects SET state = 'deleted', pin_since = NULL, updated_at = ?
		WHERE id = ? AND account_id = ? AND state != 'deleted'`
	// An active pin keeps accruing from where it did; a new or suspended
	// one starts now.
	sqlStartPin = `UPDATE objects SET pinned = 1, pin_since = coalesce(pin_since, ?1), pin_suspended_at = NULL,
		updated_at = ?1 WHERE id = ?2 AND account_id = ?3 AND state = 'ready'`
	sqlEndPin = `UPDATE objects SET pinned = 0, pin_since = NULL, pin_suspended_at = NULL, updated_at = ?1
		WHERE id = ?2 AND account_id = ?3 AND state = 'ready'`

	sqlExpirePending = `UPDATE objects SET state = 'deleted', updated_at = ?1
		WHERE id IN (SELECT id FROM objects WHERE state = 'pending' AND expires_at < ?1 ORDER BY expires_at LIMIT ?2)
		RETURNING account_id, hold_id`
	sqlUnpurged = `SELECT ` + objectColumns + ` FROM objects INDEXED BY objects_unpurged
		WHERE state = 'deleted' AND purged_at IS NULL ORDER BY updated_at LIMIT ?`
	sqlMarkPurged   = `UPDATE objects SET purged_at = ? WHERE id = ? AND state = 'deleted' AND purged_at IS NULL`
	sqlCountObjects = `SELECT state, count(*) FROM objects GROUP BY state`
)

// CreateObject stores a new pending object; ECONFLICT if its id is taken,
// ENOTFOUND if its account does not exist. It sets o.State to pending, and a
// zero o.UpdatedAt to o.CreatedAt. (Storage keys are made by the server from
// ids, so they are not checked for uniqueness: an index would cost every
// insert a random page write.)
func (db *DB) CreateObject(ctx context.Context, o *mediagate.Object) error {
	if o.ID == "" || o.AccountID == "" || o.Key == "" {
		return mediagate.Errorf(mediagate.EINVALID, "object id, account and key are required")
	}
	o.State = mediagate.StatePending
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := db.txStmt(tx, db.insertObject).Exec(o.ID, o.AccountID, o.Key, o.Filename, o.ContentType, o.Size, o.SHA256,
			o.Pinned, o.UploadID, o.PartSize, nullMicros(o.ExpiresAt), micros(o.CreatedAt), micros(o.UpdatedAt), o.HoldID)
		switch {
		case err == nil:
			return nil
		case isUnique(err):
			return mediagate.Errorf(mediagate.ECONFLICT, "object %s already exists", o.ID)
		case isForeignKey(err):
			return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", o.AccountID)
		}
		return fmt.Errorf("create object %s: %w", o.ID, err)
	})
}

// PutObjects stores ready objects the server made itself, skipping those
// whose id exists, in one write of the single writer (one statement,
// prepared once, per object), and returns how many it created. EINVALID if
// Object.PrepareReady refuses one; ENOTFOUND if an account does not exist;
// either way nothing of the batch is stored.
func (db *DB) PutObjects(ctx context.Context, objs []*mediagate.Object) (int, error) {
	for _, o := range objs {
		if err := o.PrepareReady(); err != nil {
			return 0, err
		}
	}
	if len(objs) == 0 {
		return 0, nil
	}
	var n int
	err := db.write(ctx, func(tx *sql.Tx) error {
		n = 0
		return savepoint(tx, func() error {
			stmt, err := tx.Prepare(sqlPutObject)
			if err != nil {
				return fmt.Errorf("put objects: %w", err)
			}
			defer stmt.Close()
			for _, o := range objs {
				res, err := stmt.Exec(o.ID, o.AccountID, o.Key, o.Filename, o.ContentType, o.Size, o.SHA256,
					o.Pinned, o.UploadID, o.PartSize, micros(o.CreatedAt), micros(o.UpdatedAt), o.HoldID)
				switch {
				case isForeignKey(err):
					return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", o.AccountID)
				case err != nil:
					return fmt.Errorf("put object %s: %w", o.ID, err)
				}
				k, err := res.RowsAffected()
				if err != nil {
					return fmt.Errorf("put object %s: %w", o.ID, err)
				}
				n += int(k)
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Object returns the account's object, or ENOTFOUND if it is absent or deleted.
func (db *DB) Object(ctx context.Context, accountID, id string) (*mediagate.Object, error) {
	o, err := scanObject(db.object.QueryRowContext(ctx, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
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
	var o *mediagate.Object
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		o, err = db.updateObject(tx, db.completeObject, accountID, id, mediagate.StatePending,
			size, sha256, contentType, micros(t), id, accountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// DeleteObject marks a pending or ready object deleted, to be purged from the
// blob store, and meters its pin; ENOTFOUND if it is absent or already deleted.
func (db *DB) DeleteObject(ctx context.Context, accountID, id string, t time.Time) (*mediagate.Object, error) {
	var o *mediagate.Object
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		if err := meterPin(tx, accountID, id, micros(t)); err != nil {
			return err
		}
		o, err = db.updateObject(tx, db.deleteObject, accountID, id, "", micros(t), id, accountID)
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
	var o *mediagate.Object
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		if pinned {
			o, err = db.updateObject(tx, db.startPin, accountID, id, mediagate.StateReady, micros(t), id, accountID)
			return err
		}
		// Only an active pin is metered, and it is on a ready object of
		// the account, so the update after it cannot fail for want of one.
		if err := meterPin(tx, accountID, id, micros(t)); err != nil {
			return err
		}
		o, err = db.updateObject(tx, db.endPin, accountID, id, mediagate.StateReady, micros(t), id, accountID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

// updateObject runs stmt, an UPDATE of the account's object id that requires
// the object to be in state want ("": any but deleted), with args, and
// returns the object as it is now. If stmt changed no row it answers why:
// ENOTFOUND if the object is absent or deleted, else ECONFLICT.
func (db *DB) updateObject(tx *sql.Tx, stmt *sql.Stmt, accountID, id string, want mediagate.ObjectState, args ...any) (*mediagate.Object, error) {
	res, err := db.txStmt(tx, stmt).Exec(args...)
	if err != nil {
		return nil, fmt.Errorf("update object %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, fmt.Errorf("update object %s: %w", id, err)
	}
	o, err := scanObject(db.txStmt(tx, db.objectAny).QueryRow(id, accountID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "object %s not found", id)
	case err != nil:
		return nil, fmt.Errorf("get object %s: %w", id, err)
	case n > 0:
		return o, nil
	case o.State == mediagate.StateDeleted || want == "":
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "object %s not found", id)
	}
	return nil, mediagate.Errorf(mediagate.ECONFLICT, "object %s is %s, not %s", id, o.State, want)
}

// ExpirePending marks deleted, at most limit, pending objects whose deadline
// is before t, and returns how many it marked.
func (db *DB) ExpirePending(ctx context.Context, t time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	now := db.now()
	var n int
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := db.txStmt(tx, db.expirePending).Query(micros(t), limit)
		if err != nil {
			return fmt.Errorf("expire pending objects: %w", err)
		}
		var holds [][2]string // account, hold
		for rows.Next() {
			var accountID, holdID string
			if err := rows.Scan(&accountID, &holdID); err != nil {
				rows.Close()
				return fmt.Errorf("expire pending objects: %w", err)
			}
			if holdID != "" {
				holds = append(holds, [2]string{accountID, holdID})
			}
			n++
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("expire pending objects: %w", err)
		}
		return db.ledgerSavepoint(tx, func() error {
			for _, h := range holds {
				if err := db.refundSettled(tx, h[0], h[1], now); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Unpurged returns at most limit deleted objects whose bytes have not been
// confirmed gone from the blob store, longest deleted first.
func (db *DB) Unpurged(ctx context.Context, limit int) ([]*mediagate.Object, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.unpurged.QueryContext(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("list unpurged objects: %w", err)
	}
	list, err := scanObjects(rows, limit)
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
	now := micros(db.Now())
	return db.write(ctx, func(tx *sql.Tx) error {
		stmt := db.txStmt(tx, db.markPurge)
		for _, id := range ids {
			if _, err := stmt.Exec(now, id); err != nil {
				return fmt.Errorf("mark object %s purged: %w", id, err)
			}
		}
		return nil
	})
}

// CountObjects returns how many objects are in each state, every state
// present, for metrics.
func (db *DB) CountObjects(ctx context.Context) (map[mediagate.ObjectState]int64, error) {
	rows, err := db.countObjects.QueryContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("count objects: %w", err)
	}
	defer rows.Close()
	counts := map[mediagate.ObjectState]int64{mediagate.StatePending: 0, mediagate.StateReady: 0, mediagate.StateDeleted: 0}
	for rows.Next() {
		var state mediagate.ObjectState
		var n int64
		if err := rows.Scan(&state, &n); err != nil {
			return nil, fmt.Errorf("count objects: %w", err)
		}
		counts[state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count objects: %w", err)
	}
	return counts, nil
}

func scanObject(s scanner) (*mediagate.Object, error) {
	var o mediagate.Object
	var expires, suspended sql.NullInt64
	var created, updated int64
	if err := s.Scan(&o.ID, &o.AccountID, &o.Key, &o.Filename, &o.ContentType, &o.Size, &o.SHA256, &o.State,
		&o.Pinned, &o.UploadID, &o.PartSize, &expires, &created, &updated, &o.HoldID, &suspended); err != nil {
		return nil, err
	}
	o.ExpiresAt = fromNullMicros(expires)
	o.PinSuspendedAt = fromNullMicros(suspended)
	o.CreatedAt = fromMicros(created)
	o.UpdatedAt = fromMicros(updated)
	return &o, nil
}

// scanObjects reads and closes rows.
func scanObjects(rows *sql.Rows, capacity int) ([]*mediagate.Object, error) {
	defer rows.Close()
	list := make([]*mediagate.Object, 0, min(capacity, 128))
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, o)
	}
	return list, rows.Err()
}
