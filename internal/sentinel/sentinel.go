// Package sentinel holds the one way a package words another package's
// sentinel error in its own terms. Each kind of problem has one sentinel,
// declared by the package that owns the concept (a test refuses an
// exported Err name declared twice); a package that meets the problem in
// its own setting, such as a block missing from a firehose event, says so
// in its own words while errors.Is still matches the owner's sentinel.
package sentinel

// Alias returns an error whose message is msg and which errors.Is matches
// as owner (and whatever owner itself wraps). Declare it once, as a
// package-level value, and wrap it like any sentinel.
func Alias(msg string, owner error) error { return &alias{msg, owner} }

type alias struct {
	msg   string
	owner error
}

func (e *alias) Error() string { return e.msg }
func (e *alias) Unwrap() error { return e.owner }
