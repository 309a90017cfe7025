-- The outbox (conversation.Outbox) and knowledge drafts. Mirrors the
-- PostgreSQL schema: a trigger queues every non-customer message in the
-- transaction that stores it, once (message_id is unique); "api" messages
-- are queued already sent. RFC 3339 text times, fixed width.

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    text            TEXT    NOT NULL,
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';

CREATE TRIGGER messages_outbox AFTER INSERT ON messages
WHEN NEW.role <> 'customer'
BEGIN
    INSERT INTO outbox (message_id, conversation_id, channel, recipient, text, status,
                        next_attempt_at, created_at, sent_at)
    SELECT NEW.id, c.id, c.channel, c.customer_id, NEW.text,
           CASE WHEN c.channel = 'api' THEN 'sent' ELSE 'pending' END,
           NEW.created_at, NEW.created_at,
           CASE WHEN c.channel = 'api' THEN NEW.created_at END
    FROM conversations c WHERE c.id = NEW.conversation_id;
END;

CREATE TABLE knowledge_drafts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL CHECK (title <> ''),
    body        TEXT    NOT NULL CHECK (body <> ''),
    ticket_id   INTEGER REFERENCES handoff_tickets (id) ON DELETE SET NULL,
    question    TEXT    NOT NULL DEFAULT '',
    language    TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL CHECK (status IN ('draft', 'approved', 'rejected')),
    author      TEXT    NOT NULL CHECK (author <> ''),
    approver    TEXT    NOT NULL DEFAULT '',
    article_id  TEXT    NOT NULL DEFAULT '',
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL,
    CHECK ((status = 'draft') = (approver = ''))
);

CREATE INDEX knowledge_drafts_status ON knowledge_drafts (status, id);
