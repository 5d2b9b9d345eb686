package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"mediagate"
)

var _ mediagate.FetchStore = (*DB)(nil)

const (
	fetchColumns = `id, account_id, state, options, urls, shards, manifest_object_id, error,
	created_at, updated_at, finished_at`
	shardColumns = `fetch_id, n, job_id, urls, counts, updated_at`
)

// CreateFetch stores a new running fetch with its shards, in one write of
// the single writer, once Fetch.PrepareNew has checked them (EINVALID) and
// set what a store sets.
func (db *DB) CreateFetch(ctx context.Context, f *mediagate.Fetch, shards []*mediagate.FetchShard) error {
	counts, err := f.PrepareNew(shards)
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		return savepoint(tx, func() error {
			_, err := tx.Exec(`INSERT INTO fetches (id, account_id, state, options, urls, shards, created_at, updated_at)
				VALUES (?, ?, 'running', ?, ?, ?, ?, ?)`,
				f.ID, f.AccountID, string(f.Options), f.URLs, f.Shards, micros(f.CreatedAt), micros(f.UpdatedAt))
			switch {
			case isUnique(err):
				return mediagate.Errorf(mediagate.ECONFLICT, "fetch %s already exists", f.ID)
			case isForeignKey(err):
				return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", f.AccountID)
			case err != nil:
				return fmt.Errorf("create fetch %s: %w", f.ID, err)
			}
			for i, sh := range shards {
				if _, err := tx.Exec(`INSERT INTO fetch_shards (`+shardColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
					f.ID, sh.N, sh.JobID, sh.URLs, counts[i], micros(sh.UpdatedAt)); err != nil {
					return fmt.Errorf("create shard %d of fetch %s: %w", sh.N, f.ID, err)
				}
			}
			return nil
		})
	})
}

// Fetch returns the account's fetch, or ENOTFOUND.
func (db *DB) Fetch(ctx context.Context, accountID, id string) (*mediagate.Fetch, error) {
	f, err := scanFetch(db.r.QueryRowContext(ctx, `SELECT `+fetchColumns+` FROM fetches WHERE id = ? AND account_id = ?`, id, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "fetch %s not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("get fetch %s: %w", id, err)
	}
	return f, nil
}

// Fetches returns one page of the account's fetches, newest first (by
// creation time, then id).
func (db *DB) Fetches(ctx context.Context, accountID string, limit int, cursor string) ([]*mediagate.Fetch, string, error) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	where, args := []string{"account_id = ?"}, []any{accountID}
	if cursor != "" {
		created, id, ok := parseCursor(cursor)
		if !ok {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		where, args = append(where, "(created_at < ? OR created_at = ? AND id < ?)"), append(args, created, created, id)
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+fetchColumns+` FROM fetches WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list fetches: %w", err)
	}
	list, err := scanFetches(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list fetches: %w", err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	last := list[limit-1]
	return list[:limit], makeCursor(micros(last.CreatedAt), last.ID), nil
}

// FetchShards returns the fetch's shards by N, or ENOTFOUND.
func (db *DB) FetchShards(ctx context.Context, fetchID string) ([]*mediagate.FetchShard, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+shardColumns+` FROM fetch_shards WHERE fetch_id = ? ORDER BY n`, fetchID)
	if err != nil {
		return nil, fmt.Errorf("shards of fetch %s: %w", fetchID, err)
	}
	list, err := scanShards(rows)
	if err != nil {
		return nil, fmt.Errorf("shards of fetch %s: %w", fetchID, err)
	}
	if len(list) > 0 {
		return list, nil
	}
	// No shards: a fetch of none, or no fetch.
	var one int
	err = db.r.QueryRowContext(ctx, `SELECT 1 FROM fetches WHERE id = ?`, fetchID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "fetch %s not found", fetchID)
	} else if err != nil {
		return nil, fmt.Errorf("get fetch %s: %w", fetchID, err)
	}
	return list, nil
}

// ReportFetchShard replaces shard n's counts with c at now, or answers
// ENOTFOUND.
func (db *DB) ReportFetchShard(ctx context.Context, fetchID string, n int, c mediagate.FetchCounts, now time.Time) error {
	counts, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("report shard %d of fetch %s: %w", n, fetchID, err)
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`UPDATE fetch_shards SET counts = ?, updated_at = ? WHERE fetch_id = ? AND n = ?`,
			string(counts), micros(now), fetchID, n)
		if err != nil {
			return fmt.Errorf("report shard %d of fetch %s: %w", n, fetchID, err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("report shard %d of fetch %s: %w", n, fetchID, err)
		} else if k == 0 {
			return mediagate.Errorf(mediagate.ENOTFOUND, "shard %d of fetch %s not found", n, fetchID)
		}
		return nil
	})
}

// FinishFetch ends a running fetch in state, in one write of the single
// writer, so of several callers only one finds it running.
func (db *DB) FinishFetch(ctx context.Context, id string, state mediagate.FetchState, manifestObjectID, errMsg string, now time.Time) (*mediagate.Fetch, bool, error) {
	if !state.Finished() {
		return nil, false, mediagate.Errorf(mediagate.EINVALID, "%q is not a final state of a fetch", state)
	}
	var f *mediagate.Fetch
	var finished bool
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		f, err = scanFetch(tx.QueryRow(`UPDATE fetches SET state = ?1, manifest_object_id = ?2, error = ?3,
				updated_at = ?4, finished_at = ?4
			WHERE id = ?5 AND state = 'running' RETURNING `+fetchColumns,
			string(state), manifestObjectID, errMsg, micros(now), id))
		finished = err == nil
		if errors.Is(err, sql.ErrNoRows) {
			f, err = scanFetch(tx.QueryRow(`SELECT `+fetchColumns+` FROM fetches WHERE id = ?`, id))
		}
		if errors.Is(err, sql.ErrNoRows) {
			return mediagate.Errorf(mediagate.ENOTFOUND, "fetch %s not found", id)
		} else if err != nil {
			return fmt.Errorf("finish fetch %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return f, finished, nil
}

// RunningFetches returns at most limit running fetches, oldest first.
func (db *DB) RunningFetches(ctx context.Context, limit int) ([]*mediagate.Fetch, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT `+fetchColumns+` FROM fetches INDEXED BY fetches_running
		WHERE state = 'running' ORDER BY created_at, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("running fetches: %w", err)
	}
	list, err := scanFetches(rows)
	if err != nil {
		return nil, fmt.Errorf("running fetches: %w", err)
	}
	return list, nil
}

func scanFetch(s scanner) (*mediagate.Fetch, error) {
	var f mediagate.Fetch
	var options string
	var created, updated int64
	var finished sql.NullInt64
	if err := s.Scan(&f.ID, &f.AccountID, &f.State, &options, &f.URLs, &f.Shards, &f.ManifestObjectID, &f.Error,
		&created, &updated, &finished); err != nil {
		return nil, err
	}
	f.Options = json.RawMessage(options)
	f.CreatedAt, f.UpdatedAt, f.FinishedAt = fromMicros(created), fromMicros(updated), fromNullMicros(finished)
	return &f, nil
}

// scanFetches reads and closes rows.
func scanFetches(rows *sql.Rows) ([]*mediagate.Fetch, error) {
	return collect(rows, scanFetch, "fetches")
}

// scanShards reads and closes rows of shardColumns.
func scanShards(rows *sql.Rows) ([]*mediagate.FetchShard, error) {
	defer rows.Close()
	var list []*mediagate.FetchShard
	for rows.Next() {
		var sh mediagate.FetchShard
		var counts string
		var updated int64
		if err := rows.Scan(&sh.FetchID, &sh.N, &sh.JobID, &sh.URLs, &counts, &updated); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(counts), &sh.Counts); err != nil {
			return nil, fmt.Errorf("counts of shard %d of fetch %s: %w", sh.N, sh.FetchID, err)
		}
		sh.UpdatedAt = fromMicros(updated)
		list = append(list, &sh)
	}
	return list, rows.Err()
}
