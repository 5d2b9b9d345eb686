package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"mediagate"
)

// testConcurrency creates, completes, reads and lists objects and uses keys
// from many goroutines at once: no error (such as a busy database) may leak.
func testConcurrency(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	const workers, each = 16, 40
	accounts := []*mediagate.Account{newAccount(t, s, at(0)), newAccount(t, s, at(0))}
	key := newKey(accounts[0].ID, at(0), mediagate.UserScopes)
	must(t, s.CreateKey(ctx, key), "CreateKey")

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			errs <- func() error {
				a := accounts[w%len(accounts)]
				for i := range each {
					id := mediagate.NewID(mediagate.PrefixObject)
					created := at(time.Duration(w*each+i) * time.Millisecond)
					o := &mediagate.Object{
						ID: id, AccountID: a.ID, Key: "o/" + id, Filename: "f", ContentType: "image/png", Size: 10,
						State: mediagate.StatePending, ExpiresAt: ptr(created.Add(time.Hour)), CreatedAt: created, UpdatedAt: created,
					}
					if err := s.CreateObject(ctx, o); err != nil {
						return fmt.Errorf("CreateObject: %w", err)
					}
					got, err := s.CompleteObject(ctx, a.ID, id, 10, "", "image/png", created.Add(time.Second))
					if err != nil {
						return fmt.Errorf("CompleteObject: %w", err)
					}
					if got.State != mediagate.StateReady {
						return fmt.Errorf("CompleteObject: state=%s, want %s", got.State, mediagate.StateReady)
					}
					if _, err := s.Object(ctx, a.ID, id); err != nil {
						return fmt.Errorf("Object: %w", err)
					}
					if _, err := s.KeyByHash(ctx, key.Hash); err != nil {
						return fmt.Errorf("KeyByHash: %w", err)
					}
					if i%8 == 0 {
						if err := s.TouchKey(ctx, key.ID, created); err != nil {
							return fmt.Errorf("TouchKey: %w", err)
						}
						if _, _, err := s.Objects(ctx, a.ID, mediagate.ObjectFilter{Limit: 10}); err != nil {
							return fmt.Errorf("Objects: %w", err)
						}
						if _, err := s.ExpirePending(ctx, created, 10); err != nil {
							return fmt.Errorf("ExpirePending: %w", err)
						}
					}
				}
				return nil
			}()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	counts, err := s.CountObjects(ctx)
	must(t, err, "CountObjects")
	checkCounts(t, counts, 0, workers*each, 0)
	total := 0
	for _, a := range accounts {
		total += len(walk(t, s, a.ID, mediagate.ObjectFilter{State: mediagate.StateReady, Limit: 100}, nil))
	}
	if total != workers*each {
		t.Fatalf("listed %d ready objects, want %d", total, workers*each)
	}
}

// testConcurrentSignUp signs up with one email from many goroutines: exactly
// one succeeds, the others get ECONFLICT and leave no account behind.
func testConcurrentSignUp(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	const n = 16
	errs := make([]error, n)
	accountIDs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		accountIDs[i] = mediagate.NewID(mediagate.PrefixAccount)
		wg.Go(func() {
			a := &mediagate.Account{ID: accountIDs[i], Name: "race", CreatedAt: at(0)}
			u := &mediagate.User{ID: mediagate.NewID(mediagate.PrefixUser), AccountID: a.ID,
				Email: "race@example.com", PasswordHash: "h", CreatedAt: at(0)}
			errs[i] = s.CreateAccountWithUser(ctx, a, u)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch mediagate.ErrorCode(err) {
		case "":
			if winner >= 0 {
				t.Fatalf("sign-ups %d and %d both succeeded, want one", winner, i)
			}
			winner = i
		case mediagate.ECONFLICT:
		default:
			t.Fatalf("sign-up %d: %v, want nil or %s", i, err, mediagate.ECONFLICT)
		}
	}
	if winner < 0 {
		t.Fatalf("no sign-up succeeded, want one")
	}
	u, err := s.UserByEmail(ctx, "race@example.com")
	must(t, err, "UserByEmail")
	if u.AccountID != accountIDs[winner] {
		t.Fatalf("user's account=%s, want %s (the winner's)", u.AccountID, accountIDs[winner])
	}
	list, err := s.Accounts(ctx)
	must(t, err, "Accounts")
	if len(list) != 1 {
		t.Fatalf("len(Accounts)=%d, want 1", len(list))
	}
}
