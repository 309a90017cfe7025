package migrations

import (
	"errors"
	"fmt"
	"testing"

	"github.com/relais-ai/relais"
)

func TestCheckSequence(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		versions []int
		valid    bool
	}{
		{nil, true},
		{[]int{1}, true},
		{[]int{1, 2, 3}, true},
		{[]int{2}, false},
		{[]int{1, 3}, false},
		{[]int{1, 1, 2}, false},
		{[]int{0, 1}, false},
	} {
		err := CheckSequence(tt.versions, func(i int) string { return fmt.Sprint(tt.versions[i]) })
		if tt.valid != (err == nil) || (err != nil && !errors.Is(err, relais.ErrInvalid)) {
			t.Errorf("CheckSequence(%v) = %v, want valid %v", tt.versions, err, tt.valid)
		}
	}
}
