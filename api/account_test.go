package api_test

import (
	"context"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
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
