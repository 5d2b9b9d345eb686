package api

import (
	"encoding/json"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestOpenAPICoversEveryRoute reads the served document and checks that every
// route of the mux is in it, with its path parameters declared, a summary and
// an error response, and that it names nothing the mux does not serve.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	rec := httptest.NewRecorder()
	handleOpenAPI().ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi=%q", doc.OpenAPI)
	}
	served := map[string]bool{}
	pathParam := regexp.MustCompile(`\{(\w+)\}`)
	for _, rt := range routes(Deps{}) {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.ReplaceAll(path, "...}", "}")
		served[strings.ToLower(method)+" "+path] = true
		op, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not documented", rt.pattern)
			continue
		}
		if op["summary"] == "" || op["responses"].(map[string]any)["default"] == nil {
			t.Errorf("%s lacks a summary or an error response", rt.pattern)
		}
		if (rt.doc.Request != nil || rt.doc.Upload != "") != (op["requestBody"] != nil) {
			t.Errorf("%s: requestBody documented=%v, but the route takes a body: %v", rt.pattern, op["requestBody"] != nil, !(rt.doc.Request == nil && rt.doc.Upload == ""))
		}
		declared := map[string]bool{}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			declared[p.(map[string]any)["name"].(string)] = true
		}
		for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s does not declare path parameter %s", rt.pattern, m[1])
			}
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !served[method+" "+path] {
				t.Errorf("documented %s %s is not served", method, path)
			}
		}
	}
}
