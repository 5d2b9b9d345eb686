package mediagate

import (
	"mime"
	"slices"
	"strings"
)

// ActiveTypes can carry script a browser would run. A wildcard in an
// allow-list never admits them; only an exact entry does.
var ActiveTypes = []string{"text/html", "image/svg+xml", "application/xhtml+xml", "text/javascript", "text/xml", "application/xml"}

// MediaType returns the lower-case media type of a Content-Type value
// without its parameters, or "" if it does not parse.
func MediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}

// TypeAllowed reports whether the media type of contentType (parameters
// ignored) is in allowed: an exact entry ("image/png"), or a family
// ("image/*") that does not admit ActiveTypes.
func TypeAllowed(allowed []string, contentType string) bool {
	mt := MediaType(contentType)
	if mt == "" {
		return false
	}
	for _, a := range allowed {
		if a == mt {
			return true
		}
		if major, ok := strings.CutSuffix(a, "/*"); ok && strings.HasPrefix(mt, major+"/") && !slices.Contains(ActiveTypes, mt) {
			return true
		}
	}
	return false
}
