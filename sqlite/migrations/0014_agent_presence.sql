-- Agents' presence (handoff.PresenceStore). Mirrors the PostgreSQL
-- migration of the same number; see there. RFC 3339 text times, fixed
-- width, so that text order is time order.

CREATE TABLE agent_presence (
    agent_id TEXT PRIMARY KEY CHECK (agent_id <> ''),
    status   TEXT NOT NULL CHECK (status IN ('online', 'away')),
    seen_at  TEXT NOT NULL
);
