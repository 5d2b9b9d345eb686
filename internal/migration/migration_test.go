package migration

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestList(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql": {Data: []byte("B")},
		"m/0002_first.sql": {Data: []byte("A")},
		"m/README":         {Data: []byte("not a migration")},
	}
	list, err := List(fsys, "m/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0] != (Migration{2, "0002_first.sql", "A"}) || list[1] != (Migration{10, "0010_later.sql", "B"}) {
		t.Fatalf("List = %+v, want 0002 then 0010 (numeric order)", list)
	}
	for _, bad := range []fstest.MapFS{
		{"m/x_nonumber.sql": {}},
		{"m/0001_a.sql": {}, "m/1_b.sql": {}},
	} {
		if _, err := List(bad, "m/*.sql"); err == nil || !strings.Contains(err.Error(), "version number") {
			t.Fatalf("List(%v) = %v, want a version number error", bad, err)
		}
	}
}
