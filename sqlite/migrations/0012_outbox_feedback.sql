-- Whether an outbound message asks "did this help?", and in which language.
-- Mirrors the PostgreSQL migration of the same number; see there.
ALTER TABLE outbox ADD COLUMN ask_feedback INTEGER NOT NULL DEFAULT 0 CHECK (ask_feedback IN (0, 1));
ALTER TABLE outbox ADD COLUMN language TEXT NOT NULL DEFAULT '';
