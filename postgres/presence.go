package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/handoff"
)

var _ handoff.PresenceStore = (*DB)(nil)

// SetPresence records agentID's status; see handoff.PresenceStore.
func (d *DB) SetPresence(ctx context.Context, agentID string, status handoff.PresenceStatus) (handoff.Presence, error) {
	if err := handoff.ValidatePresence(agentID, status); err != nil {
		return handoff.Presence{}, err
	}
	p := handoff.Presence{AgentID: agentID, Status: status, SeenAt: d.now()}
	_, err := d.pool.Exec(ctx, `INSERT INTO agent_presence (agent_id, status, seen_at) VALUES ($1, $2, $3)
ON CONFLICT (agent_id) DO UPDATE SET status = excluded.status, seen_at = excluded.seen_at`,
		p.AgentID, string(p.Status), p.SeenAt)
	if err != nil {
		return handoff.Presence{}, dbError("set presence of "+agentID, err)
	}
	return p, nil
}

// Presences lists the agents seen at or after since; see
// handoff.PresenceStore.
func (d *DB) Presences(ctx context.Context, since time.Time) ([]handoff.Presence, error) {
	rows, err := d.pool.Query(ctx, `SELECT agent_id, status, seen_at FROM agent_presence WHERE seen_at >= $1 ORDER BY agent_id`, since)
	if err != nil {
		return nil, dbError("list presences", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (handoff.Presence, error) {
		var p handoff.Presence
		var status string
		err := row.Scan(&p.AgentID, &status, &p.SeenAt)
		p.Status, p.SeenAt = handoff.PresenceStatus(status), p.SeenAt.UTC()
		return p, err
	})
	return out, dbError("list presences", err)
}
