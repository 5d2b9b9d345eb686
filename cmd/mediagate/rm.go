package main

import (
	"context"
	"fmt"
)

func init() {
	commands["rm"] = command{"delete objects", runRm}
}

func runRm(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "rm", "[flags] ID...")
	var cf clientFlags
	cf.register(fs, e)
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError("rm: no object id given")
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	return forEachArg(ctx, e, "rm", ids, func(id string) error {
		if err := cl.DeleteObject(ctx, id); err != nil {
			return err
		}
		_, err := fmt.Fprintf(e.stdout, "%s deleted\n", id)
		return err
	})
}
