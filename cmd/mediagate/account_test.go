package main

import (
	"strings"
	"testing"
)

func TestAccountCommand(t *testing.T) {
	c := newClientEnv(t)
	// The apitest account starts with the default signup credit of one credit.
	out := c.mustRun(t, "account")
	if !strings.Contains(out, "balance    1.000000") || !strings.Contains(out, "available  1.000000") {
		t.Fatalf("account printed:\n%s", out)
	}
	path, _ := textFile(t, t.TempDir(), "a.txt", 100)
	c.mustRun(t, "upload", "--quiet", path)
	out = c.mustRun(t, "account", "--usage", "--group-by", "operation", "--ledger", "5")
	for _, want := range []string{"balance    0.999999", "upload", "total", "0.000001", "credit", "signup", "settle"} {
		if !strings.Contains(out, want) {
			t.Errorf("account --usage --ledger lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := c.run(t, "account", "--ledger", "-1"); err == nil {
		t.Error("--ledger -1 was accepted")
	}
	if _, _, err := c.run(t, "account", "--usage", "--group-by", "week"); err == nil {
		t.Error("--group-by week was accepted")
	}
}

func TestCredits(t *testing.T) {
	for in, want := range map[int64]string{0: "0.000000", 1: "0.000001", 1_500_000: "1.500000", -2_000_001: "-2.000001"} {
		if got := credits(in); got != want {
			t.Errorf("credits(%d)=%q, want %q", in, got, want)
		}
	}
}
