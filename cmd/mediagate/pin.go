package main

import (
	"context"
	"fmt"
)

func init() {
	commands["pin"] = command{"pin objects (--off: unpin them)", runPin}
}

func runPin(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "pin", "[flags] ID...")
	var cf clientFlags
	cf.register(fs, e)
	off := fs.Bool("off", false, "unpin instead")
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return usageError("pin: no object id given")
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	op, verb := cl.Pin, "pinned"
	if *off {
		op, verb = cl.Unpin, "unpinned"
	}
	return forEachArg(ctx, e, "pin", ids, func(id string) error {
		o, err := op(ctx, id)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s %s\n", o.ID, verb)
		return err
	})
}
