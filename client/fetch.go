package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"mediagate/apiv1"
)

// Fetch is a bulk download of URLs into objects, as the server reports it.
type Fetch = apiv1.Fetch

// FetchOptions tune a fetch.
type FetchOptions = apiv1.FetchOptions

// SubmitFetch starts a fetch of the URLs list yields (one per line), sent
// as the text/plain body: a list of any length is streamed.
func (c *Client) SubmitFetch(ctx context.Context, list io.Reader, o FetchOptions) (*Fetch, error) {
	q := url.Values{}
	for name, v := range map[string]int{"concurrency": o.Concurrency, "per_host": o.PerHost, "timeout_seconds": o.TimeoutSeconds, "retries": o.Retries} {
		if v != 0 {
			q.Set(name, strconv.Itoa(v))
		}
	}
	if o.MaxSize != 0 {
		q.Set("max_size", strconv.FormatInt(o.MaxSize, 10))
	}
	if len(o.Types) > 0 {
		q.Set("types", strings.Join(o.Types, ","))
	}
	resp, err := c.send(ctx, http.MethodPost, "/v1/fetches?"+q.Encode(), list, 0, "text/plain")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusAccepted {
		return nil, responseError(resp)
	}
	var out Fetch
	if err := decodeJSON(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetFetch returns fetch id as it is now (the server answers 202 while it
// runs, 200 once finished: both are answers).
func (c *Client) GetFetch(ctx context.Context, id string) (*Fetch, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/fetches/"+pathID(id), nil, 0, "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		return nil, responseError(resp)
	}
	var out Fetch
	if err := decodeJSON(resp, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelFetch cancels fetch id.
func (c *Client) CancelFetch(ctx context.Context, id string) (*Fetch, error) {
	var out Fetch
	if err := c.do(ctx, call{method: http.MethodDelete, path: "/v1/fetches/" + pathID(id), out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// FollowFetch streams fetch id's progress (server-sent events), calling
// each with the fetch as it is every second, until it has finished; it
// returns it then. A stream that breaks is opened again.
func (c *Client) FollowFetch(ctx context.Context, id string, each func(*Fetch)) (*Fetch, error) {
	for {
		f, err := c.followOnce(ctx, id, each)
		if err != nil || f != nil {
			return f, err
		}
	}
}

// followOnce reads one events stream; it returns the fetch once finished,
// nil when the stream ended before.
func (c *Client) followOnce(ctx context.Context, id string, each func(*Fetch)) (*Fetch, error) {
	resp, err := c.send(ctx, http.MethodGet, "/v1/fetches/"+pathID(id)+"/events", nil, 0, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var f Fetch
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &f); err != nil {
				return nil, fmt.Errorf("fetch events: %w", err)
			}
			if each != nil {
				each(&f)
			}
			if event == "finished" {
				return &f, nil
			}
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, nil
}

// The worker's side of fetch shards (see api/fetch_worker.go).

// FetchBlob declares a body fetched for shard job id; the answer has a
// signed PUT unless the server has the body already.
func (c *Client) FetchBlob(ctx context.Context, id string, req apiv1.FetchBlobRequest) (*apiv1.FetchBlobResponse, error) {
	var out apiv1.FetchBlobResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/jobs/" + pathID(id) + "/fetch-blob", in: req, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// FetchReport reports shard job id's counts and the bodies stored since the
// last report; the answer says whether the fetch was canceled.
func (c *Client) FetchReport(ctx context.Context, id string, req apiv1.FetchReportRequest) (*apiv1.HeartbeatResponse, error) {
	var out apiv1.HeartbeatResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/jobs/" + pathID(id) + "/fetch-report", in: req, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// FetchComplete completes shard job id with its results (NDJSON).
func (c *Client) FetchComplete(ctx context.Context, id, workerID string, results []byte) (*Job, error) {
	var out Job
	path := "/v1/worker/jobs/" + pathID(id) + "/fetch-complete?worker_id=" + url.QueryEscape(workerID)
	if err := c.do(ctx, call{method: http.MethodPost, path: path, raw: bytes.Clone(results), rawType: "application/x-ndjson",
		out: &out, want: http.StatusOK, noLimit: true}); err != nil {
		return nil, err
	}
	return &out, nil
}
