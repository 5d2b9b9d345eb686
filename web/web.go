// Package web is the browser UI of `mediagate serve`: static files embedded
// in the binary (no build step, no CDN), served at / and /ui/, which talk
// to the JSON API of the same server with the signed-in user's token.
package web

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// files is static/ as the root of the UI's files.
var files, _ = fs.Sub(static, "static")

// Index serves the UI's page.
func Index() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	})
}

// Assets serves the UI's scripts and styles under /ui/.
func Assets() http.Handler {
	fsrv := http.StripPrefix("/ui/", http.FileServerFS(files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		fsrv.ServeHTTP(w, r)
	})
}

// csp keeps the page to its own scripts and styles. It may send and fetch
// bytes elsewhere: uploads go straight to the blob store through pre-signed
// URLs, and pictures and players read from download URLs, which an S3
// store or an edge serves from another origin.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' http: https:; " +
	"img-src 'self' blob: data: http: https:; media-src 'self' blob: http: https:; " +
	"object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// setHeaders sets the page's CSP and safety headers.
func setHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}
