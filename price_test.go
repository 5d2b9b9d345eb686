package mediagate_test

import (
	"testing"

	"mediagate"
)

func TestCost(t *testing.T) {
	tests := []struct {
		n, per, unit, want int64
	}{
		{0, 1000, mediagate.MiB, 0},
		{1, 1000, mediagate.MiB, 1},                    // one byte still costs a micro-credit
		{mediagate.MiB, 1000, mediagate.MiB, 1000},     // exactly one MiB
		{mediagate.MiB + 1, 1000, mediagate.MiB, 1001}, // rounded up, pro rata
		{5 << 40, 2000, mediagate.MiB, 10_485_760_000}, // 5 TiB: the product needs more than 64 bits
		{3, 0, mediagate.MiB, 0},                       // free is free
		{10, 7, 3, 24},                                 // 70/3 = 23.3 → 24
	}
	for _, tt := range tests {
		if got := mediagate.Cost(tt.n, tt.per, tt.unit); got != tt.want {
			t.Errorf("Cost(%d, %d, %d)=%d, want %d", tt.n, tt.per, tt.unit, got, tt.want)
		}
	}
}

func TestCostPanicsOnNonsense(t *testing.T) {
	for _, args := range [][3]int64{{-1, 1, 1}, {1, -1, 1}, {1, 1, 0}, {1 << 62, 1 << 62, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Cost%v did not panic", args)
				}
			}()
			mediagate.Cost(args[0], args[1], args[2])
		}()
	}
}

func TestPricesValidate(t *testing.T) {
	if err := mediagate.DefaultPrices().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	p := mediagate.DefaultPrices()
	p.FetchPerMiB = -1
	if err := p.Validate(); mediagate.ErrorCode(err) != mediagate.EINVALID {
		t.Fatalf("negative price: %v, want invalid", err)
	}
}
