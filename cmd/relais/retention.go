package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/relais-ai/relais/conversation"
)

// retentionEvery is how often serve erases what the retention period let
// go. Retention periods are counted in days, so a day late is the most a
// conversation outlives its period by; and the first round runs at start,
// so a server restarted daily still erases.
const retentionEvery = 24 * time.Hour

// closedEraser is what retention needs of conversation.PersonalData.
type closedEraser interface {
	EraseClosedBefore(ctx context.Context, cutoff time.Time, batch int) (conversation.Erased, error)
}

var _ closedEraser = conversation.PersonalData(nil)

// runRetention erases the closed conversations (conversation.ClosedStates)
// whose last activity is older than retention, with everything stored
// about them, once at start and then every interval until ctx ends. A
// retention of 0 keeps everything: it returns at once. Several serve
// processes may run it on one database: each conversation is erased once.
// A failed round is logged and the next one tries again; retention never
// stops serve. It logs counts only: the ids and words of the customers it
// erased must not outlive them in the logs.
func runRetention(ctx context.Context, st closedEraser, every, retention time.Duration, now func() time.Time, log *slog.Logger) {
	if retention <= 0 {
		return
	}
	log.InfoContext(ctx, "closed conversations are erased once inactive for the retention period", "retention", retention, "every", every)
	runEvery(ctx, every, true, func() {
		erased, err := st.EraseClosedBefore(ctx, now().Add(-retention), conversation.EraseBatch)
		switch {
		case err != nil && ctx.Err() != nil:
			// shutting down mid-round: not a failure
		case err != nil:
			// What the committed batches erased is gone all the same.
			log.ErrorContext(ctx, "erase closed conversations past the retention period", "error", err, "erased", erased)
		case erased.Conversations > 0:
			log.InfoContext(ctx, "erased closed conversations past the retention period", "erased", erased)
		}
	})
}
