package mediagate

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SanitizeFilename keeps the base name of a client's file name, without
// directories, control characters or leading dots, so it is safe to show and
// to put in a Content-Disposition. It is metadata only, never a path.
func SanitizeFilename(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(EINVALID, "filename must be UTF-8")
	}
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(path.Clean("/" + name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == ';' {
			return -1
		}
		return r
	}, name)
	for trimmed := ""; trimmed != name; {
		trimmed, name = name, strings.TrimLeft(strings.TrimSpace(name), ".")
	}
	switch {
	case name == "" || name == "/":
		return "", Errorf(EINVALID, "filename is required and must name a file")
	case len(name) > 255:
		return "", Errorf(EINVALID, "filename must be at most 255 bytes")
	}
	return name, nil
}
