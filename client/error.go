package client

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"

	"mediagate/apiv1"
)

// Error is an error answer of the server (or of a signed blob URL): an RFC 9457
// problem body, or for an answer that is not one, its status and the start of
// its body.
type Error struct {
	Status    int    // the HTTP status
	Code      string // the stable machine code ("not_found", "verification_failed", …); "" if the answer had none
	Title     string // the status's title
	Detail    string // what went wrong, for people
	Type      string // the problem type URI
	RequestID string // the server's request id, to quote to its operator
	// Details are the problem's extension members: for insufficient_credit,
	// "needed" and "available" (JSON numbers, as float64).
	Details map[string]any
}

// Error returns "code: detail", or for an answer without a problem body
// "HTTP status title: detail".
func (e *Error) Error() string {
	detail := e.Detail
	if detail == "" {
		detail = e.Title
	}
	if e.Code != "" {
		if detail == "" {
			return e.Code
		}
		return e.Code + ": " + detail
	}
	s := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if detail != "" && detail != http.StatusText(e.Status) {
		s += ": " + detail
	}
	return s
}

// IsCode reports whether err is, or wraps, an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// responseError reads an error answer into an *Error and closes its body.
func responseError(resp *http.Response) error {
	defer resp.Body.Close()
	e := &Error{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode), RequestID: resp.Header.Get("X-Request-Id")}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p apiv1.Problem
		if json.Unmarshal(body, &p) == nil && (p.Code != "" || p.Detail != "" || p.Title != "") {
			e.Code, e.Detail, e.Type = p.Code, p.Detail, p.Type
			if p.Title != "" {
				e.Title = p.Title
			}
			if p.RequestID != "" {
				e.RequestID = p.RequestID
			}
			var members map[string]any
			if json.Unmarshal(body, &members) == nil {
				for _, std := range []string{"type", "title", "status", "detail", "code", "instance", "request_id"} {
					delete(members, std)
				}
				if len(members) > 0 {
					e.Details = members
				}
			}
			return e
		}
	}
	if mt == "application/xml" || mt == "text/xml" {
		// An object store's own answer (S3: <Error><Code>…</Code><Message>…</Message></Error>).
		var x struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		}
		if xml.Unmarshal(body, &x) == nil && x.Code != "" {
			e.Detail = snippet([]byte(x.Code + ": " + x.Message))
			return e
		}
	}
	e.Detail = snippet(body)
	return e
}

// snippet is the first line of a non-problem error body, printable and short,
// so that an HTML error page of a proxy still gives a one-line message.
func snippet(body []byte) string {
	s := strings.TrimSpace(string(body))
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return -1
		}
		return r
	}, s)
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
