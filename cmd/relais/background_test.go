package main

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blockingService counts its runs and returns only when its context ends.
type blockingService struct {
	started, stopped atomic.Int32
	running          chan struct{} // closed on the first start
	once             sync.Once
}

func newBlockingService() *blockingService { return &blockingService{running: make(chan struct{})} }

func (s *blockingService) Run(ctx context.Context) error {
	s.started.Add(1)
	s.once.Do(func() { close(s.running) })
	<-ctx.Done()
	s.stopped.Add(1)
	return nil
}

func waitRunning(t *testing.T, ss ...*blockingService) {
	t.Helper()
	for i, s := range ss {
		select {
		case <-s.running:
		case <-time.After(10 * time.Second):
			t.Fatalf("service %d never started", i)
		}
	}
}

func TestStartServicesStopsAll(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"stop", "context"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var logs lockedBuffer
			ss := []*blockingService{newBlockingService(), newBlockingService(), newBlockingService()}
			var named []namedService
			for _, s := range ss {
				named = append(named, namedService{"blocking", s})
			}
			stop := startServices(ctx, slog.New(slog.NewTextHandler(&logs, nil)), named...)
			waitRunning(t, ss...)
			if how == "context" {
				cancel()
			}
			stop()
			for i, s := range ss {
				if s.started.Load() != 1 || s.stopped.Load() != 1 {
					t.Errorf("service %d: started %d, stopped %d times; want once each, before stop returns",
						i, s.started.Load(), s.stopped.Load())
				}
			}
			if logs.String() != "" {
				t.Errorf("logs = %q, want none for services stopped by serve", logs.String())
			}
		})
	}
}

func TestStartServicesLogsEarlyStopWithoutRestart(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	var failedRuns atomic.Int32
	failed := make(chan struct{})
	other := newBlockingService()
	stop := startServices(t.Context(), slog.New(slog.NewTextHandler(&logs, nil)),
		namedService{"broken", serviceFunc(func(context.Context) error {
			if failedRuns.Add(1) == 1 {
				defer close(failed)
			}
			return errors.New("no channel configured")
		})},
		namedService{"other", other},
	)
	<-failed
	waitRunning(t, other)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "no channel configured") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if other.stopped.Load() != 0 {
		t.Error("the other service stopped when one failed")
	}
	stop()
	got := logs.String()
	if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "service=broken") || !strings.Contains(got, "no channel configured") {
		t.Errorf("logs = %q; want an error naming the service and its error", got)
	}
	if n := failedRuns.Load(); n != 1 {
		t.Errorf("the failed service ran %d times, want 1 (no restart)", n)
	}
	if other.stopped.Load() != 1 {
		t.Errorf("the other service stopped %d times, want 1", other.stopped.Load())
	}
}

// serve's vector index service loads the index as it starts and says so; a
// load cut short by serve stopping is not reported as a failure.
func TestLoadVectorIndexAtStart(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		dir := t.TempDir()
		writeFile(t, dir, "faq.csv", faqCSV)
		c.mustRun("ingest", dir)
		var logs lockedBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		st, closeStore, err := openStore(t.Context(), c.config(t), log)
		if err != nil {
			t.Fatal(err)
		}
		defer closeStore()
		loadVectorIndex(t.Context(), st, log)
		if !strings.Contains(logs.String(), "vector index ready") {
			t.Errorf("no word of the load at start:\n%s", logs.String())
		}
		// A store of its own, whose index is not loaded yet, so that the
		// load itself is what serve stopping cuts short.
		logs = lockedBuffer{}
		fresh, closeFresh, err := openStore(t.Context(), c.config(t), log)
		if err != nil {
			t.Fatal(err)
		}
		defer closeFresh()
		stopped, cancel := context.WithCancel(t.Context())
		cancel()
		loadVectorIndex(stopped, fresh, log)
		if got := logs.String(); strings.Contains(got, "failed") || strings.Contains(got, "vector index ready") {
			t.Errorf("a load cut short by serve stopping was reported:\n%s", got)
		}
	})
}
