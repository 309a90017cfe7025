package testcheck

import (
	"testing"
	"time"
)

type record struct {
	Name  string
	Tags  []string
	At    time.Time
	Later int // a field a hand-written diff could forget
}

func TestDiff(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	a := record{Name: "a", Tags: nil, At: at}
	if d := Diff(a, record{Name: "a", Tags: []string{}, At: at.In(time.FixedZone("x", 3600))}); d != "" {
		t.Errorf("Diff of equal records (nil and empty tags, one instant in two zones):\n%s", d)
	}
	for _, b := range []record{
		{Name: "b", At: at},
		{Name: "a", Tags: []string{"x"}, At: at},
		{Name: "a", At: at.Add(time.Microsecond)},
		{Name: "a", At: at, Later: 1},
	} {
		if Diff(a, b) == "" {
			t.Errorf("Diff(%+v, %+v) found no difference", a, b)
		}
	}
}
