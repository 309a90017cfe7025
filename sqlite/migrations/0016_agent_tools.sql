-- The agent console's working day: resolutions, quick replies, labels.
-- Mirrors the PostgreSQL migration of the same number; see there. RFC 3339
-- text times. lower() folds ASCII letters only here, which is what the
-- label names' uniqueness and the ticket search ignore the case of.

ALTER TABLE handoff_tickets ADD COLUMN resolution_note TEXT NOT NULL DEFAULT '';
ALTER TABLE handoff_tickets ADD COLUMN resolution_article TEXT NOT NULL DEFAULT '';

CREATE TABLE quick_replies (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    shortcut   TEXT    NOT NULL UNIQUE CHECK (shortcut <> ''),
    text       TEXT    NOT NULL CHECK (text <> ''),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

CREATE TABLE labels (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL CHECK (name <> ''),
    created_at TEXT    NOT NULL
);

CREATE UNIQUE INDEX labels_name ON labels (lower(name));

CREATE TABLE conversation_labels (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label_id        INTEGER NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, label_id)
);

CREATE INDEX conversation_labels_label ON conversation_labels (label_id);
