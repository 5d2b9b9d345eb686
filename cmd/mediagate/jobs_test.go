package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"mediagate/apiv1"
)

// TestJobAndWorkerUsage checks that bad command lines of jobs and worker are
// usage errors (exit 2) that name the problem, before any request is sent.
func TestJobAndWorkerUsage(t *testing.T) {
	env := map[string]string{"MEDIAGATE_SERVER": "http://127.0.0.1:1", "MEDIAGATE_KEY": "mg_x"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"jobs"}, "subcommand is required"},
		{[]string{"jobs", "frobnicate"}, "unknown subcommand"},
		{[]string{"jobs", "submit", "a.wav"}, "--type is required"},
		{[]string{"jobs", "submit", "--type", "t"}, "one FILE or --object"},
		{[]string{"jobs", "submit", "--type", "t", "--object", "obj_1", "a.wav"}, "one FILE or --object"},
		{[]string{"jobs", "submit", "--type", "t", "--params", "{nope", "a.wav"}, "--params is not JSON"},
		{[]string{"jobs", "get"}, "takes one job id"},
		{[]string{"jobs", "wait", "job_1", "job_2"}, "takes one job id"},
		{[]string{"jobs", "ls", "--bogus"}, "bogus"},
		{[]string{"worker", "--exec", "x {input}"}, "--type (the job types to run) or --fetch is required"},
		{[]string{"worker", "--type", "t"}, "--exec is required"},
		{[]string{"worker", "--type", "t", "--exec", "x", "--concurrency", "0"}, "--concurrency"},
		{[]string{"worker", "--type", "t", "--exec", "x", "extra"}, "no arguments"},
		{[]string{"worker", "--type", "t", "--exec", "x", "--timeout", "soon"}, "timeout"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tc.args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error()+stderr.String(), tc.want) {
			t.Errorf("mediagate %s: err=%v (exit %d), stderr %q; want a usage error naming %q",
				strings.Join(tc.args, " "), err, exitCode(err), stderr.String(), tc.want)
		}
	}
}

func TestPrintResult(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr}
	j := &apiv1.Job{ID: "job_1", Status: "succeeded", Result: json.RawMessage(`{"snr_db":41.7}`),
		Outputs: []apiv1.JobOutput{{ObjectID: "obj_1", Filename: "plot.png", ContentType: "image/png", Size: 2048}}}
	if err := printResult(e, j); err != nil || strings.TrimSpace(stdout.String()) != `{"snr_db":41.7}` || !strings.Contains(stderr.String(), "obj_1") {
		t.Fatalf("err=%v, stdout %q, stderr %q; want the result, and the output on stderr", err, stdout.String(), stderr.String())
	}
	err := printResult(e, &apiv1.Job{ID: "job_2", Status: "failed", Error: "not a WAV file"})
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "not a WAV file") {
		t.Fatalf("failed job: err=%v, want exit 1 with its error", err)
	}
}
