-- The handoff queue (handoff.Store). Mirrors the PostgreSQL schema; the
-- differences are SQLite's: a JSON array for the suggested articles, RFC 3339
-- text timestamps (fixed width, so text order is time order). Claims need no
-- row locks here: every claim runs in a write transaction, and SQLite has one
-- writer at a time.

CREATE TABLE handoff_tickets (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    queue            TEXT    NOT NULL CHECK (queue <> ''),
    priority         INTEGER NOT NULL,
    reason           TEXT    NOT NULL CHECK (reason <> ''),
    intent           TEXT    NOT NULL DEFAULT '',
    topic            TEXT    NOT NULL DEFAULT '',
    summary          TEXT    NOT NULL DEFAULT '',
    articles         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(articles)),
    state            TEXT    NOT NULL CHECK (state IN ('queued', 'claimed', 'resolved', 'released')),
    -- '' while queued; the holder while claimed; who closed it afterwards.
    agent_id         TEXT    NOT NULL DEFAULT '',
    claim_expires_at TEXT,
    due_at           TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    closed_at        TEXT,
    CHECK (state <> 'queued' OR agent_id = ''),
    CHECK ((state = 'claimed') = (agent_id <> '' AND claim_expires_at IS NOT NULL)),
    CHECK ((state IN ('resolved', 'released')) = (closed_at IS NOT NULL))
);

-- What ClaimNext reads: waiting tickets in claim order, across the queues an
-- agent serves.
CREATE INDEX handoff_tickets_waiting ON handoff_tickets (priority DESC, created_at, id)
    WHERE state = 'queued';

-- At most one open ticket per conversation.
CREATE UNIQUE INDEX handoff_tickets_open_conversation ON handoff_tickets (conversation_id)
    WHERE state IN ('queued', 'claimed');

-- The reaper's scan: claims by expiry.
CREATE INDEX handoff_tickets_claim_expiry ON handoff_tickets (claim_expires_at)
    WHERE state = 'claimed';

-- A conversation's tickets.
CREATE INDEX handoff_tickets_conversation ON handoff_tickets (conversation_id, id);
