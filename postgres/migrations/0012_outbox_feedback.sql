-- What a channel sender needs to know of an outbound message beyond its
-- text: whether it asks "did this help?" (WhatsApp sends it with Yes/No
-- reply buttons), and the language the question is asked in. Set by
-- CompleteTurn, in the transaction that queues the reply
-- (conversation.Turn.AsksFeedback); every other message keeps the defaults.
ALTER TABLE outbox ADD COLUMN ask_feedback boolean NOT NULL DEFAULT false;
ALTER TABLE outbox ADD COLUMN language text NOT NULL DEFAULT '';
