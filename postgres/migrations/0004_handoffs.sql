-- The handoff queue (handoff.Store): one ticket per handoff of a
-- conversation to the people, claimed by agents with FOR UPDATE SKIP LOCKED.

CREATE TABLE handoff_tickets (
    id               bigserial   PRIMARY KEY,
    conversation_id  bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    queue            text        NOT NULL CHECK (queue <> ''),
    priority         integer     NOT NULL,
    reason           text        NOT NULL CHECK (reason <> ''),
    intent           text        NOT NULL DEFAULT '',
    topic            text        NOT NULL DEFAULT '',
    summary          text        NOT NULL DEFAULT '',
    articles         text[]      NOT NULL DEFAULT '{}',
    state            text        NOT NULL CHECK (state IN ('queued', 'claimed', 'resolved', 'released')),
    -- '' while queued; the holder while claimed; who closed it afterwards.
    agent_id         text        NOT NULL DEFAULT '',
    claim_expires_at timestamptz,
    due_at           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    closed_at        timestamptz,
    CHECK (state <> 'queued' OR agent_id = ''),
    CHECK ((state = 'claimed') = (agent_id <> '' AND claim_expires_at IS NOT NULL)),
    CHECK ((state IN ('resolved', 'released')) = (closed_at IS NOT NULL))
);

-- What ClaimNext reads: waiting tickets in claim order, so that the first
-- entry of an agent's queues ends the scan. Queue is not the leading column
-- because an agent usually serves several queues and wants the best ticket
-- across them; partial, so claimed and closed tickets (nearly all of the
-- table after a while) cost the claim nothing.
CREATE INDEX handoff_tickets_waiting_idx ON handoff_tickets (priority DESC, created_at, id)
    WHERE state = 'queued';

-- At most one open ticket per conversation: a second handoff of a
-- conversation that is already waiting or with an agent is a bug, and the
-- index makes it fail instead of queueing the customer twice.
CREATE UNIQUE INDEX handoff_tickets_open_conversation_idx ON handoff_tickets (conversation_id)
    WHERE state IN ('queued', 'claimed');

-- The reaper's scan: claims by expiry.
CREATE INDEX handoff_tickets_claim_expiry_idx ON handoff_tickets (claim_expires_at)
    WHERE state = 'claimed';

-- A conversation's tickets, for its history in the console.
CREATE INDEX handoff_tickets_conversation_idx ON handoff_tickets (conversation_id, id);
