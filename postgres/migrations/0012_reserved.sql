-- Placeholder for migration 0012, which another branch of the same issue
-- adds; migrations must run without gaps. Drop this file when that
-- branch's 0012 is merged.
SELECT 1;
