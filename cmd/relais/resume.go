package main

import (
	"context"
	"log/slog"
	"time"

	"relais/assistant"
	"relais/conversation"
)

// resumeEvery is how often serve looks for customer messages left pending:
// their handler crashed, or could not store the outcome (the database went
// away mid-turn). A lease runs a minute; a few seconds more is what a
// customer waits beyond it.
const resumeEvery = 5 * time.Second

// resumeBatch is how many pending messages one round takes over.
const resumeBatch = 20

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
			recs, err := st.ClaimPending(ctx, resumeBatch)
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
			if len(recs) < resumeBatch {
				return
			}
		}
	})
}
