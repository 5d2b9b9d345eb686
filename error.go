package mediagate

import (
	"errors"
	"fmt"
)

// Error codes. They are stable: clients match on them, and api maps each to
// one HTTP status.
const (
	ECONFLICT     = "conflict"            // the resource is not in a state that allows the change
	EFORBIDDEN    = "forbidden"           // authenticated, but not allowed (scope, signature)
	EGONE         = "gone"                // existed once, expired since
	EINTERNAL     = "internal"            // a bug or a backend failure; details are logged, not shown
	EINVALID      = "invalid"             // malformed or out-of-range input
	EMISMATCH     = "verification_failed" // uploaded bytes differ from what was declared
	EPAYMENT      = "insufficient_credit" // the account's available credit is short; Details say by how much
	ENOTFOUND     = "not_found"           // absent, or belongs to another account
	ERATELIMIT    = "rate_limited"        // too many requests; retry after the Retry-After header
	ETOOLARGE     = "too_large"           // a body or declared size over its limit
	EUNAUTHORIZED = "unauthorized"        // missing, malformed, expired or revoked credentials
	EUNAVAILABLE  = "unavailable"         // a backend is down; retry later
	EUNSUPPORTED  = "unsupported_type"    // a content type that is not allowed
)

// Error is the one error type of the domain. Its Message is safe to show to the
// caller; anything else is wrapped with fmt.Errorf and answered as EINTERNAL.
type Error struct {
	Code    string
	Message string
	// Details are facts a client can act on, answered as extra members of the
	// problem body: for EPAYMENT, "needed" and "available" in micro-credits.
	Details map[string]any
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("mediagate error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrPayment is the EPAYMENT error of an account that has available
// micro-credits and needed more.
func ErrPayment(needed, available int64) *Error {
	e := Errorf(EPAYMENT, "insufficient credit: %d micro-credits needed, %d available", needed, available)
	e.Details = map[string]any{"needed": needed, "available": available}
	return e
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil and
// EINTERNAL for any other error.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or
// "internal error" for any other error, so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	}
	return "internal error"
}
