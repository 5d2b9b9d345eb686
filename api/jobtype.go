package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"mediagate"
	"mediagate/apiv1"
)

// jobType is a configured job type with its params schema compiled.
type jobType struct {
	mediagate.JobType
	schema *jsonschema.Schema // nil: any JSON object
}

// compileJobTypes checks the configured job types and compiles their params
// schemas.
func compileJobTypes(types map[string]mediagate.JobType) (map[string]*jobType, error) {
	out := make(map[string]*jobType, len(types))
	for name, t := range types {
		jt := &jobType{JobType: t}
		if t.ParamsSchema != "" {
			if !json.Valid([]byte(t.ParamsSchema)) { // GET /v1/job-types answers it as JSON
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema is not JSON", name)
			}
			doc, err := jsonschema.UnmarshalJSON(strings.NewReader(t.ParamsSchema))
			if err != nil {
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema: %v", name, err)
			}
			c := jsonschema.NewCompiler()
			loc := "mediagate:job-types/" + name
			if err := c.AddResource(loc, doc); err != nil {
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema: %v", name, err)
			}
			if jt.schema, err = c.Compile(loc); err != nil {
				return nil, mediagate.Errorf(mediagate.EINVALID, "job type %s: params_schema: %v", name, err)
			}
		}
		out[name] = jt
	}
	return out, nil
}

// jobType returns the configured type name, or EINVALID naming those there are.
func (h *jobs) jobType(name string) (*jobType, error) {
	if t, ok := h.types[name]; ok {
		return t, nil
	}
	names := make([]string, 0, len(h.types))
	for n := range h.types {
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, mediagate.Errorf(mediagate.EINVALID, "this server has no job types configured")
	}
	return nil, mediagate.Errorf(mediagate.EINVALID, "unknown job type %q (this server has: %s)", name, strings.Join(names, ", "))
}

// params checks raw ("" for none) against the type's schema and returns it
// as a JSON object.
func (t *jobType) params(raw []byte) (json.RawMessage, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, mediagate.Errorf(mediagate.EINVALID, "params are not JSON: %v", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, mediagate.Errorf(mediagate.EINVALID, "params must be a JSON object")
	}
	if t.schema != nil {
		if err := t.schema.Validate(v); err != nil {
			return nil, mediagate.Errorf(mediagate.EINVALID, "params do not match the schema of %s: %v", t.Name, err)
		}
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, mediagate.Errorf(mediagate.EINVALID, "params are not JSON: %v", err)
	}
	return buf.Bytes(), nil
}

// accepts reports whether the type takes input of the media type ct.
func (t *jobType) accepts(ct string) bool {
	for _, a := range t.ContentTypes {
		if a == ct || strings.HasSuffix(a, "/*") && strings.HasPrefix(ct, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

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
