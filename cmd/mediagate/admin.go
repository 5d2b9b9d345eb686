package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"mediagate"
	"mediagate/api"
)

func init() {
	commands["admin"] = command{"operator commands on the database: accounts, keys, migrations", runAdmin}
}

const adminUsage = `Usage: mediagate admin SUBCOMMAND [flags]

Subcommands (they open the database directly, no server needed):
  create-account NAME        make an account; prints its id
  create-key ACCOUNT_ID NAME make an API key (--scope, repeatable); prints the secret once
  list-accounts              list every account
  credit ACCOUNT_ID AMOUNT   top up an account by AMOUNT micro-credits (--key makes a retry credit once)
  rotate-jwt-key             add a new JWT signing key; old tokens stay valid until they expire
  migrate                    apply the database migrations and exit
`

func runAdmin(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(e.stderr, adminUsage)
		if len(args) == 0 {
			return usageError("admin: no subcommand given")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet(e, "admin "+sub, "[flags]")
	var b backendFlags
	b.register(fs, e)
	var scopes stringList
	idemKey := ""
	if sub == "credit" {
		fs.StringVar(&idemKey, "key", "", "idempotency key: a second credit with the same key credits nothing (default: a new one)")
	}
	var keyLimit mediagate.Limit
	if sub == "create-key" {
		fs.Var(limitValue{&keyLimit}, "rate-limit", "the key's own rate limit, RATE/PERIOD[,BURST] (default: the server's per-credential limits)")
		fs.Var(&scopes, "scope", "scope to grant (repeatable; default: "+joinScopes(mediagate.UserScopes)+")")
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	want := map[string]int{"create-account": 1, "create-key": 2, "list-accounts": 0, "credit": 2, "rotate-jwt-key": 0, "migrate": 0}
	n, ok := want[sub]
	if !ok {
		fmt.Fprint(e.stderr, adminUsage)
		return usageError("admin: unknown subcommand %q", sub)
	}
	if len(pos) != n {
		return usageError("admin %s takes %d argument(s), got %d", sub, n, len(pos))
	}
	store, err := b.openStore(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	now := time.Now().UTC()
	switch sub {
	case "create-account":
		name := strings.TrimSpace(pos[0])
		if name == "" {
			return usageError("admin create-account: NAME must not be empty")
		}
		a := &mediagate.Account{ID: mediagate.NewID(mediagate.PrefixAccount), Name: name, CreatedAt: now}
		if err := store.CreateAccount(ctx, a); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, a.ID)
	case "create-key":
		a, err := store.Account(ctx, pos[0])
		if err != nil {
			return err
		}
		granted := mediagate.UserScopes
		if len(scopes) > 0 {
			granted = nil
			for _, s := range scopes {
				if !mediagate.ValidScope(mediagate.Scope(s)) {
					return usageError("admin create-key: unknown scope %q (known: %s)", s, joinScopes(mediagate.AllScopes))
				}
				granted = append(granted, mediagate.Scope(s))
			}
		}
		k, secret := mediagate.NewAPIKey(a.ID, pos[1], granted, now)
		if keyLimit.Rate > 0 {
			k.RateLimit = &keyLimit
		}
		if err := store.CreateKey(ctx, k); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "created key %s for account %s with scopes %s; the secret is shown only now:\n", k.ID, a.ID, joinScopes(k.Scopes))
		fmt.Fprintln(e.stdout, secret)
	case "list-accounts":
		list, err := store.Accounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED")
		for _, a := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", a.ID, a.Name, a.CreatedAt.UTC().Format(time.RFC3339))
		}
		return tw.Flush()
	case "credit":
		amount, err := strconv.ParseInt(pos[1], 10, 64)
		if err != nil || amount <= 0 {
			return usageError("admin credit: AMOUNT must be a positive number of micro-credits (1 credit = 1000000), got %q", pos[1])
		}
		if idemKey == "" {
			idemKey = mediagate.NewID("admin_")
		}
		entry, err := store.Credit(ctx, pos[0], amount, "topup", idemKey)
		if err != nil {
			return err
		}
		b, err := store.Balance(ctx, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "credited %d micro-credits to %s (entry %s); balance %d, available %d\n", amount, pos[0], entry.ID, b.Balance, b.Available())
	case "rotate-jwt-key":
		kid, err := api.RotateJWTKey(ctx, store, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "new JWT signing key %s; nodes sign with it after their next restart; tokens naming it verify everywhere at once\n", kid)
	case "migrate":
		fmt.Fprintln(e.stdout, "migrations applied")
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

func joinScopes(s []mediagate.Scope) string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = string(x)
	}
	return strings.Join(slices.Clip(out), ",")
}
