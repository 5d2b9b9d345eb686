package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"mediagate"
	"mediagate/apiv1"
)

// operation is what the OpenAPI document says of one route.
type operation struct {
	Tag      string
	Summary  string
	Auth     mediagate.Scope // "": public; "any": any valid credential; else the scope needed
	Status   int             // success status, default 200
	Params   []param
	Request  any    // zero value of the JSON request body type, if any
	Response any    // zero value of the JSON response body type, if any
	Body     string // media type of a non-JSON response body (blob GET, metrics, docs)
	Upload   string // media type of a non-JSON request body (blob PUT)
}

type param struct {
	Name, In, Type, Description string
}

func pathParam(name, desc string) param {
	return param{Name: name, In: "path", Type: "string", Description: desc}
}
func queryParam(name, typ, desc string) param {
	return param{Name: name, In: "query", Type: typ, Description: desc}
}

// openAPIDocument builds the OpenAPI 3.1 document of every route.
func openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range routes(Deps{}) {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.ReplaceAll(path, "...}", "}")
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		op := rt.doc.openAPI()
		op["operationId"] = operationID(method, path)
		paths[path][strings.ToLower(method)] = op
	}
	problemSchema := schemaOf(reflect.TypeOf(apiv1.Problem{}))
	problemSchema["properties"].(map[string]any)["code"] = map[string]any{"type": "string",
		"description": "Stable machine-readable error code.", "enum": codes()}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "mediagate API", "version": "1",
			"description": "Direct uploads through signed URLs, metered delivery, and more. Errors are application/problem+json (RFC 9457) with a stable `code`."},
		"paths": paths,
		"components": map[string]any{
			"schemas": map[string]any{"Problem": problemSchema},
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "An API key (mg_…) or a user's access token from /v1/auth/login."}},
		},
	}
}

func (op operation) openAPI() map[string]any {
	status := op.Status
	if status == 0 {
		status = http.StatusOK
	}
	ok := map[string]any{"description": http.StatusText(status)}
	switch {
	case op.Response != nil:
		ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(op.Response))}}
	case op.Body != "":
		ok["content"] = map[string]any{op.Body: map[string]any{}}
	}
	problem := map[string]any{"description": "Error", "content": map[string]any{
		"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
	out := map[string]any{
		"summary":   op.Summary,
		"tags":      []string{op.Tag},
		"responses": map[string]any{itoa(status): ok, "default": problem},
	}
	switch op.Auth {
	case "":
		out["security"] = []any{}
	case "signed URL":
		out["security"] = []any{}
		out["description"] = "Authorized by the HMAC signature in the URL's X-Mg-* query parameters."
	case "any":
		out["security"] = []any{map[string]any{"bearer": []string{}}}
	default:
		out["security"] = []any{map[string]any{"bearer": []string{string(op.Auth)}}}
		out["description"] = "Needs the `" + string(op.Auth) + "` scope."
	}
	var params []any
	for _, p := range op.Params {
		params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.In == "path",
			"description": p.Description, "schema": map[string]any{"type": p.Type}})
	}
	if params != nil {
		out["parameters"] = params
	}
	if op.Request != nil {
		out["requestBody"] = map[string]any{"content": map[string]any{
			"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(op.Request))}}}
	} else if op.Upload != "" {
		out["requestBody"] = map[string]any{"content": map[string]any{op.Upload: map[string]any{}}}
	}
	return out
}

var (
	timeType    = reflect.TypeOf(time.Time{})
	rawJSONType = reflect.TypeOf(json.RawMessage(nil))
)

// schemaOf returns the JSON Schema of a Go type as encoding/json marshals it.
func schemaOf(t reflect.Type) map[string]any {
	if t.Kind() == reflect.Pointer {
		return schemaOf(t.Elem())
	}
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawJSONType:
		return map[string]any{} // any JSON value, as it came
	case t.Kind() == reflect.String:
		return str()
	case t.Kind() == reflect.Bool:
		return map[string]any{"type": "boolean"}
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return map[string]any{"type": "integer"}
	case t.Kind() == reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case t.Kind() == reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case t.Kind() == reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, props)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type)
	}
}

// operationID makes "post_v1_uploads_id_complete" of "POST /v1/uploads/{id}/complete".
func operationID(method, path string) string {
	id := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(method+path))
	for strings.Contains(id, "__") {
		id = strings.ReplaceAll(id, "__", "_")
	}
	return strings.TrimSuffix(id, "_")
}

func str() map[string]any { return map[string]any{"type": "string"} }

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func codes() []string {
	var out []string
	for c := range statusOf {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func handleOpenAPI() http.Handler {
	doc := sync.OnceValue(func() []byte {
		b, err := json.MarshalIndent(openAPIDocument(), "", "  ")
		if err != nil {
			panic(err)
		}
		return b
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(doc())
	})
}
