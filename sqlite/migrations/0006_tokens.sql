-- API tokens (auth.Store). Mirrors the PostgreSQL schema: only the SHA-256
-- digest of a token is kept, looked up by equality; RFC 3339 text times.

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL CHECK (name <> ''),
    role       TEXT    NOT NULL CHECK (role IN ('agent', 'editor', 'admin')),
    digest     BLOB    NOT NULL UNIQUE CHECK (length(digest) = 32),
    created_at TEXT    NOT NULL,
    revoked_at TEXT
);
