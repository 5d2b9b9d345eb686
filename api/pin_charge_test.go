package api_test

import (
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
)

type pinJSON struct {
	Pinned         bool       `json:"pinned"`
	PinState       string     `json:"pin_state"`
	PinSuspendedAt *time.Time `json:"pin_suspended_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// TestPinsAreChargedAndSuspended: pinning needs credit for an hour of the
// pin; an account that runs dry gets its pins suspended, shown as such, and
// pinning again after a top-up resumes them.
func TestPinsAreChargedAndSuspended(t *testing.T) {
	const perGiBDay = 24 * 1024 * 1000 // 1,000 per MiB-hour
	s := newServer(t, func(c *api.Config) {
		c.Prices.UploadPerMiB, c.Prices.PinPerGiBDay, c.SignupCredit = 0, perGiBDay, 0
	})
	tok, acct := s.funded(t, "a@example.com", 2_999)
	data := []byte(strings.Repeat("0123456789abcde\n", 2<<20/16)) // 2 MiB: 2,000 per hour
	o := s.upload(t, tok, "big.txt", "text/plain", data)

	var got pinJSON
	s.do(t, "POST", "/v1/objects/"+o.ID+"/pin", tok, nil).status(t, 200).json(t, &got)
	if !got.Pinned || got.PinState != "active" || got.PinSuspendedAt != nil {
		t.Fatalf("pinned: %+v, want an active pin", got)
	}

	// Two hours cost 4,000; the account pays its 2,999 and the pin is suspended.
	upTo := got.UpdatedAt.Add(2 * time.Hour) // the pin accrues from when it was set
	pc, err := s.store.ChargePins(t.Context(), acct, upTo, perGiBDay)
	if err != nil {
		t.Fatal(err)
	}
	if pc.Cost != 4_000 || pc.Charged != 2_999 || pc.Suspended != 1 {
		t.Fatalf("ChargePins = %+v, want cost 4000, charged 2999, 1 suspended", pc)
	}
	s.balance(t, acct, 0, 0)
	entries, _, err := s.store.Entries(t.Context(), acct, 1, "")
	if err != nil || len(entries) != 1 || entries[0].Operation != mediagate.PinOperation ||
		entries[0].Reference != mediagate.PinReference(upTo) || entries[0].Amount != 2_999 {
		t.Fatalf("last ledger entry %+v (%v), want the pin charge of 2999", entries, err)
	}
	got = pinJSON{}
	s.do(t, "GET", "/v1/objects/"+o.ID, tok, nil).status(t, 200).json(t, &got)
	if !got.Pinned || got.PinState != "suspended" || got.PinSuspendedAt == nil || !got.PinSuspendedAt.Equal(upTo) {
		t.Fatalf("after running dry: %+v, want a pin suspended at %v", got, upTo)
	}

	// Pinning again needs an hour's credit: 402 with the figures.
	wantPayment(t, s.do(t, "POST", "/v1/objects/"+o.ID+"/pin", tok, nil), 2_000, 0)
	if _, err := s.store.Credit(t.Context(), acct, 2_000, "topup", "pin-test"); err != nil {
		t.Fatal(err)
	}
	got = pinJSON{}
	s.do(t, "POST", "/v1/objects/"+o.ID+"/pin", tok, nil).status(t, 200).json(t, &got)
	if got.PinState != "active" || got.PinSuspendedAt != nil {
		t.Fatalf("re-pinned: %+v, want active", got)
	}
	// Unpinning is always allowed, and an unpinned object has no pin state.
	got = pinJSON{}
	s.do(t, "DELETE", "/v1/objects/"+o.ID+"/pin", tok, nil).status(t, 200).json(t, &got)
	if got.Pinned || got.PinState != "" {
		t.Fatalf("unpinned: %+v", got)
	}
}
