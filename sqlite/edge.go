package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mediagate"
)

var _ mediagate.EdgeStore = (*DB)(nil)

const (
	edgeColumns  = `id, account_id, region, url, registered_at, seen_at`
	leaseColumns = `id, edge_id, account_id, hold_id, bytes, price_per_mib, used, state, expires_at, created_at, updated_at`
)

// RegisterEdge records the edge or updates its region and URL.
func (db *DB) RegisterEdge(ctx context.Context, e *mediagate.Edge) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		reg, err := scanEdge(tx.QueryRow(`INSERT INTO edges (`+edgeColumns+`) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
			ON CONFLICT (id) DO UPDATE SET region = excluded.region, url = excluded.url, seen_at = excluded.seen_at
			RETURNING `+edgeColumns, e.ID, e.AccountID, e.Region, e.URL, micros(e.SeenAt)))
		switch {
		case isForeignKey(err):
			return mediagate.Errorf(mediagate.ENOTFOUND, "account %s not found", e.AccountID)
		case err != nil:
			return fmt.Errorf("register edge %s: %w", e.ID, err)
		}
		*e = *reg
		return nil
	})
}

// SeenEdge sets the edge's SeenAt.
func (db *DB) SeenEdge(ctx context.Context, id string, t time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.Exec(`UPDATE edges SET seen_at = ? WHERE id = ?`, micros(t), id))("edge " + id)
	})
}

// Edges returns every registered edge.
func (db *DB) Edges(ctx context.Context) ([]*mediagate.Edge, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+edgeColumns+` FROM edges ORDER BY region, id`)
	if err != nil {
		return nil, fmt.Errorf("edges: %w", err)
	}
	return collect(rows, scanEdge, "edges")
}

// CreateLease records a new open lease.
func (db *DB) CreateLease(ctx context.Context, l *mediagate.EdgeLease) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO edge_leases (`+leaseColumns+`) VALUES (?, ?, ?, ?, ?, ?, 0, 'open', ?, ?, ?)`,
			l.ID, l.EdgeID, l.AccountID, l.HoldID, l.Bytes, l.PricePerMiB, micros(l.ExpiresAt), micros(l.CreatedAt), micros(l.CreatedAt))
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
	})
}

// ReportLease records an edge's report on its lease.
func (db *DB) ReportLease(ctx context.Context, edgeID, id string, r mediagate.LeaseReport) (*mediagate.EdgeLease, error) {
	var l *mediagate.EdgeLease
	err := db.write(ctx, func(tx *sql.Tx) (err error) {
		l, err = scanLease(tx.QueryRow(`SELECT `+leaseColumns+` FROM edge_leases WHERE id = ? AND edge_id = ?`, id, edgeID))
		if errors.Is(err, sql.ErrNoRows) {
			return mediagate.Errorf(mediagate.ENOTFOUND, "edge %s has no lease %s", edgeID, id)
		} else if err != nil {
			return fmt.Errorf("report lease %s: %w", id, err)
		}
		if err := l.Report(r); err != nil {
			return err
		}
		_, err = tx.Exec(`UPDATE edge_leases SET used = ?, state = ?, expires_at = ?, updated_at = ? WHERE id = ?`,
			l.Used, l.State, micros(l.ExpiresAt), micros(l.UpdatedAt), id)
		if err != nil {
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
	rows, err := db.r.QueryContext(ctx, `SELECT `+leaseColumns+` FROM edge_leases
		WHERE state = 'closed' OR state = 'open' AND expires_at <= ? ORDER BY expires_at, id LIMIT ?`, micros(t), limit)
	if err != nil {
		return nil, fmt.Errorf("unsettled leases: %w", err)
	}
	return collect(rows, scanLease, "unsettled leases")
}

// MarkLeaseSettled records the lease settled.
func (db *DB) MarkLeaseSettled(ctx context.Context, id string, t time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.Exec(`UPDATE edge_leases SET state = 'settled', updated_at = ? WHERE id = ?`, micros(t), id))("lease " + id)
	})
}

// DeletedObjects returns one page of the deletion feed.
func (db *DB) DeletedObjects(ctx context.Context, after mediagate.FeedCursor, limit int) ([]mediagate.DeletedObject, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, key, updated_at FROM objects
		WHERE state = 'deleted' AND (updated_at > ?1 OR updated_at = ?1 AND id > ?2)
		ORDER BY updated_at, id LIMIT ?3`, micros(after.Time), after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("deleted objects: %w", err)
	}
	list, err := collect(rows, func(s scanner) (mediagate.DeletedObject, error) {
		var d mediagate.DeletedObject
		var t int64
		err := s.Scan(&d.ID, &d.Key, &t)
		d.Time = fromMicros(t)
		return d, err
	}, "deleted objects")
	return list, err
}

func scanEdge(s scanner) (*mediagate.Edge, error) {
	var e mediagate.Edge
	var reg, seen int64
	if err := s.Scan(&e.ID, &e.AccountID, &e.Region, &e.URL, &reg, &seen); err != nil {
		return nil, err
	}
	e.RegisteredAt, e.SeenAt = fromMicros(reg), fromMicros(seen)
	return &e, nil
}

func scanLease(s scanner) (*mediagate.EdgeLease, error) {
	var l mediagate.EdgeLease
	var exp, created, updated int64
	if err := s.Scan(&l.ID, &l.EdgeID, &l.AccountID, &l.HoldID, &l.Bytes, &l.PricePerMiB, &l.Used, &l.State,
		&exp, &created, &updated); err != nil {
		return nil, err
	}
	l.ExpiresAt, l.CreatedAt, l.UpdatedAt = fromMicros(exp), fromMicros(created), fromMicros(updated)
	return &l, nil
}
