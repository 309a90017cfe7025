package handoff

import (
	"fmt"
	"slices"
	"time"

	"github.com/relais-ai/relais"
)

// RecentClaims is how many of a queue's latest claimed tickets the
// expected wait is drawn from: enough that one slow claim does not set it,
// few enough to follow the day's pace.
const RecentClaims = 20

// QueueLoad is what a queue says about the wait ahead of a new ticket.
type QueueLoad struct {
	// Waiting counts the queue's queued tickets.
	Waiting int
	// ClaimTimes are how long each of the queue's latest claimed tickets
	// waited from being filed to its first claim, newest ticket first.
	ClaimTimes []time.Duration
	// AgentsOnline counts the agents who reported themselves online within
	// PresenceTTL; 0 when none did or presence is not kept.
	AgentsOnline int
}

// UnmeasuredClaimTime is the wait per ticket ahead, for each agent online,
// told while a queue has no claim on record: agents who are at work pick a
// new ticket up within minutes, far sooner than the SLA promises.
const UnmeasuredClaimTime = 5 * time.Minute

// ValidateRecent checks the n of Store.QueueLoad: relais.ErrInvalid unless
// 1 <= n <= MaxLimit.
func ValidateRecent(n int) error {
	if n < 1 || n > MaxLimit {
		return fmt.Errorf("recent claims %d: want 1 to %d: %w", n, MaxLimit, relais.ErrInvalid)
	}
	return nil
}

// ExpectedWait estimates how long a ticket filed now waits for a person:
// the median of the queue's recent claim times for each ticket waiting
// ahead of it and its own, at least a minute, and never more than sla (the
// time until the ticket is due). With no claim in the queue's history it
// is UnmeasuredClaimTime for each of those tickets, shared among the agents
// online, or sla when none is: the promise the team made.
//
// The median, not the mean, so that a ticket forgotten over a lunch break
// does not set the wait of everyone after it. Tickets ahead multiply it:
// a claim time measured with an empty queue says how fast one agent
// picks up one ticket.
func ExpectedWait(l QueueLoad, sla time.Duration) time.Duration {
	var wait time.Duration
	switch {
	case len(l.ClaimTimes) > 0:
		wait = median(l.ClaimTimes) * time.Duration(l.Waiting+1)
	case l.AgentsOnline > 0:
		rounds := (l.Waiting + l.AgentsOnline) / l.AgentsOnline // ceil((waiting + 1) / online)
		wait = UnmeasuredClaimTime * time.Duration(rounds)
	default:
		return sla
	}
	wait = max(wait, time.Minute)
	if sla > 0 {
		wait = min(wait, sla)
	}
	return wait
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
