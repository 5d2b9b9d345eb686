package api

import (
	"testing"
	"time"
)

// SetLongPollTick sets how often a ?wait= reads its job again, until tb's
// cleanup.
func SetLongPollTick(tb testing.TB, d time.Duration) {
	old := longPollTick
	longPollTick = d
	tb.Cleanup(func() { longPollTick = old })
}

// SetThumbnailMaxBytes sets the largest source a thumbnail is made of, until
// tb's cleanup.
func SetThumbnailMaxBytes(tb testing.TB, n int64) {
	old := thumbMaxBytes
	thumbMaxBytes = n
	tb.Cleanup(func() { thumbMaxBytes = old })
}
