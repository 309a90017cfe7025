-- A customer message is pending until its turn (reply, decision, and on a
-- handoff the ticket and notice) is stored, in the same transaction that
-- clears pending_until (conversation.Turns). pending_until is the end of the
-- lease of whoever handles it: once passed, another handler may take the
-- message over. Messages stored before this migration count as handled.
ALTER TABLE messages ADD COLUMN pending_until timestamptz;

-- What ClaimPending scans: the few pending messages, by lease end.
CREATE INDEX messages_pending ON messages (pending_until, id) WHERE pending_until IS NOT NULL;

-- A decision names the reply it sent and the ticket it filed, so that a
-- repeated delivery of a message gets the first outcome back (TurnOf).
ALTER TABLE decisions
    ADD COLUMN reply_id bigint REFERENCES messages (id) ON DELETE SET NULL,
    ADD COLUMN ticket_id bigint REFERENCES handoff_tickets (id) ON DELETE SET NULL;

CREATE INDEX decisions_message ON decisions (message_id, id) WHERE message_id IS NOT NULL;
