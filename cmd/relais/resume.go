package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
)

// resumeEvery is how often serve looks for customer messages left pending:
// their handler crashed, or could not store the outcome (the database went
// away mid-turn). A lease runs a minute; a few seconds more is what a
// customer waits beyond it.
const resumeEvery = 5 * time.Second

// Pending messages are taken over one at a time: each lease runs while its
// message is handled, not while the ones before it in a batch are.

// pendingClaimer is what resuming needs of conversation.Store.
type pendingClaimer interface {
	ClaimPending(ctx context.Context, limit int) ([]conversation.Received, error)
}

// resumer handles a pending message again.
type resumer interface {
	Resume(ctx context.Context, rec conversation.Received) (assistant.Outcome, error)
}

// resumePending handles again, every interval until ctx ends, the pending
// messages whose lease ran out. Several serve processes may do so on one
// database: ClaimPending gives each message to one of them, and a turn is
// stored at most once whoever completes it. A failed round or message is
// logged (ids only) and tried again later; it never stops serve.
func resumePending(ctx context.Context, st pendingClaimer, svc resumer, every time.Duration, log *slog.Logger) {
	runEvery(ctx, every, false, func() {
		for ctx.Err() == nil {
			recs, err := st.ClaimPending(ctx, 1)
			if err != nil {
				if ctx.Err() == nil {
					log.ErrorContext(ctx, "claim pending customer messages", "error", err)
				}
				return
			}
			for _, rec := range recs {
				if _, err := svc.Resume(ctx, rec); err != nil && ctx.Err() == nil {
					log.ErrorContext(ctx, "resume a pending customer message", "message", rec.Message.ID,
						"conversation", rec.Conversation.ID, "error", err)
				}
			}
			if len(recs) == 0 {
				return
			}
		}
	})
}
