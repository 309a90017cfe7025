-- Signing keys (auth.KeyStore): the HMAC keys of what Relais hands to
-- browsers, such as the web chat's session cookie. Every replica signs and
-- verifies with the same keys, and they survive restarts, so they live
-- here, one series of generations per purpose. The newest generation signs;
-- an older one verifies until expires_at (NULL: no expiry yet), which a
-- rotation sets to its grace period.
--
-- The secret is kept as it is: an HMAC key cannot be hashed and still
-- verify. Whoever reads this table can forge web chat sessions, which gives
-- no more than reading the conversations table next to it.
--
-- The first key of a purpose is generation 1: replicas starting together
-- each insert it with ON CONFLICT DO NOTHING, and all read the one stored.

CREATE TABLE signing_keys (
    purpose    text        NOT NULL CHECK (purpose <> ''),
    generation integer     NOT NULL CHECK (generation > 0),
    secret     bytea       NOT NULL CHECK (length(secret) >= 32),
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (purpose, generation)
);
