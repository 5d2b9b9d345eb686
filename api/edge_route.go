package api

import (
	"context"
	"hash/fnv"
	"net/http"
	"sync"
	"time"

	"mediagate"
	"mediagate/urlsign"
)

// edgeDirectory chooses the edge that serves a client's region: among the
// region's edges that reported within the configured liveness, the one that
// rendezvous hashing gives the object's key, so each object is cached by one
// edge of a region. The list is read from the store at most every
// edgeRefresh.
type edgeDirectory struct {
	store  mediagate.EdgeStore
	master []byte // nil: no edges
	live   time.Duration
	now    func() time.Time

	mu       sync.Mutex
	loaded   time.Time
	byRegion map[string][]*mediagate.Edge
	signers  map[string]*urlsign.Signer // by edge id
}

const edgeRefresh = 2 * time.Second

// pick returns the edge for a client of region to fetch key from, and the
// signer of URLs for it; nil if the region has no live edge (the origin
// serves it then).
func (d *edgeDirectory) pick(ctx context.Context, region, key string) (*mediagate.Edge, *urlsign.Signer, error) {
	if d == nil || d.master == nil || region == "" {
		return nil, nil, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	if now.Sub(d.loaded) >= edgeRefresh {
		list, err := d.store.Edges(ctx)
		if err != nil {
			return nil, nil, err
		}
		d.byRegion, d.loaded = map[string][]*mediagate.Edge{}, now
		for _, e := range list {
			d.byRegion[e.Region] = append(d.byRegion[e.Region], e)
		}
		if d.signers == nil {
			d.signers = map[string]*urlsign.Signer{}
		}
	}
	var best *mediagate.Edge
	var bestScore uint64
	for _, e := range d.byRegion[region] {
		if now.Sub(e.SeenAt) > d.live {
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(e.ID + "\x00" + key))
		if s := h.Sum64(); best == nil || s > bestScore {
			best, bestScore = e, s
		}
	}
	if best == nil {
		return nil, nil, nil
	}
	s := d.signers[best.ID]
	if s == nil {
		s = urlsign.NewWithKey(best.Node(), urlsign.NodeKey(d.master, best.Node()))
		d.signers[best.ID] = s
	}
	return best, s, nil
}

// clientRegion is the region a request asks for: its region parameter
// (given), else the configured header.
func (c Config) clientRegion(r *http.Request, given string) string {
	if given == "" && c.RegionHeader != "" {
		given = r.Header.Get(c.RegionHeader)
	}
	return given
}
