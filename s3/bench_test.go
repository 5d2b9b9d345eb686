package s3_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

var benchSizes = []int{4 << 10, 64 << 20}

func sizeName(n int) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%dMiB", n>>20)
	}
	return fmt.Sprintf("%dKiB", n>>10)
}

// BenchmarkPresignedPut uploads through a URL from PresignPut with plain
// net/http, as a client that bypasses the server would; signing is part of
// each iteration, as each upload needs its own URL.
func BenchmarkPresignedPut(b *testing.B) {
	s, _ := newStore(b)
	for _, size := range benchSizes {
		data := make([]byte, size)
		rand.Read(data)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				u, h, err := s.PresignPut(b.Context(), fmt.Sprintf("bench/%d", i%8), time.Minute, int64(size), "application/octet-stream", "")
				if err != nil {
					b.Fatalf("PresignPut: %v", err)
				}
				req, err := http.NewRequestWithContext(b.Context(), http.MethodPut, u, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", h.Get("Content-Type"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatalf("PUT: %v", err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("PUT status=%d, want 200", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkMinioPut uploads the same sizes with minio-go's PutObject and its
// defaults, the baseline for BenchmarkPresignedPut.
func BenchmarkMinioPut(b *testing.B) {
	bucket := newBucket(b)
	for _, size := range benchSizes {
		data := make([]byte, size)
		rand.Read(data)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				_, err := server.Admin.PutObject(b.Context(), bucket, fmt.Sprintf("bench/%d", i%8), bytes.NewReader(data), int64(size),
					minio.PutObjectOptions{ContentType: "application/octet-stream"})
				if err != nil {
					b.Fatalf("PutObject: %v", err)
				}
			}
		})
	}
}

// BenchmarkPut is the store's own Put, through the server: for comparison
// with the two above.
func BenchmarkPut(b *testing.B) {
	s, _ := newStore(b)
	for _, size := range benchSizes {
		data := make([]byte, size)
		rand.Read(data)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for i := 0; b.Loop(); i++ {
				if _, err := s.Put(b.Context(), fmt.Sprintf("bench/%d", i%8), bytes.NewReader(data), -1); err != nil {
					b.Fatalf("Put: %v", err)
				}
			}
		})
	}
}
