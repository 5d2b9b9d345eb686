package storetest

import (
	"testing"
	"time"

	"mediagate"
)

func testAccounts(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	// Stored out of order: Accounts sorts by CreatedAt, not by insertion.
	a1 := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "second", CreatedAt: at(time.Second)}
	a2 := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "first", CreatedAt: at(0)}
	a3 := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "third", CreatedAt: at(2 * time.Second)}
	for _, a := range []*mediagate.Account{a1, a2, a3} {
		must(t, s.CreateAccount(ctx, a), "CreateAccount")
	}

	got, err := s.Account(ctx, a1.ID)
	must(t, err, "Account")
	check(t, "Account", accountDiff(got, a1)...)

	list, err := s.Accounts(ctx)
	must(t, err, "Accounts")
	want := []*mediagate.Account{a2, a1, a3}
	if len(list) != len(want) {
		t.Fatalf("len(Accounts)=%d, want %d", len(list), len(want))
	}
	for i := range want {
		check(t, "Accounts", accountDiff(list[i], want[i])...)
	}

	_, err = s.Account(ctx, mediagate.NewID(mediagate.PrefixAccount))
	wantCode(t, err, mediagate.ENOTFOUND, "Account(unknown)")

	dup := &mediagate.Account{ID: a1.ID, Name: "impostor", CreatedAt: at(time.Hour)}
	wantCode(t, s.CreateAccount(ctx, dup), mediagate.ECONFLICT, "CreateAccount(same id)")
	got, err = s.Account(ctx, a1.ID)
	must(t, err, "Account")
	check(t, "Account after conflict", accountDiff(got, a1)...)
}

func testCreateAccountWithUser(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "alice's", CreatedAt: at(0)}
	u := &mediagate.User{
		ID: mediagate.NewID(mediagate.PrefixUser), AccountID: a.ID, Email: "Alice@Example.COM",
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdA$aGFzaA", CreatedAt: at(time.Second),
	}
	must(t, s.CreateAccountWithUser(ctx, a, u), "CreateAccountWithUser")
	got, err := s.Account(ctx, a.ID)
	must(t, err, "Account")
	check(t, "Account", accountDiff(got, a)...)

	want := mediagate.User{ID: u.ID, AccountID: a.ID, Email: "alice@example.com", PasswordHash: u.PasswordHash, CreatedAt: u.CreatedAt}
	for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.COM"} {
		got, err := s.UserByEmail(ctx, email)
		must(t, err, "UserByEmail("+email+")")
		check(t, "UserByEmail("+email+")", userDiff(got, &want)...)
	}

	// The same email in another case is taken: nothing of b is stored.
	b := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "bob's", CreatedAt: at(time.Minute)}
	u2 := &mediagate.User{ID: mediagate.NewID(mediagate.PrefixUser), AccountID: b.ID, Email: "aLiCe@example.com",
		PasswordHash: "other", CreatedAt: at(time.Minute)}
	wantCode(t, s.CreateAccountWithUser(ctx, b, u2), mediagate.ECONFLICT, "CreateAccountWithUser(taken email)")
	_, err = s.Account(ctx, b.ID)
	wantCode(t, err, mediagate.ENOTFOUND, "Account of the refused sign-up")
	list, err := s.Accounts(ctx)
	must(t, err, "Accounts")
	if len(list) != 1 {
		t.Fatalf("len(Accounts)=%d after a refused sign-up, want 1", len(list))
	}
	got2, err := s.UserByEmail(ctx, "alice@example.com")
	must(t, err, "UserByEmail")
	check(t, "UserByEmail after a refused sign-up", userDiff(got2, &want)...)

	// Neither id was kept: both are free for a sign-up with another email.
	b2 := &mediagate.Account{ID: b.ID, Name: "bob's", CreatedAt: at(time.Minute)}
	u3 := &mediagate.User{ID: u2.ID, AccountID: b.ID, Email: "bob@example.com", PasswordHash: "h", CreatedAt: at(time.Minute)}
	must(t, s.CreateAccountWithUser(ctx, b2, u3), "CreateAccountWithUser(ids of the refused sign-up)")
	got3, err := s.UserByEmail(ctx, "BOB@example.com")
	must(t, err, "UserByEmail(bob)")
	check(t, "UserByEmail(bob)", diff("ID", got3.ID, u2.ID), diff("AccountID", got3.AccountID, b.ID))

	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, mediagate.ENOTFOUND, "UserByEmail(unknown)")
}

// testTimes checks that times far from now come back as the same instant in UTC.
func testTimes(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	for _, tm := range []time.Time{
		base,
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
		time.Date(1969, 7, 20, 20, 17, 40, 123456000, time.FixedZone("EDT", -4*3600)),
		time.Date(2199, 12, 31, 23, 59, 59, 999999000, time.FixedZone("X", 13*3600+45*60)),
	} {
		a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: "t", CreatedAt: tm}
		must(t, s.CreateAccount(ctx, a), "CreateAccount")
		got, err := s.Account(ctx, a.ID)
		must(t, err, "Account")
		check(t, "Account", timeDiff("CreatedAt", got.CreatedAt, tm))
	}
}

func accountDiff(got, want *mediagate.Account) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("Name", got.Name, want.Name),
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
	}
}

func userDiff(got, want *mediagate.User) []string {
	return []string{
		diff("ID", got.ID, want.ID), diff("AccountID", got.AccountID, want.AccountID),
		diff("Email", got.Email, want.Email), diff("PasswordHash", got.PasswordHash, want.PasswordHash),
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
	}
}
