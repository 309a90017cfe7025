-- The knowledge console reads the decisions of the last days across every
-- conversation (conversation.Insights: the gaps in the knowledge base and
-- each day's outcomes). Without an index on the time that is a scan of
-- every decision ever recorded, which only grows.
CREATE INDEX decisions_created_at_idx ON decisions (created_at);
