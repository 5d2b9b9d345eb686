package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"mediagate"
	"mediagate/apiv1"
)

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	mediagate.EINVALID:      http.StatusBadRequest,
	mediagate.EUNAUTHORIZED: http.StatusUnauthorized,
	mediagate.EFORBIDDEN:    http.StatusForbidden,
	mediagate.ENOTFOUND:     http.StatusNotFound,
	mediagate.ECONFLICT:     http.StatusConflict,
	mediagate.EGONE:         http.StatusGone,
	mediagate.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	mediagate.EUNSUPPORTED:  http.StatusUnsupportedMediaType,
	mediagate.EMISMATCH:     http.StatusUnprocessableEntity,
	mediagate.EPAYMENT:      http.StatusPaymentRequired,
	mediagate.ERATELIMIT:    http.StatusTooManyRequests,
	mediagate.EINTERNAL:     http.StatusInternalServerError,
	mediagate.EUNAVAILABLE:  http.StatusServiceUnavailable,
	errMethod:               http.StatusMethodNotAllowed,
}

// errMethod is the code of a request whose method the route does not take; it
// is HTTP's own concern, so it lives here, not in the domain.
const errMethod = "method_not_allowed"

// WriteError answers err as application/problem+json, as every route of
// the API does; for the other HTTP roles of the binary (edges).
func WriteError(w http.ResponseWriter, r *http.Request, err error) { writeError(w, r, err) }

// writeError answers err as application/problem+json. Errors that are not a
// *mediagate.Error are logged with the request and answered 500 "internal error".
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := mediagate.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	var merr *mediagate.Error
	if !errors.As(err, &merr) || status >= 500 {
		logger(r.Context()).Error("request failed", "err", err, "code", code)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="mediagate"`)
	}
	p := apiv1.Problem{
		Type:      "urn:mediagate:problem:" + code,
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    mediagate.ErrorMessage(err),
		Code:      code,
		RequestID: requestID(r.Context()),
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		json.NewEncoder(w).Encode(withDetails(p, merr))
	}
}

// withDetails returns the problem with the error's Details as extension
// members (RFC 9457 §3.2), never overriding a standard member.
func withDetails(p apiv1.Problem, err *mediagate.Error) any {
	if err == nil || len(err.Details) == 0 {
		return p
	}
	b, _ := json.Marshal(p)
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, v := range err.Details {
		if _, taken := m[k]; !taken {
			m[k] = v
		}
	}
	return m
}

// logger returns the request's logger (with its request id) or the default.
func logger(ctx interface{ Value(any) any }) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
