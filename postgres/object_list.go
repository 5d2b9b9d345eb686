package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"mediagate"
)

// Page sizes of ObjectFilter.Limit and of Entries.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// Objects returns one page of the account's objects, newest first (by
// creation time, then id), and the cursor of the next page ("" on the last).
// A malformed cursor, an unknown state or a name CheckNameFilter refuses is
// EINVALID. pgx prepares each distinct query text once per connection; the
// filters make a few dozen.
func (db *DB) Objects(ctx context.Context, accountID string, f mediagate.ObjectFilter) ([]*mediagate.Object, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)

	var where strings.Builder
	args := make([]any, 0, 8)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where.WriteString(`account_id = ` + arg(accountID))
	switch f.State {
	case "":
		where.WriteString(` AND state <> 'deleted'`)
	case mediagate.StatePending, mediagate.StateReady, mediagate.StateDeleted:
		where.WriteString(` AND state = ` + arg(string(f.State)))
	default:
		return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid state %q", f.State)
	}
	if ct := f.ContentType; ct != "" {
		if major, ok := strings.CutSuffix(ct, "/"); ok && !strings.Contains(major, "/") {
			// A major type: the range [major "/", major "0"), '0' being '/'+1
			// (content_type is COLLATE "C").
			where.WriteString(` AND content_type >= ` + arg(major+"/") + ` AND content_type < ` + arg(major+"0"))
		} else {
			where.WriteString(` AND content_type = ` + arg(ct))
		}
	}
	if f.Pinned != nil {
		where.WriteString(` AND pinned = ` + arg(*f.Pinned))
	}
	if f.Name != "" {
		if err := mediagate.CheckNameFilter(f.Name); err != nil {
			return nil, "", err
		}
		// ILIKE under COLLATE "C" folds ASCII letters only, as SQLite's
		// LIKE does; under the database's collation it would fold others
		// too, as its locale says.
		where.WriteString(` AND filename COLLATE "C" ILIKE ` + arg(likeContains(f.Name)) + ` ESCAPE '\'`)
	}
	if f.Cursor != "" {
		created, id, ok := parseCursor(f.Cursor)
		if y := time.UnixMicro(created).UTC().Year(); !ok || y < 1 || y > 9999 {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		where.WriteString(` AND (created_at, id) < (` + arg(time.UnixMicro(created).UTC()) + `, ` + arg(id) + `)`)
	}
	query := `SELECT ` + objectColumns + ` FROM objects WHERE ` + where.String() +
		` ORDER BY created_at DESC, id DESC LIMIT ` + arg(limit+1)
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list objects of %s: %w", accountID, err)
	}
	list, err := collectObjects(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list objects of %s: %w", accountID, err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	list = list[:limit]
	last := list[limit-1]
	return list, makeCursor(last.CreatedAt.UnixMicro(), last.ID), nil
}

// likeEscaper escapes what LIKE ... ESCAPE '\' would read as wildcards.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// likeContains is the LIKE pattern, for ESCAPE '\', of text that contains s.
func likeContains(s string) string { return "%" + likeEscaper.Replace(s) + "%" }

// makeCursor encodes the position after the row at n (unix microseconds of
// an object's creation, or a ledger seq) with id.
func makeCursor(n int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(n, 10) + ":" + id))
}

// parseCursor is the inverse of makeCursor; ok is false for anything else.
func parseCursor(c string) (n int64, id string, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	num, id, found := strings.Cut(string(b), ":")
	if !found || id == "" || strings.ContainsRune(id, 0) || !utf8.ValidString(id) {
		return 0, "", false
	}
	n, err = strconv.ParseInt(num, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return n, id, true
}
