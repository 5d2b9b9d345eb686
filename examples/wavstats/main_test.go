package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// wavFile makes a 16-bit PCM WAV of samples (in -1..1) at rate, mono.
func wavFile(rate int, samples []float64) []byte {
	var b bytes.Buffer
	data := len(samples) * 2
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	for _, s := range samples {
		binary.Write(&b, binary.LittleEndian, int16(math.Round(s*32767)))
	}
	return b.Bytes()
}

func TestSineWithNoise(t *testing.T) {
	const rate = 16000
	rng := rand.New(rand.NewPCG(1, 2))
	amp := math.Pow(10, -6.0/20) // -6 dBFS peak
	s := make([]float64, 2*rate)
	for i := range s {
		s[i] = 0.0005 * (rng.Float64()*2 - 1) // noise at about -72 dBFS RMS
		if i >= rate/2 {                      // the first half second is only noise
			s[i] += amp * math.Sin(2*math.Pi*1000*float64(i)/rate)
		}
	}
	st, err := Analyze(bytes.NewReader(wavFile(rate, s)), Params{WindowMS: 50})
	if err != nil {
		t.Fatal(err)
	}
	if st.DurationSeconds != 2 || st.SampleRate != rate || st.Channels != 1 || st.BitsPerSample != 16 {
		t.Fatalf("format %+v", st)
	}
	// Peak -6 dBFS; RMS of a sine 3 dB below its peak, over 3/4 of the time: -6-3-1.25.
	if math.Abs(st.PeakDBFS+6) > 0.1 || math.Abs(st.RMSDBFS+10.25) > 0.2 {
		t.Fatalf("peak %.2f dBFS, rms %.2f dBFS; want -6 and about -10.25", st.PeakDBFS, st.RMSDBFS)
	}
	if st.SNRDB < 55 || st.SNRDB > 70 || st.ClippedSamples != 0 {
		t.Fatalf("SNR %.1f dB (want 55..70), %d clipped", st.SNRDB, st.ClippedSamples)
	}
}

func TestClippingAndSilence(t *testing.T) {
	s := make([]float64, 8000)
	for i := range s {
		s[i] = math.Max(-1, math.Min(1, 1.5*math.Sin(float64(i)/10)))
	}
	st, err := Analyze(bytes.NewReader(wavFile(8000, s)), Params{WindowMS: 50})
	if err != nil || st.ClippedSamples == 0 || st.PeakDBFS != 0 {
		t.Fatalf("clipped sine: %+v, %v", st, err)
	}
	st, err = Analyze(bytes.NewReader(wavFile(8000, make([]float64, 8000))), Params{WindowMS: 50})
	if err != nil || st.PeakDBFS != -200 || st.RMSDBFS != -200 {
		t.Fatalf("silence: %+v, %v", st, err)
	}
}

func TestNotAWAV(t *testing.T) {
	for name, b := range map[string][]byte{
		"png":   []byte("\x89PNG\r\n\x1a\n0000000000000000"),
		"empty": nil,
		"float": bytes.Replace(wavFile(8000, make([]float64, 10)), []byte{16, 0, 0, 0, 1, 0}, []byte{16, 0, 0, 0, 3, 0}, 1),
	} {
		if _, err := Analyze(bytes.NewReader(b), Params{WindowMS: 50}); !errors.Is(err, errFormat) {
			t.Errorf("%s: %v, want a format error", name, err)
		}
	}
}

// wavPCM makes a PCM WAV of interleaved samples (in -1..1) with bits 16 or
// 24 and the given channels.
func wavPCM(rate, bits, channels int, samples []float64) []byte {
	var b bytes.Buffer
	bytesPer := bits / 8
	data := len(samples) * bytesPer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate), uint32(rate * channels * bytesPer),
		uint16(channels * bytesPer), uint16(bits)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	full := math.Exp2(float64(bits-1)) - 1
	for _, s := range samples {
		v := int32(math.Round(s * full))
		b.Write([]byte{byte(v), byte(v >> 8), byte(v >> 16)}[:bytesPer])
	}
	return b.Bytes()
}

// sine is a 1 kHz sine peaking at -6 dBFS with noise at about -72 dBFS RMS,
// seconds long, the same on every channel.
func sine(rate, channels int, seconds float64) []float64 {
	rng := rand.New(rand.NewPCG(3, 4))
	amp := math.Pow(10, -6.0/20)
	s := make([]float64, int(seconds*float64(rate))*channels)
	for i := range s {
		s[i] = amp*math.Sin(2*math.Pi*1000*float64(i/channels)/float64(rate)) + 0.0005*(rng.Float64()*2-1)
	}
	return s
}

func TestSineLevels(t *testing.T) {
	for _, tc := range []struct{ bits, channels int }{{16, 1}, {16, 2}, {24, 1}, {24, 2}} {
		st, err := Analyze(bytes.NewReader(wavPCM(48000, tc.bits, tc.channels, sine(48000, tc.channels, 1))), Params{WindowMS: 50})
		if err != nil {
			t.Fatalf("%d-bit, %d channels: %v", tc.bits, tc.channels, err)
		}
		if st.BitsPerSample != tc.bits || st.Channels != tc.channels || st.SampleRate != 48000 || st.DurationSeconds != 1 {
			t.Errorf("%d-bit, %d channels: format %+v", tc.bits, tc.channels, st)
		}
		// A sine's RMS is 3.01 dB below its peak.
		if math.Abs(st.PeakDBFS+6) > 0.1 || math.Abs(st.RMSDBFS+9.03) > 0.2 || st.ClippedSamples != 0 {
			t.Errorf("%d-bit, %d channels: peak %.2f dBFS, rms %.2f dBFS, %d clipped; want -6, -9 and none",
				tc.bits, tc.channels, st.PeakDBFS, st.RMSDBFS, st.ClippedSamples)
		}
		// Without a pause the quietest windows hold the tone: the estimate
		// sees no noise floor below the signal.
		if math.Abs(st.SNRDB) > 1 {
			t.Errorf("%d-bit, %d channels: SNR %.2f dB of a tone without pauses, want about 0", tc.bits, tc.channels, st.SNRDB)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		path := dir + "/" + name
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	good := write("good.wav", wavPCM(8000, 24, 2, sine(8000, 2, 0.5)))
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"a WAV", []string{good}, 0},
		{"a WAV and params", []string{good, write("p.json", []byte(`{"window_ms": 20}`))}, 0},
		{"a PNG", []string{write("x.png", []byte("\x89PNG\r\n\x1a\n0000000000000000"))}, 2},
		{"three channels", []string{write("3ch.wav", wavPCM(8000, 16, 3, make([]float64, 300)))}, 2},
		{"8-bit", []string{write("8bit.wav", bytes.Replace(wavPCM(8000, 16, 1, make([]float64, 10)), []byte{2, 0, 16, 0}, []byte{2, 0, 8, 0}, 1))}, 2},
		{"bad params", []string{good, write("bad.json", []byte(`{"window_ms": "x"}`))}, 2},
		{"no file", []string{dir + "/missing.wav"}, 1},
		{"no arguments", nil, 2},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", tc.name, code, tc.code, stderr.String())
			continue
		}
		if tc.code != 0 {
			if stderr.Len() == 0 || stdout.Len() != 0 {
				t.Errorf("%s: stdout %q, stderr %q; want only a message on stderr", tc.name, stdout.String(), stderr.String())
			}
			continue
		}
		var out map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("%s: stdout %q: %v", tc.name, stdout.String(), err)
		}
		for _, k := range []string{"duration_seconds", "sample_rate", "channels", "peak_dbfs", "rms_dbfs", "snr_db", "clipped_samples"} {
			if _, ok := out[k]; !ok {
				t.Errorf("%s: no %s in %s", tc.name, k, stdout.String())
			}
		}
	}
}

func FuzzAnalyze(f *testing.F) {
	f.Add(wavPCM(8000, 16, 1, sine(8000, 1, 0.01)))
	f.Add(wavPCM(8000, 24, 2, sine(8000, 2, 0.01)))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Analyze(bytes.NewReader(b), Params{WindowMS: 50})
		if err == nil && (st.Channels < 1 || st.Channels > 2 || math.IsNaN(st.RMSDBFS) || math.IsNaN(st.SNRDB)) {
			t.Fatalf("accepted %+v", st)
		}
	})
}
