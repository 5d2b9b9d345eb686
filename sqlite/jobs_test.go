package sqlite

import (
	"path/filepath"
	"testing"

	"mediagate/storetest"
)

// BenchmarkJobQueue runs no-op jobs through the queue
// (storetest.BenchJobQueue): jobs/s from enqueue to completion, and enqueue
// to lease latency.
func BenchmarkJobQueue(b *testing.B) {
	storetest.BenchJobQueue(b, openTest(b, filepath.Join(b.TempDir(), "mediagate.db")))
}
