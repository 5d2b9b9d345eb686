package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mediagate/bench/internal/benchkit"
)

// bigRep is what one repetition of the large PUT/GET measured on one target.
type bigRep struct {
	put, sync, complete, get time.Duration
	hwmKB, sampledKB         int64
	cpuPut, cpuGet           benchkit.CPUUse
}

// big runs the large-object repetitions, the two targets interleaved so that
// both see the same background, and returns one benchkit.Result per target.
func (b *bench) big() ([]benchkit.Result, error) {
	var mg, ngx []bigRep
	var notes []string
	for i := range b.c.bigReps {
		r, note, err := b.bigMediagate(i)
		if err != nil {
			return nil, fmt.Errorf("mediagate, large object, repetition %d: %w", i+1, err)
		}
		mg = append(mg, r)
		if note != "" {
			notes = append(notes, note)
		}
		r, err = b.bigNginx(i)
		if err != nil {
			return nil, fmt.Errorf("nginx, large object, repetition %d: %w", i+1, err)
		}
		ngx = append(ngx, r)
	}
	name := fmt.Sprintf("%d MiB object", b.c.bigSize>>20)
	if b.c.bigSize == 1<<30 {
		name = "1 GiB object"
	}
	return []benchkit.Result{b.bigResult(name, "mediagate", mg, notes), b.bigResult(name, "nginx", ngx, nil)}, nil
}

func (b *bench) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.c.phaseTimeout)
}

func (b *bench) bigMediagate(i int) (r bigRep, note string, err error) {
	ctx, cancel := b.step()
	defer cancel()
	up, err := b.createUpload(ctx, fmt.Sprintf("big-%d.mp4", i), "video/mp4", b.c.bigSize)
	if err != nil {
		return r, "", err
	}
	if err := benchkit.ResetPeakRSS(b.c.mgPIDs); err != nil {
		note = fmt.Sprintf("could not reset VmHWM (%v): the peak RSS is over the process's life", err)
	}
	if r.put, r.cpuPut, r.hwmKB, r.sampledKB, err = b.timedPut(ctx, up.Upload.URL, up.Upload.Headers["Content-Type"], b.c.mgPIDs); err != nil {
		return r, note, err
	}
	cancel()

	ctx, cancel = b.step()
	defer cancel()
	t := time.Now()
	if err := b.complete(ctx, up.Object.ID); err != nil {
		return r, note, err
	}
	r.complete = time.Since(t)
	get, err := b.downloadURL(ctx, up.Object.ID)
	if err != nil {
		return r, note, err
	}
	cancel()

	if r.get, r.cpuGet, err = b.timedGet(get); err != nil {
		return r, note, err
	}
	ctx, cancel = b.step()
	defer cancel()
	return r, note, b.del(ctx, b.c.mg.String()+"/v1/objects/"+up.Object.ID)
}

func (b *bench) bigNginx(i int) (r bigRep, err error) {
	ctx, cancel := b.step()
	defer cancel()
	path := fmt.Sprintf("/big/rep-%d.mp4", i)
	benchkit.ResetPeakRSS(b.c.ngxPIDs)
	if r.put, r.cpuPut, r.hwmKB, r.sampledKB, err = b.timedPut(ctx, b.c.ngx.String()+path, "video/mp4", b.c.ngxPIDs); err != nil {
		return r, err
	}
	if b.c.ngxRoot != "" {
		t := time.Now()
		if err := b.fsyncStored(filepath.Join(b.c.ngxRoot, filepath.FromSlash(path))); err != nil {
			return r, fmt.Errorf("fsync what nginx stored: %w", err)
		}
		r.sync = time.Since(t)
	}
	cancel()
	if r.get, r.cpuGet, err = b.timedGet(b.c.ngx.String() + path); err != nil {
		return r, err
	}
	ctx, cancel = b.step()
	defer cancel()
	return r, b.del(ctx, b.c.ngx.String()+path)
}

// timedPut PUTs the source file to u, measuring the time, the servers' CPU
// and the peak RSS of pids.
func (b *bench) timedPut(ctx context.Context, u, contentType string, pids []int) (d time.Duration, cpu benchkit.CPUUse, hwmKB, sampledKB int64, err error) {
	f, err := os.Open(b.c.file)
	if err != nil {
		return 0, cpu, 0, 0, err
	}
	defer f.Close()
	s := benchkit.SampleRSS(pids)
	snap := b.takeCPU()
	t := time.Now()
	err = b.put(ctx, u, contentType, f, b.c.bigSize)
	d = time.Since(t)
	cpu = snap.Since()
	sampledKB = s.Stop()
	hwmKB = benchkit.StatusKB(pids, "VmHWM")
	return d, cpu, hwmKB, sampledKB, err
}

func (b *bench) timedGet(u string) (time.Duration, benchkit.CPUUse, error) {
	ctx, cancel := b.step()
	defer cancel()
	snap := b.takeCPU()
	t := time.Now()
	err := b.get(ctx, u, b.c.bigSize, mp4Header)
	return time.Since(t), snap.Since(), err
}

func (b *bench) bigResult(name, target string, reps []bigRep, notes []string) benchkit.Result {
	r := benchkit.Result{Bench: "blob data path", Case: name, Target: target, Notes: notes}
	var put, durable, get, complete, hwm, sampled, cpuPut, cpuGet, others []float64
	gib := float64(b.c.bigSize) / (1 << 30)
	for _, x := range reps {
		put = append(put, mbps(b.c.bigSize, x.put))
		durable = append(durable, mbps(b.c.bigSize, x.put+x.sync))
		get = append(get, mbps(b.c.bigSize, x.get))
		complete = append(complete, x.complete.Seconds())
		hwm = append(hwm, float64(x.hwmKB)*1024/1e6)
		sampled = append(sampled, float64(x.sampledKB)*1024/1e6)
		cpuPut = append(cpuPut, cpuOf(x.cpuPut, target).Seconds()/gib)
		cpuGet = append(cpuGet, cpuOf(x.cpuGet, target).Seconds()/gib)
		others = append(others, (x.cpuPut.Others+x.cpuGet.Others).Seconds()/(x.cpuPut.Wall+x.cpuGet.Wall).Seconds())
	}
	r.Add("PUT MB/s", median(put), "MB/s", "higher")
	if target == "mediagate" {
		r.Add("PUT MB/s, durable (fsync'd)", median(put), "MB/s", "higher")
		r.Add("complete (verify) time", median(complete), "s", "lower")
	} else if b.c.ngxRoot != "" {
		r.Add("PUT MB/s, durable (fsync'd)", median(durable), "MB/s", "higher")
	}
	r.Add("GET MB/s", median(get), "MB/s", "higher")
	r.Add("server peak RSS during PUT (VmHWM)", slicesMax(hwm), "MB", "lower")
	r.Add("server peak RSS during PUT (sampled VmRSS)", slicesMax(sampled), "MB", "lower")
	r.Add("server CPU per GiB PUT", median(cpuPut), "s", "lower")
	r.Add("server CPU per GiB GET", median(cpuGet), "s", "lower")
	r.Add("other processes' CPU use", median(others), "cores", "")
	r.Notef("%d repetitions interleaved with the peer's, medians; PUT MB/s per repetition %s, GET %s",
		len(reps), floats(put), floats(get))
	if target == "mediagate" {
		r.Notef("complete (size check, SHA-256 of the whole file, type sniffing) per repetition %s s", floats(complete))
	}
	return r
}

func slicesMax(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// floats formats samples for a note: whole numbers, or two decimals below 10.
func floats(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
		if x < 10 {
			parts[i] = fmt.Sprintf("%.2f", x)
		}
	}
	return strings.Join(parts, ", ")
}
