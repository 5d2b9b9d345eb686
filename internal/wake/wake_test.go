package wake

import (
	"context"
	"testing"
)

func TestWaker(t *testing.T) {
	var w Waker
	ctx, cancel := context.WithCancel(context.Background())
	a := w.Subscribe(ctx, []string{"audio", "video"})
	b := w.Subscribe(context.Background(), []string{"video"})
	w.Signal("audio")
	w.Signal("audio") // coalesced, never blocks
	select {
	case <-a:
	default:
		t.Fatal("a was not woken by audio")
	}
	select {
	case <-b:
		t.Fatal("b was woken by audio")
	default:
	}
	w.SignalAll()
	<-a
	<-b
	cancel()
	// After ctx ends a is unsubscribed (AfterFunc runs in its own goroutine).
	for i := 0; ; i++ {
		w.mu.Lock()
		n := len(w.subs["audio"])
		w.mu.Unlock()
		if n == 0 {
			break
		}
		if i > 1e6 {
			t.Fatal("a is still subscribed after its context ended")
		}
	}
}
