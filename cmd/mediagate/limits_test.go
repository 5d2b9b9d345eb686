package main

import (
	"testing"
	"time"

	"mediagate"
)

func TestParseLimit(t *testing.T) {
	tests := []struct {
		in   string
		want mediagate.Limit
		ok   bool
	}{
		{"200/1s,400", mediagate.Limit{Rate: 200, Period: time.Second, Burst: 400}, true},
		{"20/1m", mediagate.Limit{Rate: 20, Period: time.Minute, Burst: 20}, true},
		{" 5 / 10s , 1 ", mediagate.Limit{Rate: 5, Period: 10 * time.Second, Burst: 1}, true},
		{"off", mediagate.Limit{}, true},
		{"200", mediagate.Limit{}, false},
		{"x/1s", mediagate.Limit{}, false},
		{"10/forever", mediagate.Limit{}, false},
		{"0/1s", mediagate.Limit{}, false},
		{"10/1s,0", mediagate.Limit{}, false},
		{"10/-1s", mediagate.Limit{}, false},
	}
	for _, tt := range tests {
		got, err := parseLimit(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("parseLimit(%q)=%+v, %v; want %+v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
