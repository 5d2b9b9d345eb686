package webhook

import "errors"

// Final reports whether err, from Deliver, is an answer not worth another
// attempt later either: the receiver refused the callback (an answer other
// than 2xx, 408, 429 and 5xx), or its address may not be dialed.
func Final(err error) bool { return errors.Is(err, errFinal) }
