-- Agents' presence (handoff.PresenceStore): each agent's last reported
-- status, which colleagues see and the customer's expected wait counts.
-- One row an agent, overwritten by every report; stale rows are simply
-- older than the presence TTL and ignored.

CREATE TABLE agent_presence (
    agent_id text        PRIMARY KEY CHECK (agent_id <> ''),
    status   text        NOT NULL CHECK (status IN ('online', 'away')),
    seen_at  timestamptz NOT NULL
);
