// Package migrations holds the numbering rule of the stores' embedded schema
// migrations, so that the PostgreSQL and the embedded store cannot drift
// apart on it: each store reads and runs its own files, and both check
// their numbers here.
package migrations

import (
	"fmt"

	"github.com/relais-ai/relais"
)

// CheckSequence checks the version numbers of a store's migrations, sorted
// in ascending order: they must run 1, 2, 3... without a gap or a repeat, so
// that a mistyped or duplicated number fails at startup rather than a
// change being skipped, or two being applied in an order nobody chose.
// name(i) names the i-th migration in the error, which wraps
// relais.ErrInvalid.
func CheckSequence(versions []int, name func(i int) string) error {
	for i, v := range versions {
		if v != i+1 {
			return fmt.Errorf("migration %s: expected number %d (numbers must run 1, 2, 3... without gaps or repeats): %w",
				name(i), i+1, relais.ErrInvalid)
		}
	}
	return nil
}
