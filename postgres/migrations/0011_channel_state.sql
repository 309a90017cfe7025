-- What channels tell Relais beyond message texts (issue 11): customers
-- (their phone when given, when they last wrote, their consent), the media
-- of customer messages, the channel's id of every sent message and the
-- delivery statuses reported for them.

-- One row per customer and channel, written by Receive in the message's
-- transaction. customer_id is the conversations' customer id: on WhatsApp
-- the business-scoped user id when the webhook carries one, else the phone
-- number. phone is NULL when the channel withheld it.
CREATE TABLE customers (
    channel            text        NOT NULL,
    customer_id        text        NOT NULL,
    phone              text,
    last_inbound_at    timestamptz NOT NULL,
    opted_out          boolean     NOT NULL DEFAULT false,
    consent_at         timestamptz NOT NULL,
    -- The message that opted out, while opted_out; its turn's reply is the
    -- acknowledgment, the one message an opted-out customer is sent.
    opt_out_message_id bigint      REFERENCES messages (id) ON DELETE SET NULL,
    PRIMARY KEY (channel, customer_id)
);

-- The media of a customer message: its kind and the channel's media id,
-- stored by Receive; the content of a photo or a document stored later by
-- the channel's worker, at most the configured size.
CREATE TABLE message_media (
    message_id      bigint      PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind            text        NOT NULL CHECK (kind <> ''),
    provider_id     text        NOT NULL DEFAULT '',
    mime_type       text        NOT NULL DEFAULT '',
    filename        text        NOT NULL DEFAULT '',
    status          text        NOT NULL CHECK (status IN ('pending', 'stored', 'too_large', 'refused', 'not_kept')),
    size            bigint      NOT NULL DEFAULT 0 CHECK (size >= 0),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      text        NOT NULL DEFAULT '',
    content         bytea,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    CHECK ((status = 'stored') = (content IS NOT NULL))
);

CREATE INDEX message_media_conversation_idx ON message_media (conversation_id, message_id);

-- The channel's id of a sent message (a WhatsApp wamid), which delivery
-- statuses name.
ALTER TABLE outbox ADD COLUMN provider_message_id text;

CREATE INDEX outbox_provider_message_idx ON outbox (channel, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

-- The latest delivery status of each sent message, keyed on the channel's
-- id rather than on the outbox row: a status may arrive before the sender
-- has recorded the id, and is joined to its message when read.
CREATE TABLE delivery_statuses (
    channel             text        NOT NULL,
    provider_message_id text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    -- conversation.DeliveryRank of status: a status never replaces one of
    -- higher rank (statuses arrive out of order).
    rank                integer     NOT NULL CHECK (rank > 0),
    error_code          integer     NOT NULL DEFAULT 0,
    at                  timestamptz NOT NULL,
    PRIMARY KEY (channel, provider_message_id)
);
