package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
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
