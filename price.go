package mediagate

import (
	"fmt"
	"math/bits"
)

// Prices is the price list, in micro-credits. Per-size prices are charged per
// started unit: 1 byte over a MiB costs a second MiB's worth, pro rata to the
// byte (see Cost), so small objects are not charged a whole MiB.
type Prices struct {
	UploadPerMiB   int64 `toml:"upload_per_mib"`
	DownloadPerMiB int64 `toml:"download_per_mib"`
	PinPerGiBDay   int64 `toml:"pin_per_gib_day"`
	JobRun         int64 `toml:"job_run"`
	FetchPerURL    int64 `toml:"fetch_per_url"`
	FetchPerMiB    int64 `toml:"fetch_per_mib"`
	APIRequest     int64 `toml:"api_request"` // 0: API calls themselves are free
}

// DefaultPrices: 1 credit uploads 1 GiB, downloads 512 MiB, pins 100 GiB for
// a day, runs 10 jobs or fetches 10,000 URLs.
func DefaultPrices() Prices {
	return Prices{
		UploadPerMiB:   1_000,
		DownloadPerMiB: 2_000,
		PinPerGiBDay:   10_000,
		JobRun:         100_000,
		FetchPerURL:    100,
		FetchPerMiB:    1_000,
		APIRequest:     0,
	}
}

// Validate reports the first negative price as EINVALID.
func (p Prices) Validate() error {
	for name, v := range map[string]int64{
		"upload_per_mib": p.UploadPerMiB, "download_per_mib": p.DownloadPerMiB, "pin_per_gib_day": p.PinPerGiBDay,
		"job_run": p.JobRun, "fetch_per_url": p.FetchPerURL, "fetch_per_mib": p.FetchPerMiB, "api_request": p.APIRequest,
	} {
		if v < 0 {
			return Errorf(EINVALID, "price %s is %d; prices must be ≥ 0", name, v)
		}
	}
	return nil
}

// Cost is the price of n units at perUnit micro-credits per unitSize units
// (e.g. bytes at a price per MiB), rounded up to a whole micro-credit, so
// nothing is ever served for free by rounding. It is exact for any int64
// inputs: the product is computed in 128 bits. It panics on negative
// arguments or a result beyond int64, which no real price list and size reach.
func Cost(n, perUnit, unitSize int64) int64 {
	if n < 0 || perUnit < 0 || unitSize <= 0 {
		panic(fmt.Sprintf("mediagate.Cost(%d, %d, %d): negative amount", n, perUnit, unitSize))
	}
	hi, lo := bits.Mul64(uint64(n), uint64(perUnit))
	if hi >= uint64(unitSize) {
		panic(fmt.Sprintf("mediagate.Cost(%d, %d, %d): overflows int64", n, perUnit, unitSize))
	}
	q, r := bits.Div64(hi, lo, uint64(unitSize))
	if r != 0 {
		q++
	}
	if q > 1<<63-1 {
		panic(fmt.Sprintf("mediagate.Cost(%d, %d, %d): overflows int64", n, perUnit, unitSize))
	}
	return int64(q)
}

// Size units for Cost.
const (
	MiB = 1 << 20
	GiB = 1 << 30
)
