package main

import (
	"time"

	"mediagate/bench/internal/benchkit"
)

// The groups of PIDs of b.takeCPU's snapshots: CPUUse.Groups[mgCPU] is
// mediagate's CPU time, Groups[ngxCPU] nginx's.
const (
	mgCPU = iota
	ngxCPU
)

// takeCPU takes a snapshot of the CPU time used so far by both servers, this
// process and the machine.
func (b *bench) takeCPU() benchkit.CPUSnapshot {
	return benchkit.TakeCPU(b.c.mgPIDs, b.c.ngxPIDs)
}

// cpuOf returns the CPU time of the target's server ("mediagate" or "nginx").
func cpuOf(u benchkit.CPUUse, target string) time.Duration {
	if target == "nginx" {
		return u.Groups[ngxCPU]
	}
	return u.Groups[mgCPU]
}
