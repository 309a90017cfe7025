-- Conversations, their messages, ownership history and the assistant's
-- decisions (conversation.Store). Mirrors the PostgreSQL schema; the
-- differences are SQLite's: JSON text for sources and traces, 0/1 booleans,
-- RFC 3339 text timestamps.
--
-- Conversation and message ids are AUTOINCREMENT: they are handed out to
-- clients (a web chat keeps its conversation id), so an id must never be
-- reused after a row is deleted, which plain rowids can be.

CREATE TABLE conversations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    channel           TEXT    NOT NULL CHECK (channel <> ''),
    customer_id       TEXT    NOT NULL CHECK (customer_id <> ''),
    state             TEXT    NOT NULL CHECK (state IN ('bot', 'queued', 'agent', 'resolved')),
    -- '' outside the agent state, so that the CHECK below reads as the rule
    -- it is: an agent id exactly while an agent owns it.
    agent_id          TEXT    NOT NULL DEFAULT '',
    language          TEXT    NOT NULL DEFAULT '',
    awaiting_feedback INTEGER NOT NULL DEFAULT 0 CHECK (awaiting_feedback IN (0, 1)),
    failures          INTEGER NOT NULL DEFAULT 0 CHECK (failures >= 0),
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    CHECK ((state = 'agent') = (agent_id <> ''))
);

-- A customer's latest conversation on a channel is the one with the highest
-- id: Receive reads it backwards from this index on every inbound message.
CREATE INDEX conversations_customer ON conversations (channel, customer_id, id);

CREATE TABLE messages (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id    INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The conversation's channel, copied so that one index can make channel
    -- message ids unique per channel.
    channel            TEXT    NOT NULL,
    role               TEXT    NOT NULL CHECK (role IN ('customer', 'assistant', 'agent', 'system')),
    text               TEXT    NOT NULL,
    -- NULL when the channel gave no id: such messages are never deduplicated.
    channel_message_id TEXT,
    agent_id           TEXT    NOT NULL DEFAULT '',
    created_at         TEXT    NOT NULL,
    -- Serves Messages (the last N by id) and is what decisions refer to, so
    -- that a decision can only be about a message of its own conversation.
    UNIQUE (conversation_id, id)
);

-- Receive checks for a redelivery inside its write transaction; this index is
-- what that check reads, and the guarantee behind it.
CREATE UNIQUE INDEX messages_channel_message ON messages (channel, channel_message_id)
    WHERE channel_message_id IS NOT NULL;

CREATE TABLE transitions (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    from_state      TEXT    NOT NULL,
    to_state        TEXT    NOT NULL,
    actor           TEXT    NOT NULL CHECK (actor <> ''),
    reason          TEXT    NOT NULL,
    at              TEXT    NOT NULL
);

CREATE INDEX transitions_conversation ON transitions (conversation_id, id);

CREATE TABLE decisions (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER,
    action          TEXT    NOT NULL CHECK (action <> ''),
    reason          TEXT    NOT NULL,
    intent          TEXT    NOT NULL,
    confidence      REAL    NOT NULL,
    sources         TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(sources)),
    -- Text, not BLOB: json_valid reads a BLOB as SQLite's binary JSONB.
    trace           TEXT    CHECK (trace IS NULL OR json_valid(trace)),
    created_at      TEXT    NOT NULL,
    FOREIGN KEY (conversation_id, message_id) REFERENCES messages (conversation_id, id) ON DELETE CASCADE
);

CREATE INDEX decisions_conversation ON decisions (conversation_id, id);
