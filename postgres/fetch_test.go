package postgres

import (
	"testing"

	"mediagate/storetest"
)

// BenchmarkPutObjects measures a fetch's object batches (storetest.BenchPutObjects).
func BenchmarkPutObjects(b *testing.B) { storetest.BenchPutObjects(b, openTest(b, newDatabase(b))) }
