package api_test

import (
	"bytes"
	"strings"
	"testing"

	"mediagate/api"
)

func TestDownloadsAreChargedOncePerURL(t *testing.T) {
	s := newServer(t, func(c *api.Config) {
		c.Prices.UploadPerMiB, c.Prices.DownloadPerMiB, c.SignupCredit = 0, 1_000, 0
	})
	tok, acct := s.funded(t, "a@example.com", 10_000)
	data := []byte(strings.Repeat("0123456789abcde\n", 2<<20/16)) // 2 MiB of text
	o := s.upload(t, tok, "big.txt", "text/plain", data)
	s.balance(t, acct, 10_000, 0)

	var u struct {
		URL     string
		Charged int64
	}
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, nil).status(t, 200).json(t, &u)
	if u.Charged != 2_000 {
		t.Fatalf("charged %d for 2 MiB, want 2000", u.Charged)
	}
	s.balance(t, acct, 8_000, 0)
	for range 3 { // using the URL again costs nothing
		if got := s.do(t, "GET", u.URL, "", nil).status(t, 200); !bytes.Equal(got.body, data) {
			t.Fatal("download differs")
		}
	}
	s.balance(t, acct, 8_000, 0)

	// A URL for one range is charged for those bytes and serves only them.
	s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, map[string]any{"range": "bytes=16-1039"}).status(t, 200).json(t, &u)
	if u.Charged != 1 { // 1024 bytes at 1000 per MiB, rounded up
		t.Fatalf("charged %d for 1 KiB, want 1", u.Charged)
	}
	s.balance(t, acct, 7_999, 0)
	if got := s.do(t, "GET", u.URL, "", nil).status(t, 200); !bytes.Equal(got.body, data[16:1040]) {
		t.Fatalf("range URL served %d bytes, want the 1024 asked for", len(got.body))
	}
	if got := s.do(t, "GET", u.URL, "", nil, "Range", "bytes=0-9").status(t, 206); !bytes.Equal(got.body, data[16:26]) {
		t.Fatalf("a Range within a range URL served %q", got.body)
	}
	for _, bad := range []string{"16-20", "bytes=x-1", "bytes=9-3", "bytes=" + strings.Repeat("9", 12) + "-"} {
		s.do(t, "POST", "/v1/objects/"+o.ID+"/url", tok, map[string]any{"range": bad}).problem(t, 400, "invalid")
	}

	// The redirect issues (and charges) a fresh URL each time.
	s.do(t, "GET", "/v1/objects/"+o.ID+"/content", tok, nil).status(t, 302)
	s.balance(t, acct, 5_999, 0)

	// Short credit: 402 with the figures, no URL, nothing charged.
	poor, poorAcct := s.funded(t, "b@example.com", 1_999)
	p2 := s.upload(t, poor, "big.txt", "text/plain", data)
	p := s.do(t, "POST", "/v1/objects/"+p2.ID+"/url", poor, nil).problem(t, 402, "insufficient_credit")
	if p["needed"] != float64(2_000) || p["available"] != float64(1_999) {
		t.Fatalf("402 says needed=%v available=%v, want 2000 and 1999", p["needed"], p["available"])
	}
	s.do(t, "GET", "/v1/objects/"+p2.ID+"/content", poor, nil).problem(t, 402, "insufficient_credit")
	s.balance(t, poorAcct, 1_999, 0)
}
