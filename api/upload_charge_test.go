package api_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/sweeper"
)

// mib is a MiB of plain text.
var mib = bytes.Repeat([]byte("a"), mediagate.MiB)

// perMiB is what an uploaded MiB costs in these tests.
const perMiB = 1_000

// chargedServer is a server where a MiB of upload costs perMiB micro-credits
// and new accounts start with nothing.
func chargedServer(t *testing.T) *server {
	return newServer(t, func(c *api.Config) {
		c.Prices.UploadPerMiB = perMiB
		c.SignupCredit = 0
	})
}

// funded signs up an account, credits it with amount and returns its token
// and id.
func (s *server) funded(t *testing.T, email string, amount int64) (string, string) {
	t.Helper()
	var out struct {
		Account struct{ ID string }
		Token   string
	}
	s.do(t, "POST", "/v1/auth/signup", "", map[string]any{"email": email, "password": "correct horse"}).status(t, 201).json(t, &out)
	if amount > 0 {
		if _, err := s.store.Credit(context.Background(), out.Account.ID, amount, "topup", "test-"+email); err != nil {
			t.Fatal(err)
		}
	}
	return out.Token, out.Account.ID
}

// balance fails unless the account's balance and held amount are as given.
func (s *server) balance(t *testing.T, accountID string, balance, held int64) {
	t.Helper()
	b, err := s.store.Balance(context.Background(), accountID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Balance != balance || b.Held != held {
		t.Fatalf("balance=%d held=%d, want balance=%d held=%d", b.Balance, b.Held, balance, held)
	}
}

// declare asks to upload size bytes of text and returns the raw answer.
func (s *server) declare(t *testing.T, token string, size int64, extra ...any) response {
	t.Helper()
	req := map[string]any{"filename": "a.txt", "content_type": "text/plain", "size": size}
	for i := 0; i+1 < len(extra); i += 2 {
		req[extra[i].(string)] = extra[i+1]
	}
	return s.do(t, "POST", "/v1/uploads", token, req)
}

// countObjects returns how many pending and ready objects the account has.
func (s *server) countObjects(t *testing.T, accountID string) int {
	t.Helper()
	list, _, err := s.store.Objects(context.Background(), accountID, mediagate.ObjectFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// wantPayment fails unless r is a 402 that says needed and available.
func wantPayment(t *testing.T, r response, needed, available int64) {
	t.Helper()
	p := r.problem(t, http.StatusPaymentRequired, mediagate.EPAYMENT)
	if p["needed"] != float64(needed) || p["available"] != float64(available) {
		t.Fatalf("402 says needed=%v available=%v, want %d and %d; body %s", p["needed"], p["available"], needed, available, r.body)
	}
}

func TestUploadChargesTheActualSize(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "three@example.com", 3*perMiB)

	// Two MiB: held at create, settled at complete.
	two := bytes.Repeat(mib, 2)
	c := s.createUpload(t, tok, "two.txt", "text/plain", two)
	s.balance(t, acct, 3*perMiB, 2*perMiB)
	if o, err := s.store.Object(context.Background(), acct, c.Object.ID); err != nil || o.HoldID == "" {
		t.Fatalf("pending object %s: %+v, %v; want one with a hold", c.Object.ID, o, err)
	}
	s.put(t, c.Upload, two).status(t, 200)
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).status(t, 200)
	s.balance(t, acct, perMiB, 0)
	// Completing again charges nothing more.
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).status(t, 409)
	s.balance(t, acct, perMiB, 0)

	// A byte over the MiB left costs a micro-credit more than there is.
	wantPayment(t, s.declare(t, tok, mediagate.MiB+1), perMiB+1, perMiB)
	if n := s.countObjects(t, acct); n != 1 {
		t.Fatalf("%d objects after a refused upload, want 1", n)
	}

	// Exactly the MiB left: admitted, and then nothing is left.
	s.upload(t, tok, "one.txt", "text/plain", mib)
	s.balance(t, acct, 0, 0)
	wantPayment(t, s.declare(t, tok, 1), 1, 0)
	if n := s.countObjects(t, acct); n != 2 {
		t.Fatalf("%d objects after a refused upload, want 2", n)
	}
}

func TestUploadMultipartIsCharged(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "multi@example.com", 10*perMiB)
	data := bytes.Repeat(mib, 2)
	var c created
	s.declare(t, tok, int64(len(data)), "multipart", true, "part_size", mediagate.MiB).status(t, 201).json(t, &c)
	s.balance(t, acct, 10*perMiB, 2*perMiB)
	var parts struct {
		Parts []struct {
			Number int
			instruction
		}
	}
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/parts", tok, map[string]any{"parts": []int{1, 2}}).status(t, 200).json(t, &parts)
	if len(parts.Parts) != 2 {
		t.Fatalf("got %d part URLs, want 2", len(parts.Parts))
	}
	for _, p := range parts.Parts {
		s.put(t, &p.instruction, data[(p.Number-1)*mediagate.MiB:p.Number*mediagate.MiB]).status(t, 200)
	}
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).status(t, 200)
	s.balance(t, acct, 8*perMiB, 0)
}

func TestUploadFailedVerificationReleasesTheHold(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "wrong@example.com", perMiB)
	c := s.createUpload(t, tok, "a.txt", "text/plain", mib, "sha256", sha([]byte("something else")))
	s.balance(t, acct, perMiB, perMiB)
	s.put(t, c.Upload, mib).status(t, 200)
	s.do(t, "POST", "/v1/uploads/"+c.Object.ID+"/complete", tok, nil).problem(t, 422, mediagate.EMISMATCH)
	s.balance(t, acct, perMiB, 0)

	// The credit is there again for a good upload.
	s.upload(t, tok, "a.txt", "text/plain", mib)
	s.balance(t, acct, 0, 0)
}

func TestUploadAbortReleasesTheHold(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "abort@example.com", perMiB)
	c := s.createUpload(t, tok, "a.txt", "text/plain", mib)
	s.balance(t, acct, perMiB, perMiB)
	wantPayment(t, s.declare(t, tok, 1), 1, 0)
	s.do(t, "DELETE", "/v1/uploads/"+c.Object.ID, tok, nil).status(t, 204)
	s.balance(t, acct, perMiB, 0)
	s.upload(t, tok, "a.txt", "text/plain", mib)
	s.balance(t, acct, 0, 0)
}

func TestUploadExpiredHoldIsReleasedBySweeper(t *testing.T) {
	s := chargedServer(t)
	tok, acct := s.funded(t, "late@example.com", perMiB)
	c := s.createUpload(t, tok, "a.txt", "text/plain", mib)
	sw := &sweeper.Sweeper{Objects: s.store, Blobs: s.blobs, Ledger: s.store, Now: s.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}

	// Past the upload's deadline the upload is gone, but a complete that
	// started in time could still settle: the hold outlives the deadline.
	s.clock.Advance(s.cfg.UploadTTL + time.Second)
	res, err := sw.Sweep(context.Background())
	if err != nil || res.Expired != 1 || res.HoldsReleased != 0 {
		t.Fatalf("sweep just past the deadline=%+v, %v; want 1 expired, no hold released", res, err)
	}
	if _, err := s.store.Object(context.Background(), acct, c.Object.ID); mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		t.Fatalf("expired upload: %v, want it deleted (not found)", err)
	}
	s.balance(t, acct, perMiB, perMiB)

	s.clock.Advance(time.Hour)
	res, err = sw.Sweep(context.Background())
	if err != nil || res.HoldsReleased != 1 {
		t.Fatalf("sweep after the hold's expiry=%+v, %v; want 1 hold released", res, err)
	}
	s.balance(t, acct, perMiB, 0)
}

func TestUploadBurstNeverOverdraws(t *testing.T) {
	s := chargedServer(t)
	const k, tries = 3, 16
	tok, acct := s.funded(t, "burst@example.com", k*perMiB)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
	)
	for range tries {
		wg.Go(func() {
			req := map[string]any{"filename": "a.txt", "content_type": "text/plain", "size": mediagate.MiB}
			r := s.do(t, "POST", "/v1/uploads", tok, req)
			mu.Lock()
			statuses[r.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[201] != k || statuses[402] != tries-k {
		t.Fatalf("statuses %v, want %d × 201 and %d × 402", statuses, k, tries-k)
	}
	s.balance(t, acct, k*perMiB, k*perMiB)
	if n := s.countObjects(t, acct); n != k {
		t.Fatalf("%d objects, want %d", n, k)
	}
}
