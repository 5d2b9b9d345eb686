package api

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"sort"
	"sync"
)

// docsPage renders the OpenAPI document as one self-contained HTML page: no
// scripts, no CDN, so it works offline and behind any firewall.
var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{
	"json": func(v any) string { b, _ := json.MarshalIndent(v, "", "  "); return string(b) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>mediagate API</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1b1b1b;background:#fff}
h1{margin-bottom:0}h2{border-bottom:2px solid #ddd;margin-top:2rem;text-transform:capitalize}
.op{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4.5rem;font-weight:700;font-family:monospace}
.GET{color:#075e1f}.POST{color:#0b4fa0}.PUT{color:#7a4a00}.DELETE{color:#a01010}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre{background:#f4f4f4;padding:.5rem;overflow:auto;border-radius:4px}
summary{cursor:pointer}.auth{color:#444;font-size:.9em}
</style></head><body>
<h1>mediagate API</h1>
<p>{{.Description}} The machine-readable document is <a href="/openapi.json">/openapi.json</a>.</p>
<nav aria-label="Sections"><ul>{{range .Tags}}<li><a href="#{{.Name}}">{{.Name}}</a></li>{{end}}</ul></nav>
{{range .Tags}}<section id="{{.Name}}"><h2>{{.Name}}</h2>
{{range .Ops}}<article class="op"><h3><span class="m {{.Method}}">{{.Method}}</span> <code>{{.Path}}</code></h3>
<p>{{.Op.summary}}</p>{{with .Op.description}}<p class="auth">{{.}}</p>{{end}}
{{with .Op.parameters}}<details><summary>Parameters</summary><pre>{{json .}}</pre></details>{{end}}
{{with .Op.requestBody}}<details><summary>Request body</summary><pre>{{json .}}</pre></details>{{end}}
<details><summary>Responses</summary><pre>{{json .Op.responses}}</pre></details></article>
{{end}}</section>{{end}}
</body></html>`))

type docsOp struct {
	Method, Path string
	Op           map[string]any
}

type docsTag struct {
	Name string
	Ops  []docsOp
}

func handleDocs() http.Handler {
	page := sync.OnceValue(func() []byte {
		doc := openAPIDocument()
		byTag := map[string][]docsOp{}
		for path, ops := range doc["paths"].(map[string]map[string]any) {
			for method, op := range ops {
				m := op.(map[string]any)
				tag := m["tags"].([]string)[0]
				byTag[tag] = append(byTag[tag], docsOp{Method: upper(method), Path: path, Op: m})
			}
		}
		var tags []docsTag
		seen := map[string]bool{}
		for _, rt := range routes(Deps{}) {
			name := rt.doc.Tag
			if seen[name] {
				continue
			}
			seen[name] = true
			ops := byTag[name]
			sort.Slice(ops, func(i, j int) bool {
				if ops[i].Path != ops[j].Path {
					return ops[i].Path < ops[j].Path
				}
				return ops[i].Method < ops[j].Method
			})
			tags = append(tags, docsTag{Name: name, Ops: ops})
		}
		var buf bytes.Buffer
		info := doc["info"].(map[string]any)
		if err := docsPage.Execute(&buf, map[string]any{"Description": info["description"], "Tags": tags}); err != nil {
			panic(err)
		}
		return buf.Bytes()
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		w.Write(page())
	})
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }
