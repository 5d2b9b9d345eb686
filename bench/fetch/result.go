package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

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

func appendRecord(path string, r record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func readRecords(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}
