package api

import (
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"mediagate/apiv1"
)

// handleJobTypes answers the configured job types, sorted by name. They are
// fixed at start, so the answer is made once.
func handleJobTypes(h *jobs) http.Handler {
	out := apiv1.JobTypeList{JobTypes: make([]apiv1.JobType, 0, len(h.types))}
	for name, t := range h.types {
		jt := apiv1.JobType{Name: name, ContentTypes: slices.Clone(t.ContentTypes), MaxInputSize: t.MaxInputSize,
			Price: t.Price, TimeoutSeconds: int64(t.Timeout.Duration / time.Second), TTLSeconds: int64(t.TTL.Duration / time.Second)}
		if t.ParamsSchema != "" {
			jt.ParamsSchema = json.RawMessage(t.ParamsSchema) // valid JSON: compileJobTypes checked it
		}
		if jt.ContentTypes == nil {
			jt.ContentTypes = []string{}
		}
		out.JobTypes = append(out.JobTypes, jt)
	}
	slices.SortFunc(out.JobTypes, func(a, b apiv1.JobType) int { return cmp.Compare(a.Name, b.Name) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, out)
	})
}
