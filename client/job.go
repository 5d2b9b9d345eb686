package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"mediagate/apiv1"
)

// Job is a job as its owner sees it.
type Job = apiv1.Job

// SubmitJob submits a job on an uploaded input object.
func (c *Client) SubmitJob(ctx context.Context, req apiv1.SubmitJobRequest) (*Job, error) {
	var out Job
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/jobs", in: req, out: &out, want: http.StatusAccepted}); err != nil {
		return nil, err
	}
	return &out, nil
}

// SubmitJobFile submits a job with the file at path as its input, sent as
// the raw body with contentType.
func (c *Client) SubmitJobFile(ctx context.Context, jobType string, params json.RawMessage, path, contentType string) (*Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	q := url.Values{"type": {jobType}, "filename": {st.Name()}}
	if len(params) > 0 {
		q.Set("params", string(params))
	}
	resp, err := c.send(ctx, http.MethodPost, "/v1/jobs?"+q.Encode(), f, st.Size(), contentType)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusAccepted {
		return nil, responseError(resp)
	}
	var out Job
	if err := decodeJSON(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Job returns job id as it is now: queued or running (Status says which),
// or finished. A poll sooner than the Retry-After the server last answered
// is an *Error with Status 429; WaitJob keeps those pauses by itself.
func (c *Client) Job(ctx context.Context, id string) (*Job, error) {
	j, _, retry, err := c.GetJob(ctx, id, 0)
	if err == nil && j == nil {
		return nil, &Error{Status: http.StatusTooManyRequests, Code: "rate_limited", Title: http.StatusText(http.StatusTooManyRequests),
			Detail: "polled before the Retry-After the server gave; ask again in " + retry.String()}
	}
	return j, err
}

// GetJob asks for job id once. done is false while the job is queued or
// running, and retry is then the Retry-After the server asked the client to
// keep before asking again.
func (c *Client) GetJob(ctx context.Context, id string, wait time.Duration) (job *Job, done bool, retry time.Duration, err error) {
	path := "/v1/jobs/" + pathID(id)
	if wait > 0 {
		path += "?wait=" + wait.String()
	}
	resp, err := c.send(ctx, http.MethodGet, path, nil, 0, "")
	if err != nil {
		return nil, false, 0, err
	}
	secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	retry = time.Duration(max(secs, 1)) * time.Second
	switch resp.StatusCode {
	case http.StatusOK, http.StatusAccepted:
		var j Job
		if err := decodeJSON(resp, &j); err != nil {
			return nil, false, 0, err
		}
		return &j, resp.StatusCode == http.StatusOK, retry, nil
	case http.StatusTooManyRequests:
		resp.Body.Close()
		return nil, false, retry, nil
	}
	return nil, false, 0, responseError(resp)
}

// WaitJob waits until job id finishes, long-polling and keeping every
// Retry-After the server answers, and returns it.
func (c *Client) WaitJob(ctx context.Context, id string) (*Job, error) {
	for {
		j, done, retry, err := c.GetJob(ctx, id, 30*time.Second)
		if err != nil || done {
			return j, err
		}
		t := time.NewTimer(retry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// Jobs lists one page of the account's jobs (state and jobType "" for any).
func (c *Client) Jobs(ctx context.Context, state, jobType, cursor string) (*apiv1.JobPage, error) {
	q := url.Values{}
	for k, v := range map[string]string{"state": state, "type": jobType, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out apiv1.JobPage
	if err := c.do(ctx, call{method: http.MethodGet, path: "/v1/jobs?" + q.Encode(), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelJob cancels job id.
func (c *Client) CancelJob(ctx context.Context, id string) (*Job, error) {
	var out Job
	if err := c.do(ctx, call{method: http.MethodDelete, path: "/v1/jobs/" + pathID(id), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}
