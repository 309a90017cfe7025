-- The outbox by conversation, for the personal-data lifecycle (export and
-- erasure of a customer, retention). Mirrors the PostgreSQL migration of the
-- same number: SQLite's foreign key action (outbox.conversation_id ON
-- DELETE CASCADE) otherwise scans the whole outbox for every conversation it
-- deletes (500 erased conversations took 15 s with a 100,000-row outbox,
-- 47 ms with this index).
CREATE INDEX IF NOT EXISTS outbox_conversation ON outbox (conversation_id);
