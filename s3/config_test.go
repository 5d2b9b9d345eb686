package s3_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"mediagate/s3"
)

func TestParseURL(t *testing.T) {
	env := map[string]string{"AWS_ACCESS_KEY_ID": "envkey", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		url  string
		want s3.Config // zero: an error
	}{
		{"s3://media", s3.Config{Bucket: "media", Endpoint: s3.DefaultEndpoint, AccessKeyID: "envkey", SecretAccessKey: "envsecret", SessionToken: "envtoken"}},
		{"s3://media/a/b/?endpoint=http://127.0.0.1:9000&region=eu-west-1&public_endpoint=https://127.0.0.1:8443",
			s3.Config{Bucket: "media", Prefix: "a/b", Endpoint: "http://127.0.0.1:9000", PublicEndpoint: "https://127.0.0.1:8443", Region: "eu-west-1",
				AccessKeyID: "envkey", SecretAccessKey: "envsecret", SessionToken: "envtoken"}},
		{"s3://media?access_key_id=k&secret_access_key=s&temp_dir=/tmp/x",
			s3.Config{Bucket: "media", Endpoint: s3.DefaultEndpoint, AccessKeyID: "k", SecretAccessKey: "s", TempDir: "/tmp/x"}},
		{"http://media", s3.Config{}},
		{"s3://Bad_Bucket", s3.Config{}},
		{"s3://media/../x", s3.Config{}},
		{"s3://media/a b", s3.Config{}},
		{"s3://media?endpoint=ftp://127.0.0.1", s3.Config{}},
		{"s3://media?endpoint=http://127.0.0.1:9000/path", s3.Config{}},
		{"s3://media?public_endpoint=127.0.0.1:9000", s3.Config{}},
		{"s3://media?regoin=x", s3.Config{}},
		{"s3://media?region=a&region=b", s3.Config{}},
		{"s3://media?access_key_id=k", s3.Config{}},
		{"s3://user:pw@media", s3.Config{}},
		{"s3://media:9000", s3.Config{}},
	} {
		got, err := s3.ParseURL(tc.url, getenv)
		if tc.want == (s3.Config{}) {
			if err == nil {
				t.Errorf("ParseURL(%q)=%+v, want an error", tc.url, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURL(%q)=%+v, %v, want %+v", tc.url, got, err, tc.want)
		}
	}
	if _, err := s3.ParseURL("s3://media", func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Errorf("ParseURL without credentials: err=%v, want one naming AWS_ACCESS_KEY_ID", err)
	}
}

// TestOpenChecks checks that Open refuses a store it cannot use, saying
// which endpoint and bucket.
func TestOpenChecks(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	bucket := newBucket(t)
	dead, err := freeAddr()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		mention   []string
	}{
		{"missing bucket", storeURL("no-such-bucket", ""), []string{"no-such-bucket", server.Endpoint, "does not exist"}},
		{"wrong secret", strings.Replace(storeURL(bucket, ""), "secret_access_key="+server.Secret, "secret_access_key=wrong", 1), []string{bucket, server.Endpoint}},
		{"nothing listening", strings.Replace(storeURL(bucket, ""), "127.0.0.1%3A"+server.Endpoint[strings.LastIndex(server.Endpoint, ":")+1:], strings.Replace(dead, ":", "%3A", 1), 1), []string{bucket, "http://" + dead}},
	} {
		_, err := s3.Open(ctx, tc.url)
		if err == nil {
			t.Errorf("Open with %s: err=nil, want an error", tc.name)
			continue
		}
		for _, m := range tc.mention {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("Open with %s: err=%q, want it to mention %q", tc.name, err, m)
			}
		}
	}
	s, err := s3.Open(ctx, storeURL(bucket, ""))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := server.Admin.RemoveBucket(ctx, bucket); err != nil {
		t.Fatalf("RemoveBucket: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Fatalf("Ping after the bucket was removed: err=nil, want an error")
	}
}
