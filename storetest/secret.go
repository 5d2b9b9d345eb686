package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"mediagate"
)

func secretDiff(got, want *mediagate.Secret) []string {
	return []string{
		diff("Name", got.Name, want.Name),
		diff("Value", fmt.Sprintf("%x", got.Value), fmt.Sprintf("%x", want.Value)),
		timeDiff("CreatedAt", got.CreatedAt, want.CreatedAt),
	}
}

func testEnsureSecret(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	first := &mediagate.Secret{Name: "jwt/1", Value: []byte{0, 1, 2, 0xff}, CreatedAt: at(0)}
	stored, created, err := s.EnsureSecret(ctx, first)
	must(t, err, "EnsureSecret")
	if !created {
		t.Fatalf("created=false on the first EnsureSecret, want true")
	}
	check(t, "EnsureSecret(first)", secretDiff(stored, first)...)

	for range 2 {
		second := &mediagate.Secret{Name: "jwt/1", Value: []byte("another"), CreatedAt: at(time.Hour)}
		stored, created, err = s.EnsureSecret(ctx, second)
		must(t, err, "EnsureSecret")
		if created {
			t.Fatalf("created=true on a second EnsureSecret, want false")
		}
		check(t, "EnsureSecret(second)", secretDiff(stored, first)...)
	}
	list, err := s.Secrets(ctx, "jwt/1")
	must(t, err, "Secrets")
	if len(list) != 1 {
		t.Fatalf("len(Secrets)=%d, want 1", len(list))
	}
	check(t, "Secrets", secretDiff(list[0], first)...)
}

func testEnsureSecretConcurrent(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	const n = 32
	type result struct {
		stored  *mediagate.Secret
		created bool
		err     error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sec := &mediagate.Secret{Name: "signing-master", Value: []byte{byte(i)}, CreatedAt: at(time.Duration(i) * time.Second)}
			r := &results[i]
			r.stored, r.created, r.err = s.EnsureSecret(ctx, sec)
		})
	}
	wg.Wait()
	winner := -1
	for i, r := range results {
		must(t, r.err, fmt.Sprintf("EnsureSecret %d", i))
		if r.created {
			if winner >= 0 {
				t.Fatalf("EnsureSecret created by goroutines %d and %d, want one", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("EnsureSecret created by no goroutine, want one")
	}
	for i, r := range results {
		if !bytes.Equal(r.stored.Value, []byte{byte(winner)}) {
			t.Fatalf("goroutine %d: value=%x, want %x (the winner's)", i, r.stored.Value, []byte{byte(winner)})
		}
	}
}

func testSecrets(t *testing.T, s mediagate.Store) {
	ctx := t.Context()
	secret := func(name string, d time.Duration) *mediagate.Secret {
		t.Helper()
		sec := &mediagate.Secret{Name: name, Value: []byte("value of " + name), CreatedAt: at(d)}
		_, created, err := s.EnsureSecret(ctx, sec)
		must(t, err, "EnsureSecret")
		if !created {
			t.Fatalf("EnsureSecret(%s): created=false, want true", name)
		}
		return sec
	}
	j1 := secret("jwt/1", 0)
	j2 := secret("jwt/2", time.Hour)
	j0 := secret("jwt/0", -time.Hour)
	jwt := secret("jwt", 2*time.Hour)
	other := secret("jwt0/x", 3*time.Hour) // '0' follows '/': a naive upper bound catches it
	upper := secret("JWT/9", 4*time.Hour)  // prefixes are case-sensitive
	pct := secret("j%t/1", 5*time.Hour)    // and not patterns
	url := secret("url-master", 6*time.Hour)

	for _, tc := range []struct {
		prefix string
		want   []*mediagate.Secret
	}{
		{"jwt/", []*mediagate.Secret{j2, j1, j0}},
		{"jwt", []*mediagate.Secret{other, jwt, j2, j1, j0}},
		{"j%t/", []*mediagate.Secret{pct}},
		{"j_t/", nil},
		{"JWT/", []*mediagate.Secret{upper}},
		{"", []*mediagate.Secret{url, pct, upper, other, jwt, j2, j1, j0}},
		{"nope", nil},
	} {
		list, err := s.Secrets(ctx, tc.prefix)
		must(t, err, "Secrets")
		var got, want []string
		for _, sec := range list {
			got = append(got, sec.Name)
		}
		for _, sec := range tc.want {
			want = append(want, sec.Name)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Secrets(%q)=%v, want %v", tc.prefix, got, want)
		}
		for i := range tc.want {
			check(t, fmt.Sprintf("Secrets(%q)[%d]", tc.prefix, i), secretDiff(list[i], tc.want[i])...)
		}
	}
}
