package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/relais-ai/relais/handoff"
)

var _ handoff.PresenceStore = (*DB)(nil)

// SetPresence records agentID's status; see handoff.PresenceStore.
func (db *DB) SetPresence(ctx context.Context, agentID string, status handoff.PresenceStatus) (handoff.Presence, error) {
	if err := handoff.ValidatePresence(agentID, status); err != nil {
		return handoff.Presence{}, err
	}
	p := handoff.Presence{AgentID: agentID, Status: status, SeenAt: db.now()}
	err := db.write(ctx, "set presence of "+agentID, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_presence (agent_id, status, seen_at) VALUES (?, ?, ?)
ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, seen_at = excluded.seen_at`,
			p.AgentID, string(p.Status), formatTime(p.SeenAt))
		return err
	})
	if err != nil {
		return handoff.Presence{}, err
	}
	return p, nil
}

// Presences lists the agents seen at or after since; see
// handoff.PresenceStore.
func (db *DB) Presences(ctx context.Context, since time.Time) ([]handoff.Presence, error) {
	out, err := collectRows(ctx, db.reader, func(r rowScanner) (handoff.Presence, error) {
		var p handoff.Presence
		var status, seen string
		if err := r.Scan(&p.AgentID, &status, &seen); err != nil {
			return p, err
		}
		p.Status = handoff.PresenceStatus(status)
		t, err := time.Parse(timeLayout, seen)
		if err != nil {
			return p, fmt.Errorf("presence seen at %q: %w", seen, err)
		}
		p.SeenAt = t
		return p, nil
	}, `SELECT agent_id, status, seen_at FROM agent_presence WHERE seen_at >= ? ORDER BY agent_id`, formatTime(since))
	return out, wrapErr("list presences", err)
}
