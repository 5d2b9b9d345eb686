package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"mediagate"
	"mediagate/client"
)

func init() {
	commands["ls"] = command{"list objects", runLs}
}

func runLs(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "ls", "[flags]")
	var cf clientFlags
	cf.register(fs, e)
	var f client.ObjectFilter
	fs.StringVar(&f.State, "state", "", "only objects in this state: pending, ready or deleted (default: pending and ready)")
	fs.StringVar(&f.Type, "type", "", "only this content type, or a family with a slash (image/)")
	fs.StringVar(&f.Name, "name", "", "only objects whose file name contains this text (ASCII letters in any case)")
	pinned := fs.Bool("pinned", false, "only pinned objects (--pinned=false: only unpinned)")
	fs.IntVar(&f.Limit, "limit", 100, "objects per page, 1 to 1000")
	fs.StringVar(&f.Cursor, "cursor", "", "start at this page (a cursor an earlier ls printed)")
	all := fs.Bool("all", false, "list every object, page after page")
	asJSON := fs.Bool("json", false, "print each object as a line of JSON")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("ls takes no arguments, got %q", rest)
	}
	if f.Limit < 1 || f.Limit > 1000 {
		return usageError("--limit must be 1 to 1000")
	}
	fs.Visit(func(fl *flag.Flag) {
		if fl.Name == "pinned" {
			f.Pinned = pinned
		}
	})
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tSTATE\tPINNED\tSIZE\tTYPE\tCREATED\tNAME")
	}
	for {
		page, err := cl.Objects(ctx, f)
		if err != nil {
			tw.Flush()
			return err
		}
		for i := range page.Objects {
			o := &page.Objects[i]
			if *asJSON {
				if err := printJSON(e, o); err != nil {
					return err
				}
				continue
			}
			pin := "-"
			if o.Pinned {
				pin = "yes"
			}
			if o.PinState == string(mediagate.PinSuspended) {
				pin = "suspended"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, o.State, pin, fmtBytes(o.Size), o.ContentType,
				fmtTime(&o.CreatedAt), o.Filename)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if page.NextCursor == "" {
			return nil
		}
		if !*all {
			fmt.Fprintf(e.stderr, "more objects: list the next page with --cursor %s (or all with --all)\n", page.NextCursor)
			return nil
		}
		f.Cursor = page.NextCursor
	}
}
