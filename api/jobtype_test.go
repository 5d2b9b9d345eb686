package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"mediagate"
	"mediagate/api"
	"mediagate/apiv1"
	"mediagate/internal/apitest"
)

func TestJobTypes(t *testing.T) {
	types := map[string]mediagate.JobType{}
	for name, jt := range map[string]mediagate.JobType{
		"video.thumbs": {ContentTypes: []string{"video/*"}, Price: 9_000, Timeout: mediagate.Duration{Duration: 90 * time.Second}},
		"audio.stats": {ContentTypes: []string{"audio/wav", "audio/x-wav"}, MaxInputSize: 1 << 20, Price: jobPrice,
			ParamsSchema: "{\n  \"type\": \"object\",\n  \"properties\": {\"window_ms\": {\"type\": \"integer\"}}\n}",
			TTL:          mediagate.Duration{Duration: 2 * time.Hour}},
	} {
		jt, err := jt.WithDefaults(name, mediagate.DefaultPrices())
		if err != nil {
			t.Fatal(err)
		}
		types[name] = jt
	}
	s := apitest.Start(t, apitest.WithConfig(func(c *api.Config) { c.JobTypes = types }))
	srv := &server{Server: s, store: s.Store, blobs: s.Blobs, clock: s.Clock, cfg: s.Config}
	tok := srv.signup(t, "a@example.com")

	r := srv.do(t, "GET", "/v1/job-types", tok, nil).status(t, 200)
	var got apiv1.JobTypeList
	r.json(t, &got)
	if len(got.JobTypes) != 2 || got.JobTypes[0].Name != "audio.stats" || got.JobTypes[1].Name != "video.thumbs" {
		t.Fatalf("job types %s, want audio.stats then video.thumbs", r.body)
	}
	a, v := got.JobTypes[0], got.JobTypes[1]
	if len(a.ContentTypes) != 2 || a.ContentTypes[1] != "audio/x-wav" || a.MaxInputSize != 1<<20 || a.Price != jobPrice ||
		a.TimeoutSeconds != 600 || a.TTLSeconds != 7200 {
		t.Fatalf("audio.stats %+v, want its config with a 600 s default timeout", a)
	}
	if string(a.ParamsSchema) != `{"type":"object","properties":{"window_ms":{"type":"integer"}}}` {
		t.Fatalf("params_schema %s, want the configured schema as JSON", a.ParamsSchema)
	}
	if v.ContentTypes[0] != "video/*" || v.MaxInputSize != 1<<30 || v.Price != 9_000 || v.TimeoutSeconds != 90 ||
		v.TTLSeconds != 3600 || v.ParamsSchema != nil {
		t.Fatalf("video.thumbs %+v, want its config and defaults, no schema", v)
	}
	var raw struct {
		JobTypes []map[string]any `json:"job_types"`
	}
	r.json(t, &raw)
	if _, ok := raw.JobTypes[1]["params_schema"]; ok {
		t.Fatalf("a type without a schema answers params_schema: %s", r.body)
	}

	// The jobs scope, as every job route.
	objectsOnly := srv.key(t, tok, "objects:read")
	srv.do(t, "GET", "/v1/job-types", objectsOnly, nil).problem(t, 403, mediagate.EFORBIDDEN)
	srv.do(t, "GET", "/v1/job-types", "", nil).problem(t, 401, mediagate.EUNAUTHORIZED)

	// None configured: an empty list.
	empty := newServer(t)
	r = empty.do(t, "GET", "/v1/job-types", empty.signup(t, "b@example.com"), nil).status(t, 200)
	if string(r.body) != "{\"job_types\":[]}\n" {
		t.Fatalf("no job types: %s, want an empty list", r.body)
	}
}

// TestJobTypesNoQueue: a server whose store has no queue answers the job
// types as every job route, 503.
func TestJobTypesNoQueue(t *testing.T) {
	h := api.NewHandler(api.Deps{Config: api.DefaultConfig()})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/job-types", nil))
	var p apiv1.Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 503 || p.Code != mediagate.EUNAVAILABLE {
		t.Fatalf("status=%d body %s (%v), want 503 %s", rec.Code, rec.Body, err, mediagate.EUNAVAILABLE)
	}
}
