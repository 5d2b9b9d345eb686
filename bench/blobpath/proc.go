package main

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

// procCPU returns utime+stime of pid from /proc/PID/stat, or 0.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')') // the command name may hold spaces
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

// machineBusy returns the CPU time all CPUs spent not idle, from /proc/stat.
func machineBusy() time.Duration {
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

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuSnap is CPU time used so far by each server, this process and the machine.
type cpuSnap struct {
	at      time.Time
	mg, ngx time.Duration
	self    time.Duration
	machine time.Duration
	mgPIDs  []int
	ngxPIDs []int
}

func takeCPU(mgPIDs, ngxPIDs []int) cpuSnap {
	s := cpuSnap{at: time.Now(), self: selfCPU(), machine: machineBusy(), mgPIDs: mgPIDs, ngxPIDs: ngxPIDs}
	for _, p := range mgPIDs {
		s.mg += procCPU(p)
	}
	for _, p := range ngxPIDs {
		s.ngx += procCPU(p)
	}
	return s
}

// cpuUse is the CPU time used between two snapshots.
type cpuUse struct {
	wall, mg, ngx, self, others time.Duration
}

// of returns the CPU time of the target's server ("mediagate" or "nginx").
func (u cpuUse) of(target string) time.Duration {
	if target == "nginx" {
		return u.ngx
	}
	return u.mg
}

func since(a cpuSnap) cpuUse {
	b := takeCPU(a.mgPIDs, a.ngxPIDs)
	u := cpuUse{wall: b.at.Sub(a.at), mg: b.mg - a.mg, ngx: b.ngx - a.ngx, self: b.self - a.self}
	u.others = max(0, b.machine-a.machine-u.mg-u.ngx-u.self)
	return u
}

// statusKB returns the sum over pids of a "Name:  N kB" field of /proc/PID/status.
func statusKB(pids []int, name string) int64 {
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

// resetPeakRSS resets VmHWM of each pid to its current RSS (Linux ≥ 4.0).
func resetPeakRSS(pids []int) error {
	for _, pid := range pids {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
			return err
		}
	}
	return nil
}

// rssSampler samples the summed VmRSS of pids every few milliseconds and
// keeps the highest.
type rssSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak int64 // kB; read after Stop
}

func sampleRSS(pids []int) *rssSampler {
	s := &rssSampler{stop: make(chan struct{})}
	s.peak = statusKB(pids, "VmRSS")
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
				s.peak = max(s.peak, statusKB(pids, "VmRSS"))
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peak in kB.
func (s *rssSampler) Stop() int64 {
	close(s.stop)
	s.done.Wait()
	return s.peak
}
