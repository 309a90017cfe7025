package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant/articlemodel"
)

// TestRecalibrator: a calibration asked for runs in the background with
// its progress reported, a second is refused while it runs, and the run
// tells a failure from too few examples.
func TestRecalibrator(t *testing.T) {
	t.Parallel()
	release := make(chan error)
	r := newRecalibrator(func(ctx context.Context, progress func(done, total int)) (articlemodel.CalibrationResult, error) {
		progress(3, 10)
		return articlemodel.CalibrationResult{}, <-release
	}, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()

	wait := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: last run %+v", what, r.LastRun())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for _, tt := range []struct {
		name   string
		result error
		check  func(run bool, tooFew bool, msg string) bool
	}{
		{"success", nil, func(_, tooFew bool, msg string) bool { return !tooFew && msg == "" }},
		{"too few examples", articlemodel.ErrTooFewExamples, func(_, tooFew bool, msg string) bool { return tooFew && msg == "" }},
		{"failure", errors.New("store down"), func(_, tooFew bool, msg string) bool { return !tooFew && msg == "store down" }},
	} {
		run, err := r.Recalibrate()
		if err != nil || !run.Running || run.StartedAt.IsZero() {
			t.Fatalf("%s: Recalibrate = %+v, %v", tt.name, run, err)
		}
		wait(tt.name+": progress", func() bool { return r.LastRun().Done == 3 })
		if _, err := r.Recalibrate(); !errors.Is(err, relais.ErrConflict) {
			t.Errorf("%s: a second Recalibrate while one runs: %v, want ErrConflict", tt.name, err)
		}
		release <- tt.result
		wait(tt.name+": the end", func() bool { return !r.LastRun().Running })
		last := r.LastRun()
		if last.FinishedAt.IsZero() || !tt.check(last.Running, last.TooFew, last.Error) {
			t.Errorf("%s: last run %+v", tt.name, last)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v after its context ended", err)
	}
}
