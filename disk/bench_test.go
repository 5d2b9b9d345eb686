package disk_test

import (
	"bytes"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"mediagate/disk"
)

// BenchmarkPutSmall stores 4 KiB blobs under distinct server-shaped keys
// from many goroutines at once (as a bulk fetch does), in pack segments and
// as one file each, and reports objects/s and the CPU time (user and
// system, all goroutines) per object.
func BenchmarkPutSmall(b *testing.B) {
	for _, layout := range []struct {
		name string
		o    disk.Options
	}{{"pack", disk.Options{}}, {"file", disk.Options{PackMax: -1}}} {
		b.Run(layout.name, func(b *testing.B) {
			s := newStoreWith(b, b.TempDir(), layout.o)
			data := bytes.Repeat([]byte("mediagate"), 4<<10/9+1)[:4<<10]
			var n atomic.Int64
			b.SetBytes(int64(len(data)))
			b.SetParallelism(32) // goroutines per CPU: fetches in flight
			cpu0 := cpuTime()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := bytes.NewReader(data)
				for pb.Next() {
					r.Reset(data)
					if _, err := s.Put(b.Context(), objKey(int(n.Add(1))), r, -1); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
