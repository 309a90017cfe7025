// Package testcheck holds the checks that the contract suites
// (knowledge/storetest, conversation/storetest, handoff/storetest,
// auth/storetest) and the stores' own tests share, so that each is written
// once: an error's kind, a timestamp's window, and whole-value diffs that
// cannot skip a field.
package testcheck

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TimeSlack is how far a stored timestamp may be from the wall clock around
// the call: stores may keep only microseconds, or seconds.
const TimeSlack = time.Second

// WantErr stops the test unless err wraps target; op names the call.
func WantErr(t testing.TB, op string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: error %v, want one wrapping %q", op, err, target)
	}
}

// Within fails the test unless got is set and lies between before and
// after, give or take TimeSlack; name names the timestamp.
func Within(t testing.TB, name string, got, before, after time.Time) {
	t.Helper()
	if got.IsZero() || got.Before(before.Add(-TimeSlack)) || got.After(after.Add(TimeSlack)) {
		t.Errorf("%s = %v, want between %v and %v", name, got, before, after)
	}
}

// Diff compares want and got field by field, every field, and returns
// the differences as (-want +got), or "" when there are none. Times are
// compared as instants (a store may give back another location), and nil
// and empty slices and maps are equal; opts add to these.
func Diff(want, got any, opts ...cmp.Option) string {
	return cmp.Diff(want, got, append([]cmp.Option{cmpopts.EquateApproxTime(0), cmpopts.EquateEmpty()}, opts...)...)
}
