package apitest

import (
	"context"
	"io"
	"testing"

	"mediagate"
)

// Object returns an object of the Start account in any state, deleted
// included, as the metadata store holds it, or nil if there is none.
func (s *Server) Object(tb testing.TB, id string) *mediagate.Object {
	tb.Helper()
	ctx := context.Background()
	o, err := s.Store.Object(ctx, s.AccountID, id)
	if err == nil {
		return o
	}
	if mediagate.ErrorCode(err) != mediagate.ENOTFOUND {
		tb.Fatalf("apitest: object %s: %v", id, err)
	}
	// Object hides deleted objects; look for it among them.
	f := mediagate.ObjectFilter{State: mediagate.StateDeleted, Limit: 1000}
	for {
		list, next, err := s.Store.Objects(ctx, s.AccountID, f)
		if err != nil {
			tb.Fatalf("apitest: deleted objects: %v", err)
		}
		for _, o := range list {
			if o.ID == id {
				return o
			}
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}

// State returns the state of an object of the Start account, deleted
// included, or "" if there is none.
func (s *Server) State(tb testing.TB, id string) mediagate.ObjectState {
	tb.Helper()
	if o := s.Object(tb, id); o != nil {
		return o.State
	}
	return ""
}

// Bytes returns the bytes the blob store holds for an object of the Start
// account, or nil if it holds none (the object is pending, deleted and
// purged, or absent).
func (s *Server) Bytes(tb testing.TB, id string) []byte {
	tb.Helper()
	o := s.Object(tb, id)
	if o == nil {
		return nil
	}
	rc, _, err := s.BlobStore.Open(context.Background(), o.Key)
	if mediagate.ErrorCode(err) == mediagate.ENOTFOUND {
		return nil
	} else if err != nil {
		tb.Fatalf("apitest: open the bytes of %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("apitest: read the bytes of %s: %v", id, err)
	}
	return b
}
