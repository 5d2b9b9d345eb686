package sqlite

import (
	"path/filepath"
	"testing"

	"mediagate/storetest"
)

// BenchmarkPutObjects measures a fetch's object batches (storetest.BenchPutObjects).
func BenchmarkPutObjects(b *testing.B) {
	storetest.BenchPutObjects(b, openTest(b, filepath.Join(b.TempDir(), "mediagate.db")))
}
