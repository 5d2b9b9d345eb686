package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.FetchStore = (*DB)(nil)

const (
	fetchColumns = `id, account_id, state, options, urls, shards, manifest_object_id, error,
	created_at, updated_at, finished_at`
	shardColumns = `fetch_id, n, job_id, urls, counts, updated_at`
)

// CreateFetch stores a new running fetch and its shards in one
// transaction, once Fetch.PrepareNew has checked them (EINVALID) and set
// what a store sets.
func (db *DB) CreateFetch(ctx context.Context, f *mediagate.Fetch, shards []*mediagate.FetchShard) error {
	counts, err := f.PrepareNew(shards)
	if err != nil {
		return err
	}
	// The shards as one array per column.
	var ns []int
	var jobs []string
	var urls []int64
	var updated []time.Time
	for _, sh := range shards {
		ns, jobs, urls, updated = append(ns, sh.N), append(jobs, sh.JobID), append(urls, sh.URLs), append(updated, us(sh.UpdatedAt))
	}
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO fetches (id, account_id, state, options, urls, shards, created_at, updated_at)
			VALUES ($1, $2, 'running', $3, $4, $5, $6, $7)`,
			f.ID, f.AccountID, string(f.Options), f.URLs, f.Shards, us(f.CreatedAt), us(f.UpdatedAt))
		if err != nil || len(shards) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO fetch_shards (`+shardColumns+`)
			SELECT $1, * FROM unnest($2::integer[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[])`,
			f.ID, ns, jobs, urls, counts, updated)
		if err != nil {
			return fmt.Errorf("create the shards: %w", err)
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case uniqueOn(err, "fetches_pkey"):
		return mediagate.Errorf(mediagate.ECONFLICT, "fetch %s already exists", f.ID)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", f.AccountID)
	}
	return fmt.Errorf("create fetch %s: %w", f.ID, err)
}

// Fetch returns the account's fetch, or ENOTFOUND.
func (db *DB) Fetch(ctx context.Context, accountID, id string) (*mediagate.Fetch, error) {
	f, err := scanFetch(db.pool.QueryRow(ctx, `SELECT `+fetchColumns+` FROM fetches WHERE id = $1 AND account_id = $2`, id, accountID))
	if errors.Is(err, pgx.ErrNoRows) {
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
		limit = 100
	}
	limit = min(limit, 1000)
	where, args := []string{"account_id = $1"}, []any{accountID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if cursor != "" {
		created, id, ok := parseCursor(cursor)
		if y := time.UnixMicro(created).UTC().Year(); !ok || y < 1 || y > 9999 {
			return nil, "", mediagate.Errorf(mediagate.EINVALID, "invalid cursor")
		}
		where = append(where, "(created_at, id) < ("+arg(time.UnixMicro(created).UTC())+", "+arg(id)+")")
	}
	rows, err := db.pool.Query(ctx, `SELECT `+fetchColumns+` FROM fetches WHERE `+strings.Join(where, " AND ")+
		` ORDER BY created_at DESC, id DESC LIMIT `+arg(limit+1), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list fetches: %w", err)
	}
	list, err := collectFetches(rows)
	if err != nil {
		return nil, "", fmt.Errorf("list fetches: %w", err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	last := list[limit-1]
	return list[:limit], makeCursor(last.CreatedAt.UnixMicro(), last.ID), nil
}

// FetchShards returns the fetch's shards by N, or ENOTFOUND. One query: a
// fetch without shards is one row of NULLs, no fetch no row.
func (db *DB) FetchShards(ctx context.Context, fetchID string) ([]*mediagate.FetchShard, error) {
	rows, err := db.pool.Query(ctx, `SELECT s.n, s.job_id, s.urls, s.counts, s.updated_at
		FROM fetches f LEFT JOIN fetch_shards s ON s.fetch_id = f.id WHERE f.id = $1 ORDER BY s.n`, fetchID)
	if err != nil {
		return nil, fmt.Errorf("shards of fetch %s: %w", fetchID, err)
	}
	defer rows.Close()
	found := false
	var list []*mediagate.FetchShard
	for rows.Next() {
		found = true
		var n *int
		var jobID, counts *string
		var urls *int64
		var updated *time.Time
		if err := rows.Scan(&n, &jobID, &urls, &counts, &updated); err != nil {
			return nil, fmt.Errorf("shards of fetch %s: %w", fetchID, err)
		}
		if n == nil {
			continue
		}
		sh := &mediagate.FetchShard{FetchID: fetchID, N: *n, JobID: *jobID, URLs: *urls, UpdatedAt: updated.UTC()}
		if err := json.Unmarshal([]byte(*counts), &sh.Counts); err != nil {
			return nil, fmt.Errorf("counts of shard %d of fetch %s: %w", sh.N, fetchID, err)
		}
		list = append(list, sh)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shards of fetch %s: %w", fetchID, err)
	}
	if !found {
		return nil, mediagate.Errorf(mediagate.ENOTFOUND, "fetch %s not found", fetchID)
	}
	return list, nil
}

// ReportFetchShard replaces shard n's counts with c at now, or answers
// ENOTFOUND. Reports come with every shard's heartbeats, so they ride the
// writer's batches (write.go) as the heartbeats do.
func (db *DB) ReportFetchShard(ctx context.Context, fetchID string, n int, c mediagate.FetchCounts, now time.Time) error {
	counts, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("report shard %d of fetch %s: %w", n, fetchID, err)
	}
	var reported int64
	err = db.pipe(ctx, `UPDATE fetch_shards SET counts = $3, updated_at = $4 WHERE fetch_id = $1 AND n = $2`,
		[]any{fetchID, n, string(counts), us(now)},
		func(br pgx.BatchResults) error {
			tag, err := br.Exec()
			reported = tag.RowsAffected()
			return err
		})
	if err != nil {
		return fmt.Errorf("report shard %d of fetch %s: %w", n, fetchID, err)
	}
	if reported == 0 {
		return mediagate.Errorf(mediagate.ENOTFOUND, "shard %d of fetch %s not found", n, fetchID)
	}
	return nil
}

// FinishFetch ends a running fetch in state. The update's WHERE is checked
// again on the row as a concurrent finish left it, so only one caller
// finds it running; the others read it in a statement of their own, which
// sees that finish.
func (db *DB) FinishFetch(ctx context.Context, id string, state mediagate.FetchState, manifestObjectID, errMsg string, now time.Time) (*mediagate.Fetch, bool, error) {
	if !state.Finished() {
		return nil, false, mediagate.Errorf(mediagate.EINVALID, "%q is not a final state of a fetch", state)
	}
	f, err := scanFetch(db.pool.QueryRow(ctx, `UPDATE fetches SET state = $2, manifest_object_id = $3, error = $4,
			updated_at = $5, finished_at = $5
		WHERE id = $1 AND state = 'running' RETURNING `+fetchColumns,
		id, string(state), manifestObjectID, errMsg, us(now)))
	if err == nil {
		return f, true, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, false, fmt.Errorf("finish fetch %s: %w", id, err)
	}
	f, err = scanFetch(db.pool.QueryRow(ctx, `SELECT `+fetchColumns+` FROM fetches WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, mediagate.Errorf(mediagate.ENOTFOUND, "fetch %s not found", id)
	} else if err != nil {
		return nil, false, fmt.Errorf("get fetch %s: %w", id, err)
	}
	return f, false, nil
}

// RunningFetches returns at most limit running fetches, oldest first.
func (db *DB) RunningFetches(ctx context.Context, limit int) ([]*mediagate.Fetch, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+fetchColumns+` FROM fetches
		WHERE state = 'running' ORDER BY created_at, id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("running fetches: %w", err)
	}
	list, err := collectFetches(rows)
	if err != nil {
		return nil, fmt.Errorf("running fetches: %w", err)
	}
	return list, nil
}

func scanFetch(row pgx.Row) (*mediagate.Fetch, error) {
	var f mediagate.Fetch
	var options string
	if err := row.Scan(&f.ID, &f.AccountID, &f.State, &options, &f.URLs, &f.Shards, &f.ManifestObjectID, &f.Error,
		&f.CreatedAt, &f.UpdatedAt, &f.FinishedAt); err != nil {
		return nil, err
	}
	f.Options = json.RawMessage(options)
	f.CreatedAt, f.UpdatedAt, f.FinishedAt = f.CreatedAt.UTC(), f.UpdatedAt.UTC(), utcPtr(f.FinishedAt)
	return &f, nil
}

func collectFetches(rows pgx.Rows) ([]*mediagate.Fetch, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.Fetch, error) { return scanFetch(r) })
}
