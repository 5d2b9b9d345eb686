package main

import "mediagate/bench/internal/benchkit"

// record is one result line: a downloader's run of a case, or the disk
// measurement.
type record struct {
	Kind string `json:"kind"` // "tool" or "disk"

	// Tool runs.
	Case      string   `json:"case,omitempty"` // "small", "big", "latency"
	Tool      string   `json:"tool,omitempty"`
	Available bool     `json:"available"`
	Note      string   `json:"note,omitempty"` // why not available, or how it failed
	Args      []string `json:"args,omitempty"` // the command line, with LIST and DIR for the paths
	URLs      int      `json:"urls,omitempty"`
	Size      int      `json:"size,omitempty"`
	Conc      int      `json:"conc,omitempty"`
	DelayMs   float64  `json:"delay_ms,omitempty"` // the origin's added latency
	ExitCode  int      `json:"exit_code"`
	WallS     float64  `json:"wall_s,omitempty"` // start to exit
	SyncS     float64  `json:"sync_s,omitempty"` // syncfs of the output after exit
	MaxRSSKB  int64    `json:"max_rss_kb,omitempty"`
	CPUS      float64  `json:"cpu_s,omitempty"`        // the tool's user+sys
	OriginCPU float64  `json:"origin_cpu_s,omitempty"` // the origin's, same interval
	Files     int      `json:"files,omitempty"`        // objects found stored (or reported ok)
	Bytes     int64    `json:"bytes,omitempty"`
	Sampled   int      `json:"sampled,omitempty"`   // stored files whose bytes were hashed
	SampleOK  int      `json:"sample_ok,omitempty"` // of those, matching the URL's content
	Verified  bool     `json:"verified"`
	Check     string   `json:"check,omitempty"` // what was verified, or what failed

	// Disk.
	DiskMBs    float64 `json:"disk_mb_s,omitempty"`
	DiskMethod string  `json:"disk_method,omitempty"`
}

func appendRecord(path string, r record) error { return benchkit.AppendJSONL(path, r) }

func readRecords(path string) ([]record, error) { return benchkit.ReadJSONL[record](path) }
