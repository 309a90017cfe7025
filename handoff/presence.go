package handoff

import (
	"context"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
)

// PresenceStatus is what an agent tells colleagues and the queue: at work
// (online) or not taking tickets for now (away).
type PresenceStatus string

// The statuses an agent can set.
const (
	Online PresenceStatus = "online"
	Away   PresenceStatus = "away"
)

// Valid returns relais.ErrInvalid for a status other than Online or Away.
func (s PresenceStatus) Valid() error {
	if s != Online && s != Away {
		return fmt.Errorf("presence status %q: want %q or %q: %w", s, Online, Away, relais.ErrInvalid)
	}
	return nil
}

// PresenceTTL is how long an agent counts as present after the console
// last reported: the console reports every PresenceInterval, so a closed
// tab or a lost connection stops counting within a couple of minutes.
const (
	PresenceInterval = 30 * time.Second
	PresenceTTL      = 2 * time.Minute
)

// Presence is an agent's last reported status.
type Presence struct {
	AgentID string         `json:"agent_id"`
	Status  PresenceStatus `json:"status"`
	SeenAt  time.Time      `json:"seen_at"`
}

// PresenceStore keeps the agents' presence, shared by every replica.
type PresenceStore interface {
	// SetPresence records agentID's status as of the store's clock and
	// returns it. relais.ErrInvalid for an empty agent id or an invalid
	// status.
	SetPresence(ctx context.Context, agentID string, status PresenceStatus) (Presence, error)
	// Presences lists the agents last seen at or after since, by agent id.
	Presences(ctx context.Context, since time.Time) ([]Presence, error)
}

// ValidatePresence checks what SetPresence is given.
func ValidatePresence(agentID string, status PresenceStatus) error {
	if agentID == "" {
		return fmt.Errorf("presence: empty agent id: %w", relais.ErrInvalid)
	}
	return status.Valid()
}

// OnlineCount counts the agents of ps who are online.
func OnlineCount(ps []Presence) int {
	n := 0
	for _, p := range ps {
		if p.Status == Online {
			n++
		}
	}
	return n
}
