package main

import (
	"context"
	"fmt"
	"text/tabwriter"
)

func init() {
	commands["account"] = command{"show the account's balance, usage and ledger", runAccount}
}

func runAccount(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "account", "[--usage [--from DATE --to DATE --group-by day|operation|day,operation]] [--ledger N] [flags]")
	var cf clientFlags
	cf.register(fs, e)
	usage := fs.Bool("usage", false, "show what was charged, grouped")
	from := fs.String("from", "", "usage window start, YYYY-MM-DD or RFC 3339 (default: 30 days ago)")
	to := fs.String("to", "", "usage window end, exclusive (default: now)")
	groupBy := fs.String("group-by", "", "usage grouping: day (default), operation or day,operation")
	ledger := fs.Int("ledger", 0, "show the newest N ledger entries")
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("account takes no arguments, got %q", rest)
	}
	if *ledger < 0 || *ledger > 1000 {
		return usageError("--ledger must be 0 to 1000")
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	a, err := cl.Account(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(e, a); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "%s (%s)\nbalance    %s\nheld       %s\navailable  %s\n", a.Name, a.ID,
			credits(a.Balance), credits(a.Held), credits(a.Available))
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if *usage {
		u, err := cl.Usage(ctx, *from, *to, *groupBy)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e, u)
		}
		fmt.Fprintf(tw, "\nDAY\tOPERATION\tCHARGES\tAMOUNT\n")
		for _, r := range u.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", orDash(r.Day), orDash(r.Operation), r.Count, credits(r.Amount))
		}
		fmt.Fprintf(tw, "total\t\t\t%s\n", credits(u.Total))
	}
	if *ledger > 0 {
		p, err := cl.Ledger(ctx, *ledger, "")
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e, p)
		}
		fmt.Fprintf(tw, "\nTIME\tKIND\tOPERATION\tREFERENCE\tAMOUNT\n")
		for _, en := range p.Entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", fmtTime(&en.CreatedAt), en.Kind, en.Operation, orDash(en.Reference), credits(en.Amount))
		}
	}
	return tw.Flush()
}

// credits shows micro-credits as credits with six decimals.
func credits(micro int64) string {
	sign := ""
	if micro < 0 {
		sign, micro = "-", -micro
	}
	return fmt.Sprintf("%s%d.%06d", sign, micro/1_000_000, micro%1_000_000)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
