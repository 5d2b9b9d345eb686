package fetchsvc

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"mediagate"
	"mediagate/fetch"
)

// FinishIfDone finishes f once every shard's job has ended: its results
// are joined into the manifest, and f succeeds, or fails, or is canceled
// as its shards did. It answers f as it is then. Several nodes may call it
// at once: the manifest is the same object for all, and one finishes f.
func (s *Service) FinishIfDone(ctx context.Context, f *mediagate.Fetch) (*mediagate.Fetch, error) {
	if f.State.Finished() {
		return f, nil
	}
	shards, err := s.Shards(ctx, f)
	if err != nil {
		return f, err
	}
	state, msg := mediagate.FetchSucceeded, ""
	var parts []manifestPart
	for _, sh := range shards {
		j := sh.Job
		switch {
		case j == nil:
			state, msg = mediagate.FetchFailed, fmt.Sprintf("shard %d: its job is gone", sh.N)
		case !j.State.Finished() && j.State != mediagate.JobExpired:
			return f, nil
		case j.State == mediagate.JobCanceled:
			state = mediagate.FetchCanceled
		case j.State == mediagate.JobFailed && state != mediagate.FetchCanceled:
			state, msg = mediagate.FetchFailed, fmt.Sprintf("shard %d: %s", sh.N, j.Error)
		}
		if j != nil && j.State == mediagate.JobSucceeded && len(j.OutputObjectIDs) > 0 {
			parts = append(parts, manifestPart{shard: sh.N, results: j.OutputObjectIDs[0]})
		}
	}
	if state == mediagate.FetchCanceled {
		msg = ""
	}
	manifest, err := s.manifest(ctx, f, parts)
	if err != nil {
		return f, err
	}
	done, _, err := s.Store.FinishFetch(ctx, f.ID, state, manifest, msg, s.now())
	if err != nil {
		return f, err
	}
	return done, nil
}

// manifestPart is the results object of one shard that succeeded.
type manifestPart struct {
	shard   int
	results string // object id
}

// manifest joins the shards' results (objects of f's account) into f's
// manifest object and returns its id. Each line of a stored body gains the
// id of the object it was stored as ("object_id"), so a reader of the
// manifest need not know how shards name their objects.
func (s *Service) manifest(ctx context.Context, f *mediagate.Fetch, parts []manifestPart) (string, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(s.writeManifest(ctx, f, parts, pw)) }()
	defer pr.Close()
	id := mediagate.DerivedID(mediagate.PrefixObject, f.ID, "manifest")
	now := s.now().UTC().Truncate(time.Microsecond)
	o := &mediagate.Object{ID: id, AccountID: f.AccountID, Key: mediagate.ObjectKey(id), Filename: f.ID + ".ndjson",
		ContentType: "application/x-ndjson", State: mediagate.StateReady, CreatedAt: now, UpdatedAt: now}
	if err := s.putObject(ctx, o, pr); err != nil {
		return "", fmt.Errorf("writing the manifest of %s: %w", f.ID, err)
	}
	return id, nil
}

// writeManifest writes the results of parts to w, in order, each stored
// body's line with its object id.
func (s *Service) writeManifest(ctx context.Context, f *mediagate.Fetch, parts []manifestPart, w io.Writer) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	for _, p := range parts {
		o, err := s.Store.Object(ctx, f.AccountID, p.results)
		if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
			continue // deleted by its owner
		}
		if err != nil {
			return err
		}
		r, _, err := s.Blobs.Open(ctx, o.Key)
		if err != nil {
			return fmt.Errorf("reading the results of %s: %w", p.results, err)
		}
		err = addObjectIDs(bw, r, f.ID, p.shard)
		r.Close()
		if err != nil {
			return fmt.Errorf("reading the results of %s: %w", p.results, err)
		}
	}
	return bw.Flush()
}

// addObjectIDs copies the NDJSON results of shard from r to w, adding
// "object_id" to each line whose body was stored (ok, or a duplicate of a
// body the shard stored).
func addObjectIDs(w *bufio.Writer, r io.Reader, fetchID string, shard int) error {
	br := bufio.NewReaderSize(r, 256<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			var res struct {
				Status fetch.Status `json:"status"`
				Key    string       `json:"key"`
			}
			body := bytes.TrimRight(line, "\r\n")
			stored := json.Unmarshal(body, &res) == nil && res.Key != "" &&
				(res.Status == fetch.StatusOK || res.Status == fetch.StatusDuplicate) && bytes.HasSuffix(body, []byte("}"))
			if stored {
				w.Write(body[:len(body)-1])
				w.WriteString(`,"object_id":"` + ShardObjectID(fetchID, shard, res.Key) + "\"}\n")
			} else {
				w.Write(body)
				w.WriteByte('\n')
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// putObject stores r as the ready object o (its size and hash measured).
func (s *Service) putObject(ctx context.Context, o *mediagate.Object, r io.Reader) error {
	h := sha256.New()
	info, err := s.Blobs.Put(ctx, o.Key, io.TeeReader(r, h), -1)
	if err != nil {
		return err
	}
	o.Size, o.SHA256 = info.Size, hex.EncodeToString(h.Sum(nil))
	_, err = s.Store.PutObjects(ctx, []*mediagate.Object{o})
	return err
}

// Cancel cancels the account's fetch: its queued shards end at once, its
// running ones at their next report. Canceling a finished fetch changes
// nothing.
func (s *Service) Cancel(ctx context.Context, accountID, id string) (*mediagate.Fetch, error) {
	f, err := s.Store.Fetch(ctx, accountID, id)
	if err != nil || f.State.Finished() {
		return f, err
	}
	shards, err := s.Store.FetchShards(ctx, f.ID)
	if err != nil {
		return nil, err
	}
	ctx = context.WithoutCancel(ctx)
	for _, sh := range shards {
		j, err := s.Store.CancelJob(ctx, accountID, sh.JobID, s.now())
		if err != nil {
			return nil, err
		}
		if j.State.Finished() {
			s.bill(ctx, j) // the fetch is finished once, below
		}
	}
	return s.FinishIfDone(ctx, f)
}

// FinishRunning finishes the running fetches whose shards have all ended
// (the sweeper's duty: a node may die between a shard's end and its
// fetch's), at most limit of them per call.
func (s *Service) FinishRunning(ctx context.Context, limit int) (int, error) {
	list, err := s.Store.RunningFetches(ctx, limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range list {
		done, err := s.FinishIfDone(ctx, f)
		if err != nil {
			s.log().Warn("finishing a fetch failed", "fetch", f.ID, "err", err)
			continue
		}
		if done.State.Finished() {
			n++
		}
	}
	return n, nil
}
