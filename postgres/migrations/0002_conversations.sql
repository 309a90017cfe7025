-- Conversations, their messages, ownership history and the assistant's
-- decisions (conversation.Store).

CREATE TABLE conversations (
    id                bigserial PRIMARY KEY,
    channel           text        NOT NULL CHECK (channel <> ''),
    customer_id       text        NOT NULL CHECK (customer_id <> ''),
    state             text        NOT NULL CHECK (state IN ('bot', 'queued', 'agent', 'resolved')),
    -- '' rather than NULL outside the agent state, so that the CHECK below
    -- reads as the rule it is: an agent id exactly while an agent owns it.
    agent_id          text        NOT NULL DEFAULT '',
    language          text        NOT NULL DEFAULT '',
    awaiting_feedback boolean     NOT NULL DEFAULT false,
    failures          integer     NOT NULL DEFAULT 0 CHECK (failures >= 0),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CHECK ((state = 'agent') = (agent_id <> ''))
);

-- A customer's latest conversation on a channel is the one with the highest
-- id: Receive reads it backwards from this index on every inbound message.
CREATE INDEX conversations_customer_idx ON conversations (channel, customer_id, id);

CREATE TABLE messages (
    id                 bigserial   PRIMARY KEY,
    conversation_id    bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    -- The conversation's channel, copied so that one index can make channel
    -- message ids unique per channel.
    channel            text        NOT NULL,
    role               text        NOT NULL CHECK (role IN ('customer', 'assistant', 'agent', 'system')),
    text               text        NOT NULL,
    -- NULL when the channel gave no id: such messages are never deduplicated.
    channel_message_id text,
    agent_id           text        NOT NULL DEFAULT '',
    created_at         timestamptz NOT NULL,
    -- Serves Messages (the last N by id) and is what decisions refer to, so
    -- that a decision can only be about a message of its own conversation.
    UNIQUE (conversation_id, id)
);

-- Redeliveries are at least once: Receive inserts with ON CONFLICT DO NOTHING
-- against this index, which makes the duplicate check and the insert one
-- atomic step.
CREATE UNIQUE INDEX messages_channel_message_idx ON messages (channel, channel_message_id)
    WHERE channel_message_id IS NOT NULL;

CREATE TABLE transitions (
    id              bigserial   PRIMARY KEY,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    from_state      text        NOT NULL,
    to_state        text        NOT NULL,
    actor           text        NOT NULL CHECK (actor <> ''),
    reason          text        NOT NULL,
    at              timestamptz NOT NULL
);

CREATE INDEX transitions_conversation_idx ON transitions (conversation_id, id);

CREATE TABLE decisions (
    id              bigserial        PRIMARY KEY,
    conversation_id bigint           NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      bigint,
    action          text             NOT NULL CHECK (action <> ''),
    reason          text             NOT NULL,
    intent          text             NOT NULL,
    confidence      double precision NOT NULL,
    sources         text[]           NOT NULL,
    -- jsonb so that analytics can query inside traces; it normalises spacing
    -- and key order, which is why traces read back as equal JSON rather than
    -- the same bytes.
    trace           jsonb,
    created_at      timestamptz      NOT NULL,
    FOREIGN KEY (conversation_id, message_id) REFERENCES messages (conversation_id, id) ON DELETE CASCADE
);

CREATE INDEX decisions_conversation_idx ON decisions (conversation_id, id);
