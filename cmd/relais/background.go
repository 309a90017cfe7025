package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// service is one of serve's long-running background tasks: the claim
// reaper, the resumer of pending messages, retention, the embedding probe,
// the outbox dispatcher. Run returns when ctx ends; one that returns
// earlier has stopped for good.
type service interface {
	Run(ctx context.Context) error
}

// serviceFunc makes a function a service.
type serviceFunc func(ctx context.Context) error

// Run calls f.
func (f serviceFunc) Run(ctx context.Context) error { return f(ctx) }

// namedService is a service and the name its logs go by.
type namedService struct {
	name string
	service
}

// startServices runs every service in its own goroutine until ctx ends or
// stop is called; stop cancels them all and waits for every one to return.
//
// A service that returns before then is logged, as an error, and is not
// restarted; the others and serve keep running. Each service's loop
// already survives its own failed rounds (runEvery, the dispatcher), so
// one that returns early has a bug or a bad configuration that a restart
// would only repeat, in a tight loop.
func startServices(ctx context.Context, log *slog.Logger, services ...namedService) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range services {
		wg.Go(func() {
			err := s.Run(ctx)
			if ctx.Err() != nil {
				return
			}
			log.ErrorContext(ctx, "a background service stopped before serve", "service", s.name, "error", err)
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// runEvery calls round every interval until ctx ends, the first time at
// once when now is set: the one loop of serve's background work (the claim
// reaper, the resumer of pending messages, retention). A round must return
// when ctx ends.
func runEvery(ctx context.Context, interval time.Duration, now bool, round func()) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	if now {
		round()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		round()
	}
}
