package api

import (
	"net/http"
	"strconv"
	"strings"

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
		limit := 100
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				writeError(w, r, mediagate.Errorf(mediagate.EINVALID, "limit must be 1 to 1000"))
				return
			}
			limit = n
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
		id := r.PathValue("id")
		if !mediagate.ValidID(mediagate.PrefixAccount, id) {
			writeError(w, r, mediagate.Errorf(mediagate.ENOTFOUND, "account %q not found", id))
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
