// Command wavstats measures a WAV recording: duration, peak and RMS level
// (dBFS), an estimate of its signal-to-noise ratio and clipped samples, and
// prints them as JSON. It is mediagate's example job type:
//
//	mediagate worker --type audio.wavstats --exec 'wavstats {input} {params}'
//
// It reads 16- and 24-bit PCM WAV files, mono or stereo. The
// optional second argument is a params file, a JSON object: {"window_ms": 50}
// sets the analysis window of the noise estimate. An input that is not such
// a WAV exits 2 (the worker then fails the job without retrying it).
//
// SNR is estimated without a reference: the noise floor is the RMS of the
// quietest 10% of windows, the signal the RMS of the whole recording.
package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
)

// Stats is what wavstats prints.
type Stats struct {
	DurationSeconds float64 `json:"duration_seconds"`
	SampleRate      int     `json:"sample_rate"`
	Channels        int     `json:"channels"`
	BitsPerSample   int     `json:"bits_per_sample"`
	PeakDBFS        float64 `json:"peak_dbfs"`
	RMSDBFS         float64 `json:"rms_dbfs"`
	SNRDB           float64 `json:"snr_db"`
	ClippedSamples  int     `json:"clipped_samples"`
}

// Params tune the analysis.
type Params struct {
	WindowMS int `json:"window_ms"`
}

// errFormat is an input that is not a WAV wavstats reads.
var errFormat = errors.New("not a 16- or 24-bit PCM WAV file, mono or stereo")

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run measures the file args[0] with the params file args[1], if any, and
// returns the exit code: 2 for an input (or params) it cannot use, 1 for
// other errors.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintln(stderr, "usage: wavstats FILE.wav [PARAMS.json]")
		return 2
	}
	p := Params{WindowMS: 50}
	if len(args) == 2 {
		b, err := os.ReadFile(args[1])
		if err == nil {
			err = json.Unmarshal(b, &p)
		}
		if err != nil || p.WindowMS < 1 || p.WindowMS > 10_000 {
			fmt.Fprintf(stderr, "wavstats: bad params (want {\"window_ms\": 1..10000}): %v\n", err)
			return 2
		}
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "wavstats:", err)
		return 1
	}
	defer f.Close()
	st, err := Analyze(f, p)
	if err != nil {
		fmt.Fprintln(stderr, "wavstats:", err)
		if errors.Is(err, errFormat) {
			return 2
		}
		return 1
	}
	if err := json.NewEncoder(stdout).Encode(st); err != nil {
		fmt.Fprintln(stderr, "wavstats:", err)
		return 1
	}
	return 0
}

// Analyze reads a WAV file from r and measures it.
func Analyze(r io.Reader, p Params) (Stats, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:4]) != "RIFF" || string(hdr[8:]) != "WAVE" {
		return Stats{}, errFormat
	}
	var st Stats
	var format uint16
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return Stats{}, fmt.Errorf("%w: no data chunk", errFormat)
		}
		size := int64(binary.LittleEndian.Uint32(ch[4:]))
		switch string(ch[:4]) {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return Stats{}, errFormat
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return Stats{}, errFormat
			}
			format = binary.LittleEndian.Uint16(b[0:])
			st.Channels = int(binary.LittleEndian.Uint16(b[2:]))
			st.SampleRate = int(binary.LittleEndian.Uint32(b[4:]))
			st.BitsPerSample = int(binary.LittleEndian.Uint16(b[14:]))
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: the subformat's first two bytes
				format = binary.LittleEndian.Uint16(b[24:])
			}
		case "data":
			if format != 1 || (st.BitsPerSample != 16 && st.BitsPerSample != 24) || st.Channels < 1 || st.Channels > 2 || st.SampleRate < 1 {
				return Stats{}, errFormat
			}
			return measure(io.LimitReader(r, size), st, p)
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return Stats{}, errFormat
			}
		}
	}
}

// measure reads the samples of a data chunk.
func measure(r io.Reader, st Stats, p Params) (Stats, error) {
	bytesPer := st.BitsPerSample / 8
	full := math.Exp2(float64(st.BitsPerSample - 1))
	window := max(st.SampleRate*p.WindowMS/1000, 1) * st.Channels
	var peak, sumSq, winSq float64
	var n, inWin int
	var windows []float64
	buf := make([]byte, 64<<10/(bytesPer*st.Channels)*(bytesPer*st.Channels))
	for {
		k, err := io.ReadFull(r, buf)
		k -= k % bytesPer
		for i := 0; i < k; i += bytesPer {
			var v int32
			if bytesPer == 2 {
				v = int32(int16(binary.LittleEndian.Uint16(buf[i:])))
			} else {
				v = int32(uint32(buf[i])|uint32(buf[i+1])<<8|uint32(buf[i+2])<<16) << 8 >> 8
			}
			x := float64(v) / full
			a := math.Abs(x)
			peak = max(peak, a)
			if a >= (full-1)/full {
				st.ClippedSamples++
			}
			sumSq += x * x
			winSq += x * x
			n++
			if inWin++; inWin == window {
				windows = append(windows, math.Sqrt(winSq/float64(inWin)))
				winSq, inWin = 0, 0
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return Stats{}, err
		}
	}
	if n == 0 {
		return Stats{}, fmt.Errorf("%w: no samples", errFormat)
	}
	st.DurationSeconds = round(float64(n/st.Channels)/float64(st.SampleRate), 3)
	rms := math.Sqrt(sumSq / float64(n))
	st.PeakDBFS, st.RMSDBFS = db(peak), db(rms)
	if len(windows) > 0 {
		slices.Sort(windows)
		quiet := windows[:max(len(windows)/10, 1)]
		var s float64
		for _, w := range quiet {
			s += w * w
		}
		noise := math.Sqrt(s / float64(len(quiet)))
		st.SNRDB = round(20*math.Log10(rms/max(noise, 1/full)), 2)
	}
	return st, nil
}

// db is a level in dBFS, floored at -200 for silence.
func db(x float64) float64 {
	if x <= 0 {
		return -200
	}
	return round(20*math.Log10(x), 2)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
