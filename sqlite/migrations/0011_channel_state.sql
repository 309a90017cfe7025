-- What channels tell Relais beyond message texts: customers, the media of
-- customer messages, the channel's id of every sent message and delivery
-- statuses. Mirrors the PostgreSQL migration of the same number, which
-- explains each table.
CREATE TABLE customers (
    channel            TEXT    NOT NULL,
    customer_id        TEXT    NOT NULL,
    phone              TEXT,
    last_inbound_at    TEXT    NOT NULL,
    opted_out          INTEGER NOT NULL DEFAULT 0,
    consent_at         TEXT    NOT NULL,
    opt_out_message_id INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    PRIMARY KEY (channel, customer_id)
);

CREATE TABLE message_media (
    message_id      INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind <> ''),
    provider_id     TEXT    NOT NULL DEFAULT '',
    mime_type       TEXT    NOT NULL DEFAULT '',
    filename        TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'stored', 'too_large', 'refused', 'not_kept')),
    size            INTEGER NOT NULL DEFAULT 0 CHECK (size >= 0),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error      TEXT    NOT NULL DEFAULT '',
    content         BLOB,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    CHECK ((status = 'stored') = (content IS NOT NULL))
);

CREATE INDEX message_media_conversation ON message_media (conversation_id, message_id);

ALTER TABLE outbox ADD COLUMN provider_message_id TEXT;

CREATE INDEX outbox_provider_message ON outbox (channel, provider_message_id)
    WHERE provider_message_id IS NOT NULL;

CREATE TABLE delivery_statuses (
    channel             TEXT    NOT NULL,
    provider_message_id TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    rank                INTEGER NOT NULL CHECK (rank > 0),
    error_code          INTEGER NOT NULL DEFAULT 0,
    at                  TEXT    NOT NULL,
    PRIMARY KEY (channel, provider_message_id)
);
