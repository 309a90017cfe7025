package storetest

import (
	"testing"
	"time"

	"github.com/relais-ai/relais/knowledge"
)

// CheckCalibrationNewestByID checks that the current calibration is the one
// saved last, not the one with the latest CreatedAt: a clock that steps back
// must not bring an older calibration back. RunExamples cannot set a store's
// clock; setClock installs one on the empty store s before anything is
// written.
func CheckCalibrationNewestByID(t *testing.T, s knowledge.ExampleStore, setClock func(now func() time.Time)) {
	t.Helper()
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	setClock(func() time.Time { return clock })
	if err := s.SaveCalibration(t.Context(), knowledge.Calibration{Method: "first"}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(-time.Hour)
	if err := s.SaveCalibration(t.Context(), knowledge.Calibration{Method: "second"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Calibration(t.Context())
	if err != nil || c.Method != "second" || !c.CreatedAt.Equal(clock) {
		t.Errorf("Calibration = %+v, %v; want the second, created at %v", c, err, clock)
	}
}
