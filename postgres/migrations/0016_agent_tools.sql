-- The agent console's working day: what an agent says of a ticket they
-- resolve, the quick replies (canned answers) and labels admins prepare,
-- and the labels agents put on conversations.

-- The resolution: a note for colleagues (never sent to the customer) and
-- the article that answered, '' for none. Resolved tickets are searched by
-- summary, note and customer id with a substring match: a sequential scan
-- of the resolved tickets, fine for the tens of thousands a team closes in
-- a year; a trigram index is the next step if it is not.
ALTER TABLE handoff_tickets
    ADD COLUMN resolution_note    text NOT NULL DEFAULT '',
    ADD COLUMN resolution_article text NOT NULL DEFAULT '';

CREATE TABLE quick_replies (
    id         bigserial   PRIMARY KEY,
    shortcut   text        NOT NULL UNIQUE CHECK (shortcut <> ''),
    text       text        NOT NULL CHECK (text <> ''),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE labels (
    id         bigserial   PRIMARY KEY,
    name       text        NOT NULL CHECK (name <> ''),
    created_at timestamptz NOT NULL
);

-- One label of a name whatever its case: "VIP" and "vip" are one tag.
CREATE UNIQUE INDEX labels_name_idx ON labels (lower(name));

-- A conversation's labels go with it (a customer's erasure) and with the
-- label (an admin deletes it).
CREATE TABLE conversation_labels (
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    label_id        bigint NOT NULL REFERENCES labels (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, label_id)
);

CREATE INDEX conversation_labels_label_idx ON conversation_labels (label_id);
