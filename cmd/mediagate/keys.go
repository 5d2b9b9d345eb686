package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
)

func init() {
	commands["keys"] = command{"create, list and revoke API keys", runKeys}
}

const keysUsage = `Usage: mediagate keys SUBCOMMAND [flags]

Subcommands:
  create NAME [--scope S]...   make an API key; prints its secret, shown only once
  ls                           list the account's keys
  revoke ID...                 revoke keys; they stop working at once
`

func runKeys(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stderr, keysUsage)
		if len(args) == 0 {
			return usageError("keys: no subcommand given")
		}
		return nil
	}
	sub, args := args[0], args[1:]
	synopsis := map[string]string{"create": "NAME [--scope S]... [flags]", "ls": "[flags]", "list": "[flags]", "revoke": "[flags] ID..."}[sub]
	if synopsis == "" {
		fmt.Fprint(e.stderr, keysUsage)
		return usageError("keys: unknown subcommand %q", sub)
	}
	fs := newFlagSet(e, "keys "+sub, synopsis)
	var cf clientFlags
	cf.register(fs, e)
	var scopes stringList
	if sub == "create" {
		fs.Var(&scopes, "scope", "scope to grant, repeatable (default: the caller's objects:read, objects:write, jobs, fetch)")
	}
	asJSON := fs.Bool("json", false, "print JSON")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	switch {
	case (sub == "create") && len(rest) != 1:
		return usageError("keys create takes one name, got %d arguments", len(rest))
	case (sub == "ls" || sub == "list") && len(rest) != 0:
		return usageError("keys ls takes no arguments, got %q", rest)
	case sub == "revoke" && len(rest) == 0:
		return usageError("keys revoke: no key id given")
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		k, err := cl.CreateKey(ctx, rest[0], scopes...)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e, k)
		}
		fmt.Fprintf(e.stderr, "Created key %s %q with scopes %s. Its secret, below, is shown only this once.\n",
			k.ID, k.Name, strings.Join(k.Scopes, ", "))
		_, err = fmt.Fprintln(e.stdout, k.Secret)
		return err
	case "revoke":
		return forEachArg(ctx, e, "keys revoke", rest, func(id string) error {
			if err := cl.RevokeKey(ctx, id); err != nil {
				return err
			}
			_, err := fmt.Fprintf(e.stdout, "%s revoked\n", id)
			return err
		})
	}
	keys, err := cl.Keys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		for i := range keys {
			if err := printJSON(e, &keys[i]); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tHINT\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Hint, strings.Join(k.Scopes, ","),
			fmtTime(&k.CreatedAt), fmtTime(k.LastUsedAt), fmtTime(k.RevokedAt))
	}
	return tw.Flush()
}
