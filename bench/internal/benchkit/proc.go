package benchkit

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tick is USER_HZ, the unit of /proc CPU times on Linux.
const tick = 10 * time.Millisecond

// ProcessCPU returns utime+stime of pid from /proc/PID/stat, or 0 if it
// cannot be read.
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * tick
}

// MachineBusy returns the CPU time all CPUs spent not idle, from /proc/stat.
func MachineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		busy += n
	}
	return time.Duration(busy) * tick
}

// SelfCPU returns the user and system CPU time this process has used.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUSnapshot is the CPU time used so far by groups of processes (say, one
// server's PIDs), by this process and by the whole machine.
type CPUSnapshot struct {
	At      time.Time
	Groups  []time.Duration // one per group given to TakeCPU, summed over its PIDs
	Self    time.Duration
	Machine time.Duration // all CPUs' non-idle time, from /proc/stat
	groups  [][]int
}

// TakeCPU takes a snapshot of the CPU time of each group of PIDs, of this
// process and of the machine.
func TakeCPU(groups ...[]int) CPUSnapshot {
	s := CPUSnapshot{At: time.Now(), Self: SelfCPU(), Machine: MachineBusy(), groups: groups}
	s.Groups = make([]time.Duration, len(groups))
	for g, pids := range groups {
		for _, pid := range pids {
			s.Groups[g] += ProcessCPU(pid)
		}
	}
	return s
}

// CPUUse is the CPU time used between two snapshots.
type CPUUse struct {
	Wall   time.Duration
	Groups []time.Duration // per group, as in the snapshots
	Self   time.Duration
	Others time.Duration // by every other process on the machine, never negative
}

// To returns the CPU time used from s to the later snapshot e of the same
// groups.
func (s CPUSnapshot) To(e CPUSnapshot) CPUUse {
	u := CPUUse{Wall: e.At.Sub(s.At), Groups: make([]time.Duration, len(s.Groups)), Self: e.Self - s.Self}
	rest := e.Machine - s.Machine - u.Self
	for g := range u.Groups {
		u.Groups[g] = e.Groups[g] - s.Groups[g]
		rest -= u.Groups[g]
	}
	u.Others = max(0, rest)
	return u
}

// Since takes a new snapshot of s's groups and returns the CPU time used
// since s.
func (s CPUSnapshot) Since() CPUUse {
	return s.To(TakeCPU(s.groups...))
}

// StatusKB returns the sum over pids of a "Name:  N kB" field of
// /proc/PID/status, such as VmRSS or VmHWM; unreadable PIDs count 0.
func StatusKB(pids []int, name string) int64 {
	var total int64
	for _, pid := range pids {
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				total += n
				break
			}
		}
		f.Close()
	}
	return total
}

// ResetPeakRSS resets VmHWM of each pid to its current RSS, through
// /proc/PID/clear_refs (Linux ≥ 4.0).
func ResetPeakRSS(pids []int) error {
	for _, pid := range pids {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			return err
		}
	}
	return nil
}

// RSSSampler samples the summed VmRSS of some PIDs every few milliseconds
// and keeps the highest.
type RSSSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak int64 // kB; read after Stop
}

// SampleRSS starts sampling the summed VmRSS of pids every 5 ms.
func SampleRSS(pids []int) *RSSSampler {
	s := &RSSSampler{stop: make(chan struct{})}
	s.peak = StatusKB(pids, "VmRSS")
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				s.peak = max(s.peak, StatusKB(pids, "VmRSS"))
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak in kB.
func (s *RSSSampler) Stop() int64 {
	close(s.stop)
	s.done.Wait()
	return s.peak
}
