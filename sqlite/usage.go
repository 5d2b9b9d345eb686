package sqlite

import (
	"context"
	"fmt"
	"time"

	"mediagate"
)

// usageSQL sums settle entries; ?4 and ?5 switch grouping by day and by
// operation on or off.
const usageSQL = `
SELECT CASE WHEN ?4 THEN strftime('%Y-%m-%d', created_at / 1000000, 'unixepoch') ELSE '' END AS day,
       CASE WHEN ?5 THEN operation ELSE '' END AS op,
       SUM(amount), COUNT(*)
FROM ledger_entries
WHERE account_id = ?1 AND kind = 'settle' AND created_at >= ?2 AND created_at < ?3
GROUP BY day, op
ORDER BY day, op`

// Usage implements mediagate.Ledger. It reads the account's settle entries in
// the window: fine for the histories of today's accounts; a per-day rollup
// table would take over for very long ones.
func (db *DB) Usage(ctx context.Context, accountID string, from, to time.Time, groupBy mediagate.UsageGrouping) ([]mediagate.UsageRow, error) {
	byDay, byOp, err := mediagate.UsageQuery(from, to, groupBy)
	if err != nil {
		return nil, err
	}
	rows, err := db.r.QueryContext(ctx, usageSQL, accountID, micros(from), micros(to), byDay, byOp)
	if err != nil {
		return nil, fmt.Errorf("usage of %s: %w", accountID, err)
	}
	defer rows.Close()
	out := []mediagate.UsageRow{}
	for rows.Next() {
		var u mediagate.UsageRow
		if err := rows.Scan(&u.Day, &u.Operation, &u.Amount, &u.Count); err != nil {
			return nil, fmt.Errorf("usage of %s: %w", accountID, err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("usage of %s: %w", accountID, err)
	}
	return out, nil
}
