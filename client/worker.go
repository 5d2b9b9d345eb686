package client

import (
	"context"
	"net/http"

	"mediagate/apiv1"
)

// The worker protocol: a key with the worker scope leases jobs, heartbeats
// while it runs them, uploads their outputs and completes or fails them.

// LeasedJob is a job leased to a worker, with a signed URL for its input.
type LeasedJob = apiv1.LeasedJob

// Lease leases up to max jobs of types for the worker workerID, waiting up
// to waitSeconds (0..60) for one; it may return none.
func (c *Client) Lease(ctx context.Context, workerID string, types []string, max, waitSeconds int) ([]LeasedJob, error) {
	var out apiv1.LeaseResponse
	in := apiv1.LeaseRequest{WorkerID: workerID, Types: types, Max: max, WaitSeconds: waitSeconds}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/lease", in: in, out: &out, want: http.StatusOK, noLimit: true}); err != nil {
		return nil, err
	}
	return out.Jobs, nil
}

// Heartbeat extends the worker's lease of job id and reports progress
// (0..1); the answer says whether the job was canceled.
func (c *Client) Heartbeat(ctx context.Context, id, workerID string, progress float64) (*apiv1.HeartbeatResponse, error) {
	var out apiv1.HeartbeatResponse
	in := apiv1.HeartbeatRequest{WorkerID: workerID, Progress: progress}
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/jobs/" + pathID(id) + "/heartbeat", in: in, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateOutput declares an output file of job id and returns the pending
// object and the signed PUT for its bytes.
func (c *Client) CreateOutput(ctx context.Context, id string, req apiv1.OutputRequest) (*apiv1.OutputResponse, error) {
	var out apiv1.OutputResponse
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/jobs/" + pathID(id) + "/outputs", in: req, out: &out, want: http.StatusCreated}); err != nil {
		return nil, err
	}
	return &out, nil
}

// CompleteJob finishes job id with its result and outputs; a retry answers
// the same.
func (c *Client) CompleteJob(ctx context.Context, id string, req apiv1.CompleteJobRequest) (*Job, error) {
	var out Job
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/jobs/" + pathID(id) + "/complete", in: req, out: &out, want: http.StatusOK, noLimit: true}); err != nil {
		return nil, err
	}
	return &out, nil
}

// FailJob ends the worker's attempt at job id.
func (c *Client) FailJob(ctx context.Context, id string, req apiv1.FailJobRequest) (*Job, error) {
	var out Job
	if err := c.do(ctx, call{method: http.MethodPost, path: "/v1/worker/jobs/" + pathID(id) + "/fail", in: req, out: &out, want: http.StatusOK}); err != nil {
		return nil, err
	}
	return &out, nil
}
