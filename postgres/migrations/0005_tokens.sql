-- API tokens (auth.Store). Only the SHA-256 digest of a token is kept: a
-- leaked database does not leak working tokens, and authentication is a
-- lookup by digest, so there is no comparison whose timing could leak one.
-- Revoked tokens stay, for the audit trail of who held which role.

CREATE TABLE api_tokens (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    role       text        NOT NULL CHECK (role IN ('agent', 'editor', 'admin')),
    digest     bytea       NOT NULL UNIQUE CHECK (length(digest) = 32),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
