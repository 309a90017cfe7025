-- Placeholder for migration 0011, which another branch of the same issue
-- adds; migrations must run without gaps. Drop this file when that
-- branch's 0011 is merged.
SELECT 1;
