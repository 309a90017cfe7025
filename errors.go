// Package relais holds what every part of Relais shares: the error taxonomy.
//
// Domain packages wrap these sentinels with the operation that failed
// (fmt.Errorf("save article %q: %w", id, relais.ErrInvalid)); storage
// translates driver errors into them; the HTTP layer maps them to status codes
// in one table. Test with errors.Is.
package relais

import "errors"

var (
	// ErrNotFound: the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input is malformed or breaks a rule; the message says which.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the request contradicts the current state (a duplicate,
	// a transition that is not allowed, a configuration that does not match
	// what is stored).
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: a dependency (database, provider) cannot be reached now;
	// the same call may succeed later.
	ErrUnavailable = errors.New("unavailable")
	// ErrUnauthorized: the caller is not who it needs to be for this.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTooLarge: the input is over a configured size limit.
	ErrTooLarge = errors.New("too large")
)

// Classify returns the error of operation op that failed with cause, a
// dependency's error (a database driver's) that means sentinel. It reads
// "op: <sentinel>" and no more, while errors.Is and errors.As reach both
// sentinel and cause. The cause's text stays out because errors meaning
// ErrNotFound, ErrInvalid or ErrConflict reach API clients as they read,
// and a driver's words ("no rows in result set", constraint names,
// SQLSTATEs) tell a client nothing it can act on and a stranger how the
// storage is built. For ErrUnavailable and unclassified failures, which
// clients never read and operators must, wrap the cause with %w instead.
func Classify(op string, sentinel, cause error) error {
	return &classified{msg: op + ": " + sentinel.Error(), sentinel: sentinel, cause: cause}
}

type classified struct {
	msg             string
	sentinel, cause error
}

func (e *classified) Error() string   { return e.msg }
func (e *classified) Unwrap() []error { return []error{e.sentinel, e.cause} }
