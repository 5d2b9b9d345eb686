package main

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"path/filepath"
	"text/tabwriter"

	"mediagate/apiv1"
)

func init() {
	commands["jobs"] = command{"submit jobs and follow them: submit, get, wait, ls, cancel", runJobs}
}

const jobsUsage = `usage: mediagate jobs submit --type T [--params JSON] [--callback URL] FILE | --object ID
       mediagate jobs get ID        (once; exits 0 whatever the state)
       mediagate jobs wait ID       (until it finishes, keeping the server's Retry-After; prints its result,
                                     its outputs on stderr; exits 1 if it failed or was canceled)
       mediagate jobs ls [--state S] [--type T]
       mediagate jobs cancel ID
`

func runJobs(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, jobsUsage)
		return usageError("jobs: a subcommand is required")
	}
	sub := args[0]
	fs := newFlagSet(e, "jobs "+sub, "[flags]")
	var cf clientFlags
	cf.register(fs, e)
	var typ, params, callback, object, state string
	switch sub {
	case "submit":
		fs.StringVar(&typ, "type", "", "the job type")
		fs.StringVar(&params, "params", "", "params, a JSON object")
		fs.StringVar(&callback, "callback", "", "URL to POST the result to, signed, when the job finishes")
		fs.StringVar(&object, "object", "", "an uploaded object to run on, instead of a FILE")
	case "ls":
		fs.StringVar(&state, "state", "", "only jobs in this state")
		fs.StringVar(&typ, "type", "", "only jobs of this type")
	case "get", "wait", "cancel":
	default:
		fmt.Fprint(e.stderr, jobsUsage)
		return usageError("jobs: unknown subcommand %q", sub)
	}
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	cl, err := cf.client(e)
	if err != nil {
		return err
	}
	var j *apiv1.Job
	switch sub {
	case "submit":
		switch {
		case typ == "":
			return usageError("jobs submit: --type is required")
		case object == "" && len(rest) != 1, object != "" && len(rest) != 0:
			return usageError("jobs submit: give one FILE or --object ID")
		case params != "" && !json.Valid([]byte(params)):
			return usageError("jobs submit: --params is not JSON")
		}
		if object != "" {
			j, err = cl.SubmitJob(ctx, apiv1.SubmitJobRequest{Type: typ, Params: json.RawMessage(params), InputObjectID: object, CallbackURL: callback})
		} else {
			ct := mime.TypeByExtension(filepath.Ext(rest[0]))
			if ct == "" {
				ct = "application/octet-stream"
			}
			j, err = cl.SubmitJobFile(ctx, typ, json.RawMessage(params), rest[0], ct)
		}
	case "ls":
		page, err := cl.Jobs(ctx, state, typ, "")
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTYPE\tSTATUS\tATTEMPTS\tCREATED")
		for _, j := range page.Jobs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", j.ID, j.Type, j.Status, j.Attempts, fmtTime(&j.CreatedAt))
		}
		return tw.Flush()
	default:
		if len(rest) != 1 {
			return usageError("jobs %s takes one job id", sub)
		}
		switch sub {
		case "get":
			j, err = cl.Job(ctx, rest[0])
		case "wait":
			if j, err = cl.WaitJob(ctx, rest[0]); err != nil {
				return err
			}
			return printResult(e, j)
		case "cancel":
			j, err = cl.CancelJob(ctx, rest[0])
		}
	}
	if err != nil {
		return err
	}
	return printJSON(e, j)
}

// printResult prints a finished job's result, and its outputs on stderr, or
// says why it did not succeed.
func printResult(e *env, j *apiv1.Job) error {
	if j.Status != "succeeded" {
		if j.Error != "" {
			return fmt.Errorf("job %s %s: %s", j.ID, j.Status, j.Error)
		}
		return fmt.Errorf("job %s %s", j.ID, j.Status)
	}
	for _, o := range j.Outputs {
		fmt.Fprintf(e.stderr, "output %s  %s  %s  %s\n", o.ObjectID, o.Filename, o.ContentType, fmtBytes(o.Size))
	}
	res := j.Result
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	return printJSON(e, res)
}
