package urlsign_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"mediagate"
	"mediagate/urlsign"
)

var (
	master = []byte("0123456789abcdef0123456789abcdef")
	now    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

func signed(t *testing.T, s *urlsign.Signer, g urlsign.Grant) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s.Query(g))
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestVerify(t *testing.T) {
	s := urlsign.New(master, "origin")
	put := urlsign.Grant{Method: "PUT", Key: "ab/obj_1", Expires: now.Add(time.Hour), MaxSize: 100,
		ContentType: "image/png", AccountID: "acct_1"}
	get := urlsign.Grant{Method: "GET", Key: "ab/obj_1", Expires: now.Add(time.Minute), Filename: "cat \"1\".png",
		ContentType: "image/png"}
	part := urlsign.Grant{Method: "PUT", Key: "ab/obj_1", Expires: now.Add(time.Hour), MaxSize: 5 << 20,
		UploadID: "upl_1", Part: 3}
	tamper := func(g urlsign.Grant, k, v string) url.Values {
		q := signed(t, s, g)
		q.Set(k, v)
		return q
	}
	tests := []struct {
		name     string
		method   string
		key      string
		query    url.Values
		at       time.Time
		wantCode string
	}{
		{"put ok", "PUT", put.Key, signed(t, s, put), now, ""},
		{"get ok", "GET", get.Key, signed(t, s, get), now, ""},
		{"head with get grant", "HEAD", get.Key, signed(t, s, get), now, ""},
		{"part ok", "PUT", part.Key, signed(t, s, part), now, ""},
		{"expired", "GET", get.Key, signed(t, s, get), now.Add(time.Minute), mediagate.EFORBIDDEN},
		{"other method", "PUT", get.Key, signed(t, s, get), now, mediagate.EFORBIDDEN},
		{"other key", "PUT", "ab/obj_2", signed(t, s, put), now, mediagate.EFORBIDDEN},
		{"larger max", "PUT", put.Key, tamper(put, "X-Mg-Max", "1000"), now, mediagate.EFORBIDDEN},
		{"other type", "PUT", put.Key, tamper(put, "X-Mg-Type", "text/html"), now, mediagate.EFORBIDDEN},
		{"later expiry", "PUT", put.Key, tamper(put, "X-Mg-Expires", "9999999999"), now, mediagate.EFORBIDDEN},
		{"other part", "PUT", part.Key, tamper(part, "X-Mg-Part", "4"), now, mediagate.EFORBIDDEN},
		{"other account", "PUT", put.Key, tamper(put, "X-Mg-Account", "acct_2"), now, mediagate.EFORBIDDEN},
		{"other name", "GET", get.Key, tamper(get, "X-Mg-Name", "evil.html"), now, mediagate.EFORBIDDEN},
		{"range added", "GET", get.Key, tamper(get, "X-Mg-Range", "0-99"), now, mediagate.EFORBIDDEN},
		{"bad range", "GET", get.Key, tamper(get, "X-Mg-Range", "9-1"), now, mediagate.EFORBIDDEN},
		{"other node", "GET", get.Key, tamper(get, "X-Mg-Node", "edge-1"), now, mediagate.EFORBIDDEN},
		{"no signature", "GET", get.Key, tamper(get, "X-Mg-Signature", ""), now, mediagate.EFORBIDDEN},
		{"bad hex", "GET", get.Key, tamper(get, "X-Mg-Signature", "zz"), now, mediagate.EFORBIDDEN},
		{"bad expiry", "GET", get.Key, tamper(get, "X-Mg-Expires", "soon"), now, mediagate.EFORBIDDEN},
		{"no query", "GET", get.Key, url.Values{}, now, mediagate.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Verify(tt.method, tt.key, tt.query, tt.at)
			if got := mediagate.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code=%q (%v), want %q", got, err, tt.wantCode)
			}
		})
	}
}

func TestVerifyReturnsGrant(t *testing.T) {
	s := urlsign.New(master, "origin")
	want := urlsign.Grant{Method: "PUT", Key: "k/x", Expires: now.Add(time.Hour), MaxSize: 7,
		ContentType: "audio/wav", UploadID: "upl_9", Part: 2, Filename: "a b.wav", AccountID: "acct_3",
		Offset: 10, Length: 5}
	got, err := s.Verify("PUT", want.Key, signed(t, s, want), now)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(want.Expires) {
		t.Fatalf("expires=%v, want %v", got.Expires, want.Expires)
	}
	got.Expires = want.Expires
	if got != want {
		t.Fatalf("grant=%+v, want %+v", got, want)
	}
}

func TestNodesCannotMintForEachOther(t *testing.T) {
	origin := urlsign.New(master, "origin")
	edge := urlsign.NewWithKey("edge-1", urlsign.NodeKey(master, "edge-1"))
	g := urlsign.Grant{Method: "GET", Key: "k", Expires: now.Add(time.Hour)}
	if _, err := edge.Verify("GET", "k", signed(t, edge, g), now); err != nil {
		t.Fatalf("edge rejects its own URL: %v", err)
	}
	// The edge's URL, relabelled as the origin's, must not verify at the origin.
	q := signed(t, edge, g)
	q.Set("X-Mg-Node", "origin")
	if _, err := origin.Verify("GET", "k", q, now); mediagate.ErrorCode(err) != mediagate.EFORBIDDEN {
		t.Fatalf("origin accepted an edge-minted URL: %v", err)
	}
	if _, err := edge.Verify("GET", "k", signed(t, origin, g), now); mediagate.ErrorCode(err) != mediagate.EFORBIDDEN {
		t.Fatalf("edge accepted an origin URL: %v", err)
	}
}

func TestURL(t *testing.T) {
	s := urlsign.New(master, "origin")
	u := s.URL("http://127.0.0.1:8080/", urlsign.Grant{Method: "GET", Key: "ab/obj_1", Expires: now})
	if !strings.HasPrefix(u, "http://127.0.0.1:8080/blob/ab/obj_1?") {
		t.Fatalf("url=%s", u)
	}
}

func FuzzVerify(f *testing.F) {
	s := urlsign.New(master, "origin")
	f.Add("GET", "ab/obj_1", s.Query(urlsign.Grant{Method: "GET", Key: "ab/obj_1", Expires: now.Add(time.Hour)}))
	f.Add("PUT", "k", "X-Mg-Expires=1&X-Mg-Max=-1&X-Mg-Part=0&X-Mg-Signature=00")
	f.Fuzz(func(t *testing.T, method, key, rawQuery string) {
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return
		}
		g, err := s.Verify(method, key, q, now)
		if err != nil {
			if mediagate.ErrorCode(err) != mediagate.EFORBIDDEN {
				t.Fatalf("code=%s, want forbidden", mediagate.ErrorCode(err))
			}
			return
		}
		// Anything that verifies must be exactly what the signer would sign
		// (hex digits of the signature may come in either case).
		q.Set("X-Mg-Signature", strings.ToLower(q.Get("X-Mg-Signature")))
		for k := range q {
			if !strings.HasPrefix(k, "X-Mg-") {
				q.Del(k)
			}
		}
		if got := s.Query(g); got != q.Encode() {
			t.Fatalf("verified query %q re-signs as %q", q.Encode(), got)
		}
	})
}

func TestVerifyQuery(t *testing.T) {
	s := urlsign.New(master, "origin")
	g := urlsign.Grant{Method: "GET", Key: "k", Expires: now.Add(time.Hour), Filename: "a b&c=d.png", AccountID: "acct_1"}
	raw := s.Query(g)
	// Other parameters anywhere, and the signed ones in any order, verify.
	q := signed(t, s, g)
	for _, rq := range []string{raw, "download=1&" + raw + "&x=%zz", "X-Mg-Name=" + url.QueryEscape(g.Filename) + "&" + strings.Replace(q.Encode(), "X-Mg-Name=a+b%26c%3Dd.png&", "", 1)} {
		got, err := s.VerifyQuery("GET", "k", rq, now)
		if err != nil || got.Filename != g.Filename {
			t.Fatalf("VerifyQuery(%q)=%+v, %v; want the grant", rq, got, err)
		}
	}
	for _, rq := range []string{
		raw + "&X-Mg-Account=acct_2",                           // repeated
		raw + "&X%2DMg%2DAccount=acct_2",                       // repeated, escaped name
		strings.Replace(raw, "acct_1", "acct_2", 1),            // altered
		strings.Replace(raw, "X-Mg-Name=", "X-Mg-Name=%zz", 1), // does not unescape
	} {
		if _, err := s.VerifyQuery("GET", "k", rq, now); mediagate.ErrorCode(err) != mediagate.EFORBIDDEN {
			t.Fatalf("VerifyQuery(%q)=%v, want %s", rq, err, mediagate.EFORBIDDEN)
		}
	}
}
