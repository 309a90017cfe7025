package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/relais-ai/relais/handoff"
)

// reapEvery is how often serve returns expired claims to the queue. Against
// a claim TTL of minutes, 30 s adds little to a customer's wait, and one
// indexed query per half minute costs the database nothing.
const reapEvery = 30 * time.Second

// claimExpirer is what the reaper needs of handoff.Store.
type claimExpirer interface {
	ExpireClaims(ctx context.Context, now time.Time) (int, error)
}

var _ claimExpirer = handoff.Store(nil)

// reapClaims returns the claims of agents who went away to the queue every
// interval until ctx ends. Several serve processes may reap the same
// database: ExpireClaims returns each ticket exactly once. A failed round
// is logged and the next one tries again; the reaper never stops serve.
func reapClaims(ctx context.Context, st claimExpirer, every time.Duration, now func() time.Time, log *slog.Logger) {
	runEvery(ctx, every, false, func() {
		n, err := st.ExpireClaims(ctx, now())
		switch {
		case err != nil && ctx.Err() != nil:
			// shutting down mid-round: not a failure
		case err != nil:
			log.ErrorContext(ctx, "return expired handoff claims to the queue", "error", err)
		case n > 0:
			log.InfoContext(ctx, "returned expired handoff claims to the queue", "tickets", n)
		}
	})
}
