package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"mediagate"
)

// Page sizes of ObjectFilter.Limit.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Objects returns one page of the account's objects, newest first (by
// creation time, then id), and the cursor of the next page ("" on the last).
// A malformed cursor, an unknown state or a name CheckNameFilter refuses is
// EINVALID.
func (db *DB) Objects(ctx context.Context, accountID string, f mediagate.ObjectFilter) ([]*mediagate.Object, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)

	var where strings.Builder
	args := make([]any, 0, 8)
	where.WriteString(`account_id = ?`)
	args = append(args, accountID)
	switch f.State {
	case "":
		where.WriteString(` AND state != 'deleted'`)
	case mediagate.StatePending, mediagate.StateReady, mediagate.StateDeleted:
		where.WriteString(` AND state = ?`)
		args = append(args, string(f.State))
	default:
		return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid state %q", f.State)
	}
	if ct := f.ContentType; ct != "" {
		if major, ok := strings.CutSuffix(ct, "/"); ok && !strings.Contains(major, "/") {
			// A major type: the range [major "/", major "0"), '0' being '/'+1.
			where.WriteString(` AND content_type >= ? AND content_type < ?`)
			args = append(args, major+"/", major+"0")
		} else {
			where.WriteString(` AND content_type = ?`)
			args = append(args, ct)
		}
	}
	if f.Pinned != nil {
		where.WriteString(` AND pinned = ?`)
		args = append(args, *f.Pinned)
	}
	if f.Name != "" {
		if err := mediagate.CheckNameFilter(f.Name); err != nil {
			return nil, "", err
		}
		// SQLite's LIKE folds ASCII letters only, as ObjectFilter says.
		where.WriteString(` AND filename LIKE ? ESCAPE '\'`)
		args = append(args, likeContains(f.Name))
	}
	if f.Cursor != "" {
		created, id, ok := parseCursor(f.Cursor)
		if !ok {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		where.WriteString(` AND (created_at, id) < (?, ?)`)
		args = append(args, created, id)
	}
	args = append(args, limit+1)

	stmt, err := db.listing(ctx, `SELECT `+objectColumns+` FROM objects WHERE `+where.String()+
		` ORDER BY created_at DESC, id DESC LIMIT ?`)
	if err != nil {
		return nil, "", fmt.Errorf("list objects of %s: %w", accountID, err)
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list objects of %s: %w", accountID, err)
	}
	list, err := scanObjects(rows, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list objects of %s: %w", accountID, err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	list = list[:limit]
	last := list[limit-1]
	return list, makeCursor(micros(last.CreatedAt), last.ID), nil
}

// likeEscaper escapes what LIKE ... ESCAPE '\' would read as wildcards.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likeContains is the LIKE pattern, for ESCAPE '\', of text that contains s.
func likeContains(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// listing returns the prepared statement for query, preparing it the first
// time. The filters make a few dozen distinct queries at most.
func (db *DB) listing(ctx context.Context, query string) (*sql.Stmt, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if s, ok := db.listings[query]; ok {
		return s, nil
	}
	s, err := db.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.listings[query] = s
	return s, nil
}

// makeCursor encodes the position after the object created at createdAt
// (unix microseconds) with id.
func makeCursor(createdAt int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(createdAt, 10) + ":" + id))
}

// parseCursor is the inverse of makeCursor; ok is false for anything else.
func parseCursor(c string) (createdAt int64, id string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	num, id, found := strings.Cut(string(b), ":")
	if !found || id == "" {
		return 0, "", false
	}
	createdAt, err = strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return createdAt, id, true
}
