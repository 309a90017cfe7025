-- Signing keys (auth.KeyStore). Mirrors the PostgreSQL migration of the
-- same number; see there. RFC 3339 text times, fixed width, so that text
-- order is time order.

CREATE TABLE signing_keys (
    purpose    TEXT    NOT NULL CHECK (purpose <> ''),
    generation INTEGER NOT NULL CHECK (generation > 0),
    secret     BLOB    NOT NULL CHECK (length(secret) >= 32),
    created_at TEXT    NOT NULL,
    expires_at TEXT,
    PRIMARY KEY (purpose, generation)
);
