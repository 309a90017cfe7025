-- The outbox (conversation.Outbox) and knowledge drafts (knowledge.DraftStore).
--
-- Every non-customer message (assistant reply, handoff notice, agent reply)
-- is queued by a trigger on messages, so whichever code path stores a
-- message queues it in the same transaction, and exactly once: message_id
-- is unique. "api" messages are queued already sent: the API caller got
-- them in the HTTP response. A sender claims due pending rows with FOR
-- UPDATE SKIP LOCKED and pushes next_attempt_at by a lease.

CREATE TABLE outbox (
    id              bigserial   PRIMARY KEY,
    message_id      bigint      NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    conversation_id bigint      NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    channel         text        NOT NULL,
    recipient       text        NOT NULL,
    text            text        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

-- What Pending scans: only the pending rows, in due order. Sent rows are
-- nearly all of the table and never read by the sender.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending';

CREATE FUNCTION outbox_enqueue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role <> 'customer' THEN
        INSERT INTO outbox (message_id, conversation_id, channel, recipient, text, status,
                            next_attempt_at, created_at, sent_at)
        SELECT NEW.id, c.id, c.channel, c.customer_id, NEW.text,
               CASE WHEN c.channel = 'api' THEN 'sent' ELSE 'pending' END,
               NEW.created_at, NEW.created_at,
               CASE WHEN c.channel = 'api' THEN NEW.created_at END
        FROM conversations c WHERE c.id = NEW.conversation_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER messages_outbox AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION outbox_enqueue();

-- Answers agents wrote that the knowledge base lacked, waiting for an
-- editor. An approved draft becomes the article article_id (an external id).
CREATE TABLE knowledge_drafts (
    id          bigserial   PRIMARY KEY,
    title       text        NOT NULL CHECK (title <> ''),
    body        text        NOT NULL CHECK (body <> ''),
    ticket_id   bigint      REFERENCES handoff_tickets (id) ON DELETE SET NULL,
    question    text        NOT NULL DEFAULT '',
    language    text        NOT NULL DEFAULT '',
    status      text        NOT NULL CHECK (status IN ('draft', 'approved', 'rejected')),
    author      text        NOT NULL CHECK (author <> ''),
    -- '' until an editor approves or rejects it.
    approver    text        NOT NULL DEFAULT '',
    article_id  text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CHECK ((status = 'draft') = (approver = ''))
);

CREATE INDEX knowledge_drafts_status ON knowledge_drafts (status, id);
