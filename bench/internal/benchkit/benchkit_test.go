package benchkit

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{.5, 50 * time.Millisecond}, {.99, 99 * time.Millisecond}, {.999, 100 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("Percentile(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile(nil, .5); got != 0 {
		t.Errorf("Percentile(nil) = %v, want 0", got)
	}
	if got := Ms(1500 * time.Microsecond); got != 1.5 {
		t.Errorf("Ms(1.5ms) = %v", got)
	}
}

func TestResultRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.jsonl")
	a := Result{Bench: "b", Case: "c", Target: "mediagate"}
	a.Add("requests/s", 12.5, "1/s", "higher")
	a.Notef("%d workers", 4)
	b := Result{Bench: "b", Case: "c", Target: "hello"}
	b.Add("errors", 0, "", "lower")
	for _, r := range []Result{a, b} {
		if err := r.AppendJSONL(path); err != nil {
			t.Fatal(err)
		}
	}
	raw, _ := os.ReadFile(path)
	want := `{"bench":"b","case":"c","target":"mediagate","metrics":[{"name":"requests/s","value":12.5,"unit":"1/s","better":"higher"}],"notes":["4 workers"]}` + "\n"
	if first, _, _ := strings.Cut(string(raw), "\n"); first+"\n" != want {
		t.Errorf("first line = %s, want %s", first, want)
	}
	got, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []Result{a, b}) {
		t.Errorf("ReadResults = %+v, want %+v", got, []Result{a, b})
	}

	var sb strings.Builder
	a.WriteHeading(&sb)
	a.WriteMetrics(&sb, 12, 8)
	a.WriteNotes(&sb)
	if want := "b / c / mediagate\n  requests/s     12.500 1/s\n  note: 4 workers\n"; sb.String() != want {
		t.Errorf("text = %q, want %q", sb.String(), want)
	}
}

func TestParsePIDsAndLoopbackURL(t *testing.T) {
	if got, err := ParsePIDs("--pids", " 12, 34,,"); err != nil || !reflect.DeepEqual(got, []int{12, 34}) {
		t.Errorf("ParsePIDs = %v, %v", got, err)
	}
	if got, err := ParsePIDs("--pids", ""); err != nil || got != nil {
		t.Errorf("ParsePIDs(\"\") = %v, %v", got, err)
	}
	if _, err := ParsePIDs("--pids", "1,x"); err == nil || !strings.HasPrefix(err.Error(), "--pids ") {
		t.Errorf("ParsePIDs(1,x) error = %v", err)
	}
	u, err := LoopbackURL("--url", "http://127.0.0.1:8080/x/")
	if err != nil || u.Host != "127.0.0.1:8080" || u.Path != "/x" {
		t.Errorf("LoopbackURL = %v, %v", u, err)
	}
	for _, raw := range []string{"http://10.0.0.1:80", "https://127.0.0.1:1", "http://localhost:1", ""} {
		if _, err := LoopbackURL("--url", raw); err == nil {
			t.Errorf("LoopbackURL(%q) accepted", raw)
		}
	}
}

func TestCPUUse(t *testing.T) {
	at := time.Now()
	s := CPUSnapshot{At: at, Groups: []time.Duration{1 * time.Second, 2 * time.Second}, Self: time.Second, Machine: 10 * time.Second}
	e := CPUSnapshot{At: at.Add(time.Second), Groups: []time.Duration{1500 * time.Millisecond, 2 * time.Second}, Self: 1200 * time.Millisecond, Machine: 11 * time.Second}
	u := s.To(e)
	want := CPUUse{Wall: time.Second, Groups: []time.Duration{500 * time.Millisecond, 0}, Self: 200 * time.Millisecond, Others: 300 * time.Millisecond}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("To = %+v, want %+v", u, want)
	}
	e.Machine = 10 * time.Second // the machine counter lagged: others never negative
	if u := s.To(e); u.Others != 0 {
		t.Errorf("Others = %v, want 0", u.Others)
	}
	if u := TakeCPU([]int{os.Getpid()}).Since(); len(u.Groups) != 1 || u.Groups[0] < 0 {
		t.Errorf("Since = %+v", u)
	}
	if kb := StatusKB([]int{os.Getpid()}, "VmRSS"); kb <= 0 {
		t.Errorf("StatusKB(self, VmRSS) = %d", kb)
	}
}
