-- Decisions by time, for conversation.Insights. Mirrors the PostgreSQL
-- migration of the same number; see there. created_at is fixed-width RFC
-- 3339 text in UTC, so text order is time order and a range uses the index.
CREATE INDEX decisions_created_at ON decisions (created_at);
