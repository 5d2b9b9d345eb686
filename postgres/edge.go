package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"mediagate"
)

var _ mediagate.EdgeStore = (*DB)(nil)

const (
	edgeColumns  = `id, account_id, region, url, registered_at, seen_at`
	leaseColumns = `id, edge_id, account_id, hold_id, bytes, price_per_mib, used, state, expires_at, created_at, updated_at`
)

// RegisterEdge records the edge or updates its region and URL.
func (db *DB) RegisterEdge(ctx context.Context, e *mediagate.Edge) error {
	reg, err := scanEdge(db.pool.QueryRow(ctx, `INSERT INTO edges (`+edgeColumns+`) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (id) DO UPDATE SET region = excluded.region, url = excluded.url, seen_at = excluded.seen_at
		RETURNING `+edgeColumns, e.ID, e.AccountID, e.Region, e.URL, us(e.SeenAt)))
	switch {
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", e.AccountID)
	case err != nil:
		return fmt.Errorf("register edge %s: %w", e.ID, err)
	}
	*e = *reg
	return nil
}

// SeenEdge sets the edge's SeenAt.
func (db *DB) SeenEdge(ctx context.Context, id string, t time.Time) error {
	return oneRow(db.pool.Exec(ctx, `UPDATE edges SET seen_at = $1 WHERE id = $2`, us(t), id))("edge " + id)
}

// Edges returns every registered edge.
func (db *DB) Edges(ctx context.Context) ([]*mediagate.Edge, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+edgeColumns+` FROM edges ORDER BY region, id`)
	if err != nil {
		return nil, fmt.Errorf("edges: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.Edge, error) { return scanEdge(r) })
}

// CreateLease records a new open lease.
func (db *DB) CreateLease(ctx context.Context, l *mediagate.EdgeLease) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO edge_leases (`+leaseColumns+`) VALUES ($1, $2, $3, $4, $5, $6, 0, 'open', $7, $8, $8)`,
		l.ID, l.EdgeID, l.AccountID, l.HoldID, l.Bytes, l.PricePerMiB, us(l.ExpiresAt), us(l.CreatedAt))
	switch {
	case isUnique(err):
		return mediagate.Errorf(mediagate.ECONFLICT, "lease %s already exists", l.ID)
	case isForeignKey(err):
		return mediagate.Errorf(mediagate.ENOTFOUND, "edge %s or account %s not found", l.EdgeID, l.AccountID)
	case err != nil:
		return fmt.Errorf("create lease %s: %w", l.ID, err)
	}
	l.Used, l.State, l.UpdatedAt = 0, mediagate.LeaseOpen, l.CreatedAt
	return nil
}

// ReportLease records an edge's report on its lease, under the lease
// row's lock.
func (db *DB) ReportLease(ctx context.Context, edgeID, id string, r mediagate.LeaseReport) (*mediagate.EdgeLease, error) {
	var l *mediagate.EdgeLease
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) (err error) {
		l, err = scanLease(tx.QueryRow(ctx, `SELECT `+leaseColumns+` FROM edge_leases WHERE id = $1 AND edge_id = $2 FOR UPDATE`, id, edgeID))
		if errors.Is(err, pgx.ErrNoRows) {
			return mediagate.Errorf(mediagate.ENOTFOUND, "edge %s has no lease %s", edgeID, id)
		} else if err != nil {
			return fmt.Errorf("report lease %s: %w", id, err)
		}
		r.At = us(r.At)
		if err := l.Report(r); err != nil {
			return err
		}
		if _, err = tx.Exec(ctx, `UPDATE edge_leases SET used = $1, state = $2, expires_at = $3, updated_at = $4 WHERE id = $5`,
			l.Used, l.State, us(l.ExpiresAt), l.UpdatedAt, id); err != nil {
			return fmt.Errorf("report lease %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}

// UnsettledLeases returns the leases the sweeper settles at t.
func (db *DB) UnsettledLeases(ctx context.Context, t time.Time, limit int) ([]*mediagate.EdgeLease, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+leaseColumns+` FROM edge_leases
		WHERE state = 'closed' OR state = 'open' AND expires_at <= $1 ORDER BY expires_at, id LIMIT $2`, us(t), limit)
	if err != nil {
		return nil, fmt.Errorf("unsettled leases: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mediagate.EdgeLease, error) { return scanLease(r) })
}

// MarkLeaseSettled records the lease settled.
func (db *DB) MarkLeaseSettled(ctx context.Context, id string, t time.Time) error {
	return oneRow(db.pool.Exec(ctx, `UPDATE edge_leases SET state = 'settled', updated_at = $1 WHERE id = $2`, us(t), id))("lease " + id)
}

// DeletedObjects returns one page of the deletion feed.
func (db *DB) DeletedObjects(ctx context.Context, after mediagate.FeedCursor, limit int) ([]mediagate.DeletedObject, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, key, updated_at FROM objects
		WHERE state = 'deleted' AND (updated_at, id) > ($1, $2)
		ORDER BY updated_at, id LIMIT $3`, us(after.Time), after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("deleted objects: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (mediagate.DeletedObject, error) {
		var d mediagate.DeletedObject
		err := r.Scan(&d.ID, &d.Key, &d.Time)
		d.Time = d.Time.UTC()
		return d, err
	})
}

func scanEdge(s pgx.Row) (*mediagate.Edge, error) {
	var e mediagate.Edge
	if err := s.Scan(&e.ID, &e.AccountID, &e.Region, &e.URL, &e.RegisteredAt, &e.SeenAt); err != nil {
		return nil, err
	}
	e.RegisteredAt, e.SeenAt = e.RegisteredAt.UTC(), e.SeenAt.UTC()
	return &e, nil
}

func scanLease(s pgx.Row) (*mediagate.EdgeLease, error) {
	var l mediagate.EdgeLease
	if err := s.Scan(&l.ID, &l.EdgeID, &l.AccountID, &l.HoldID, &l.Bytes, &l.PricePerMiB, &l.Used, &l.State,
		&l.ExpiresAt, &l.CreatedAt, &l.UpdatedAt); err != nil {
		return nil, err
	}
	l.ExpiresAt, l.CreatedAt, l.UpdatedAt = l.ExpiresAt.UTC(), l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return &l, nil
}

// oneRow turns the result of an UPDATE of one row by id into the error to
// return: ENOTFOUND, naming what, if it changed no row.
func oneRow(tag interface{ RowsAffected() int64 }, err error) func(what string) error {
	return func(what string) error {
		if err != nil {
			return fmt.Errorf("update %s: %w", what, err)
		}
		if tag.RowsAffected() == 0 {
			return mediagate.Errorf(mediagate.ENOTFOUND, "%s not found", what)
		}
		return nil
	}
}
