package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/apiv1"
)

type accountBalance struct {
	ID                       string
	Balance, Held, Available int64
}

func TestAccountAndLedger(t *testing.T) {
	s := newServer(t, func(c *api.Config) { c.SignupCredit = 5_000 })
	tok := s.signup(t, "a@example.com")
	var acct accountBalance
	s.do(t, "GET", "/v1/account", tok, nil).status(t, 200).json(t, &acct)
	if acct.Balance != 5_000 || acct.Held != 0 || acct.Available != 5_000 {
		t.Fatalf("new account %+v, want the 5000 signup credit", acct)
	}
	var page struct {
		Entries []struct {
			Kind      string
			Amount    int64
			Operation string
		}
		NextCursor string `json:"next_cursor"`
	}
	s.do(t, "GET", "/v1/ledger", tok, nil).status(t, 200).json(t, &page)
	if len(page.Entries) != 1 || page.Entries[0].Kind != "credit" || page.Entries[0].Amount != 5_000 || page.Entries[0].Operation != "signup" {
		t.Fatalf("ledger %+v, want one signup credit", page)
	}
	s.do(t, "GET", "/v1/ledger?limit=0", tok, nil).problem(t, 400, "invalid")
	s.do(t, "GET", "/v1/ledger?cursor=bm9wZQ", tok, nil).problem(t, 400, "invalid")
}

func TestAdminCredit(t *testing.T) {
	s := newServer(t, func(c *api.Config) { c.SignupCredit = 0 })
	tok := s.signup(t, "a@example.com")
	var acct accountBalance
	s.do(t, "GET", "/v1/account", tok, nil).status(t, 200).json(t, &acct)

	// An operator key: the admin scope exists only on keys made outside the API.
	ctx := context.Background()
	op := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "operator", CreatedAt: time.Now()}
	if err := s.store.CreateAccount(ctx, op); err != nil {
		t.Fatal(err)
	}
	k, admin := mediagate.NewAPIKey(op.ID, "ops", mediagate.AllScopes, time.Now())
	if err := s.store.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	path := "/v1/admin/accounts/" + acct.ID + "/credits"
	body := map[string]any{"amount": 2_500_000}
	s.do(t, "POST", path, admin, body, "Idempotency-Key", "topup-1").status(t, 200)
	s.do(t, "POST", path, admin, body, "Idempotency-Key", "topup-1").status(t, 200) // a retry credits nothing more
	s.do(t, "GET", "/v1/account", tok, nil).status(t, 200).json(t, &acct)
	if acct.Balance != 2_500_000 {
		t.Fatalf("balance %d after one top-up retried, want 2500000", acct.Balance)
	}
	s.do(t, "POST", path, admin, body).problem(t, 400, "invalid") // no Idempotency-Key
	s.do(t, "POST", path, admin, map[string]any{"amount": 0}, "Idempotency-Key", "k2").problem(t, 400, "invalid")
	s.do(t, "POST", "/v1/admin/accounts/acct_00000000000000000000000000/credits", admin, body, "Idempotency-Key", "k3").problem(t, 404, "not_found")
	s.do(t, "POST", path, tok, body, "Idempotency-Key", "k4").problem(t, 403, "forbidden") // a user cannot top up
	s.do(t, "POST", path, s.key(t, tok), body, "Idempotency-Key", "k5").problem(t, 403, "forbidden")
}

func TestUsage(t *testing.T) {
	s := newServer(t, func(c *api.Config) {
		c.Prices.UploadPerMiB, c.Prices.DownloadPerMiB, c.SignupCredit = 1_000, 2_000, 0
	})
	tok, _ := s.funded(t, "a@example.com", 100_000)
	o := s.upload(t, tok, "a.txt", "text/plain", txtBytes) // 18 bytes: 1 micro-credit
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil).status(t, 200)
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil).status(t, 200)

	var u struct {
		GroupBy string `json:"group_by"`
		Rows    []struct {
			Day, Operation string
			Amount, Count  int64
		}
		Total int64
	}
	s.do(t, "GET", "/v1/usage?group_by=operation", tok, nil).status(t, 200).json(t, &u)
	if u.Total != 3 || len(u.Rows) != 2 || u.Rows[0].Operation != "download" || u.Rows[0].Amount != 2 || u.Rows[0].Count != 2 ||
		u.Rows[1].Operation != "upload" || u.Rows[1].Amount != 1 {
		t.Fatalf("usage by operation %+v", u)
	}
	s.do(t, "GET", "/v1/usage", tok, nil).status(t, 200).json(t, &u)
	if u.GroupBy != "day" || u.Total != 3 || len(u.Rows) == 0 || u.Rows[0].Day == "" {
		t.Fatalf("usage by day %+v", u)
	}
	s.do(t, "GET", "/v1/usage?from=2000-01-01&to=2000-01-02", tok, nil).status(t, 200).json(t, &u)
	if u.Total != 0 || len(u.Rows) != 0 {
		t.Fatalf("usage of an empty window %+v", u)
	}
	s.do(t, "GET", "/v1/usage?group_by=week", tok, nil).problem(t, 400, "invalid")
	s.do(t, "GET", "/v1/usage?from=yesterday", tok, nil).problem(t, 400, "invalid")
	s.do(t, "GET", "/v1/usage?from=2001-01-02&to=2001-01-01", tok, nil).problem(t, 400, "invalid")
}

func TestHolds(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "a@example.com", 10_000)
	holds := func(t *testing.T, token, query string) []apiv1.Hold {
		t.Helper()
		var out apiv1.HoldList
		r := s.do(t, "GET", "/v1/holds"+query, token, nil).status(t, 200)
		r.json(t, &out)
		if out.Holds == nil {
			t.Fatalf("holds is %s, want a list", r.body)
		}
		return out.Holds
	}
	if got := holds(t, tok, ""); len(got) != 0 {
		t.Fatalf("holds of a new account: %+v, want none", got)
	}

	// Two uploads declared: each holds the cost of its declared size.
	var first, second created
	s.declare(t, tok, 2*mediagate.MiB).status(t, 201).json(t, &first)
	s.clock.Advance(time.Second)
	s.declare(t, tok, 3*mediagate.MiB).status(t, 201).json(t, &second)
	got := holds(t, tok, "")
	if len(got) != 2 || got[0].Reference != second.Object.ID || got[1].Reference != first.Object.ID {
		t.Fatalf("holds %+v, want the second upload's then the first's", got)
	}
	h := got[0]
	if h.Amount != 3*perMiB || h.Operation != "upload" || !strings.HasPrefix(h.ID, "hold_") ||
		!h.ExpiresAt.After(h.CreatedAt) || h.CreatedAt.Location() != time.UTC {
		t.Fatalf("hold %+v, want 3000 for the upload, expiring after it was made", h)
	}
	if b := s.account(t, tok); b.Held != got[0].Amount+got[1].Amount {
		t.Fatalf("held=%d, want the holds' sum %d", b.Held, got[0].Amount+got[1].Amount)
	}
	if got := holds(t, tok, "?limit=1"); len(got) != 1 || got[0].ID != h.ID {
		t.Fatalf("limit=1: %+v, want the newest hold only", got)
	}

	// Another account sees none of them; aborting an upload releases its hold.
	other := s.signup(t, "b@example.com")
	if got := holds(t, other, ""); len(got) != 0 {
		t.Fatalf("another account's holds: %+v, want none", got)
	}
	s.do(t, "DELETE", "/v1/uploads/"+second.Object.ID, tok, nil).status(t, 204)
	if got := holds(t, tok, ""); len(got) != 1 || got[0].Reference != first.Object.ID {
		t.Fatalf("holds after an abort: %+v, want the first upload's", got)
	}
	s.balance(t, acct, 10_000, 2*perMiB)

	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x"} {
		s.do(t, "GET", "/v1/holds"+q, tok, nil).problem(t, 400, mediagate.EINVALID)
	}
	s.do(t, "GET", "/v1/holds", "", nil).problem(t, 401, mediagate.EUNAUTHORIZED)
}

func TestPrices(t *testing.T) {
	s := newServer(t, func(c *api.Config) { c.Prices.DownloadPerMiB = 2_500; c.Prices.JobRun = 70_000 })
	tok := s.signup(t, "prices@example.com")
	s.do(t, "GET", "/v1/prices", "", nil).problem(t, 401, mediagate.EUNAUTHORIZED)
	var p apiv1.Prices
	s.do(t, "GET", "/v1/prices", tok, nil).status(t, 200).json(t, &p)
	want := mediagate.DefaultPrices()
	if p.DownloadPerMiB != 2_500 || p.JobRun != 70_000 || p.UploadPerMiB != want.UploadPerMiB || p.PinPerGiBDay != want.PinPerGiBDay ||
		p.FetchPerURL != want.FetchPerURL || p.FetchPerMiB != want.FetchPerMiB || p.APIRequest != want.APIRequest {
		t.Fatalf("GET /v1/prices = %+v, want the configured prices (download 2500, job 70000, the rest default %+v)", p, want)
	}
}
