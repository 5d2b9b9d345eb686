// Package migration reads a store's embedded schema migrations: files named
// NNNN_what.sql, applied in the order of their version numbers. Each store
// applies them in its own way (its own transaction, lock and
// schema_migrations table).
package migration

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one schema change.
type Migration struct {
	Version int    // the file name's leading number
	Name    string // the file's base name, as schema_migrations records it
	SQL     string
}

// List returns the migrations of fsys matching pattern, by version. Every
// file name must start with a version number of its own.
func List(fsys fs.FS, pattern string) ([]Migration, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, err
	}
	var list []Migration
	seen := map[int]bool{}
	for _, name := range names {
		base := path.Base(name)
		num, _, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil || seen[version] {
			return nil, fmt.Errorf("migration %s: name must start with a version number of its own", base)
		}
		seen[version] = true
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		list = append(list, Migration{Version: version, Name: base, SQL: string(body)})
	}
	slices.SortFunc(list, func(a, b Migration) int { return a.Version - b.Version })
	return list, nil
}
