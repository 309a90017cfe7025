package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/server"
)

// recalibrator runs the calibrations editors start from the knowledge
// console (server.Recalibrator), one at a time, as one of serve's
// background services: a calibration outlives the request that asks for
// it, and stops with serve.
type recalibrator struct {
	// calibrate estimates and stores a calibration (calibrate in app.go).
	calibrate func(ctx context.Context, progress func(done, total int)) (articlemodel.CalibrationResult, error)
	now       func() time.Time
	log       *slog.Logger

	// requests wakes Run; it holds one at most, and Recalibrate refuses a
	// second while the first runs.
	requests chan struct{}
	mu       sync.Mutex
	run      server.CalibrationRun
}

var _ server.Recalibrator = (*recalibrator)(nil)

func newRecalibrator(calibrate func(context.Context, func(int, int)) (articlemodel.CalibrationResult, error), log *slog.Logger) *recalibrator {
	return &recalibrator{calibrate: calibrate, now: time.Now, log: log, requests: make(chan struct{}, 1)}
}

// Recalibrate asks Run for a calibration; relais.ErrConflict while one runs.
func (r *recalibrator) Recalibrate() (server.CalibrationRun, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.run.Running {
		return r.run, fmt.Errorf("a calibration started at %s is still running: %w", r.run.StartedAt.Format(time.TimeOnly), relais.ErrConflict)
	}
	r.run = server.CalibrationRun{Running: true, StartedAt: r.now()}
	r.requests <- struct{}{} // never blocks: Running was false, so Run took the last one
	return r.run, nil
}

// LastRun is the running calibration or the last one.
func (r *recalibrator) LastRun() server.CalibrationRun {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.run
}

// Run calibrates on every request until ctx ends. A calibration cut short
// by the end of serve is not stored (Calibrate returns ctx's error first).
func (r *recalibrator) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.requests:
		}
		cal, err := r.calibrate(ctx, func(done, total int) {
			r.mu.Lock()
			r.run.Done, r.run.Total = done, total
			r.mu.Unlock()
		})
		r.mu.Lock()
		r.run.Running, r.run.FinishedAt = false, r.now()
		switch {
		case errors.Is(err, articlemodel.ErrTooFewExamples):
			r.run.TooFew = true
		case err != nil:
			r.run.Error = err.Error()
		}
		r.mu.Unlock()
		switch {
		case err == nil:
			r.log.InfoContext(ctx, "recalibrated from the console", "threshold", cal.Threshold, "samples", cal.Samples,
				"estimated_resolution", cal.EstimatedResolution, "estimated_wrong_rate", cal.EstimatedWrongRate)
		case r.run.TooFew:
			r.log.InfoContext(ctx, "recalibration from the console: too few examples; the default threshold stays")
		default:
			r.log.ErrorContext(ctx, "recalibration from the console failed", "error", err)
		}
	}
}
