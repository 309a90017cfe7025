package main

import (
	"context"
	"time"
)

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
