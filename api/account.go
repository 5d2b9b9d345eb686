package api

import (
	"net/http"
	"strings"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// handleAccount answers the caller's account with its balance.
func handleAccount(accounts mediagate.AccountStore, ledger mediagate.Ledger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := principalFrom(r.Context()).AccountID
		a, err := accounts.Account(r.Context(), id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		b, err := ledger.Balance(r.Context(), id)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.AccountBalance{ID: a.ID, Name: a.Name, Balance: b.Balance, Held: b.Held,
			Available: b.Available(), CreatedAt: a.CreatedAt.UTC()})
	})
}

// handleLedger answers one page of the caller's ledger, newest first.
func handleLedger(ledger mediagate.Ledger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		limit, err := queryLimit(q)
		if err != nil {
			writeError(w, r, err)
			return
		}
		list, next, err := ledger.Entries(r.Context(), principalFrom(r.Context()).AccountID, limit, q.Get("cursor"))
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.LedgerPage{Entries: make([]apiv1.LedgerEntry, 0, len(list)), NextCursor: next}
		for _, e := range list {
			out.Entries = append(out.Entries, apiv1.LedgerEntry{ID: e.ID, Kind: string(e.Kind), Amount: e.Amount,
				Operation: e.Operation, Reference: e.Reference, HoldID: e.HoldID, CreatedAt: e.CreatedAt.UTC()})
		}
		encode(w, http.StatusOK, out)
	})
}

// handleHolds answers the caller's active holds, newest first, at most
// ?limit= (1 to 1000, default 100): where the account's held credit is.
func handleHolds(ledger mediagate.Ledger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, err := queryLimit(r.URL.Query())
		if err != nil {
			writeError(w, r, err)
			return
		}
		list, err := ledger.ActiveHolds(r.Context(), principalFrom(r.Context()).AccountID, limit)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.HoldList{Holds: make([]apiv1.Hold, 0, len(list))}
		for _, h := range list {
			out.Holds = append(out.Holds, apiv1.Hold{ID: h.ID, Amount: h.Amount, Operation: h.Operation,
				Reference: h.Reference, ExpiresAt: h.ExpiresAt.UTC(), CreatedAt: h.CreatedAt.UTC()})
		}
		encode(w, http.StatusOK, out)
	})
}

// handleAdminCredit tops up any account; it needs the admin scope. The
// Idempotency-Key header is required, so a retried top-up credits once.
func handleAdminCredit(ledger mediagate.Ledger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
		if key == "" || len(key) > 200 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "an Idempotency-Key header (1 to 200 bytes) is required, so a retried top-up credits once"))
			return
		}
		req, err := decode[apiv1.CreditRequest](w, r)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if req.Amount <= 0 {
			writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "amount must be a positive number of micro-credits"))
			return
		}
		if req.Operation == "" {
			req.Operation = "topup"
		}
		id, ok := pathID(w, r, mediagate.PrefixAccount, "account")
		if !ok {
			return
		}
		e, err := ledger.Credit(r.Context(), id, req.Amount, req.Operation, key)
		if err != nil {
			writeError(w, r, err)
			return
		}
		encode(w, http.StatusOK, apiv1.LedgerEntry{ID: e.ID, Kind: string(e.Kind), Amount: e.Amount,
			Operation: e.Operation, CreatedAt: e.CreatedAt.UTC()})
	})
}

// grantSignupCredit gives a new account its starting credit. The key makes it
// once per account even if called again.
func grantSignupCredit(r *http.Request, ledger mediagate.Ledger, accountID string, amount int64) {
	if amount <= 0 {
		return
	}
	if _, err := ledger.Credit(r.Context(), accountID, amount, "signup", "signup"); err != nil {
		logger(r.Context()).Error("signup credit failed", "account", accountID, "err", err)
	}
}

// handleUsage sums the caller's charges in a window (?from=&to=, RFC 3339 or
// YYYY-MM-DD; default the last 30 days), grouped by ?group_by=day (default),
// operation, or day,operation.
func handleUsage(ledger mediagate.Ledger, now func() time.Time) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		to, err := parseTime("to", q.Get("to"), now().UTC())
		if err != nil {
			writeError(w, r, err)
			return
		}
		from, err := parseTime("from", q.Get("from"), to.AddDate(0, 0, -30))
		if err != nil {
			writeError(w, r, err)
			return
		}
		group := mediagate.UsageGrouping(q.Get("group_by"))
		if group == "" {
			group = mediagate.ByDay
		}
		rows, err := ledger.Usage(r.Context(), principalFrom(r.Context()).AccountID, from, to, group)
		if err != nil {
			writeError(w, r, err)
			return
		}
		out := apiv1.Usage{From: from, To: to, GroupBy: string(group), Rows: make([]apiv1.UsageRow, 0, len(rows))}
		for _, u := range rows {
			out.Rows = append(out.Rows, apiv1.UsageRow{Day: u.Day, Operation: u.Operation, Amount: u.Amount, Count: u.Count})
			out.Total += u.Amount
		}
		encode(w, http.StatusOK, out)
	})
}

// parseTime reads an RFC 3339 time or a YYYY-MM-DD date (its midnight, UTC).
func parseTime(name, v string, def time.Time) (time.Time, error) {
	if v == "" {
		return def, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, mediagate.Errorf(mediagate.EINVALID, "%s %q must be an RFC 3339 time or a YYYY-MM-DD date", name, v)
}

// handlePrices answers the server's price list.
func handlePrices(p mediagate.Prices) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, apiv1.Prices{UploadPerMiB: p.UploadPerMiB, DownloadPerMiB: p.DownloadPerMiB,
			PinPerGiBDay: p.PinPerGiBDay, JobRun: p.JobRun, FetchPerURL: p.FetchPerURL, FetchPerMiB: p.FetchPerMiB,
			APIRequest: p.APIRequest})
	})
}
