-- A customer message is pending until its turn (reply, decision, and on a
-- handoff the ticket and notice) is stored, in the same transaction that
-- clears pending_until (conversation.Turns). Mirrors the PostgreSQL
-- migration of the same number; see there.
ALTER TABLE messages ADD COLUMN pending_until TEXT;

CREATE INDEX messages_pending ON messages (pending_until, id) WHERE pending_until IS NOT NULL;

ALTER TABLE decisions ADD COLUMN reply_id INTEGER REFERENCES messages (id) ON DELETE SET NULL;
ALTER TABLE decisions ADD COLUMN ticket_id INTEGER REFERENCES handoff_tickets (id) ON DELETE SET NULL;

CREATE INDEX decisions_message ON decisions (message_id, id) WHERE message_id IS NOT NULL;
