package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
)

var _ handoff.DraftStore = (*DB)(nil)

const draftColumns = `id, title, body, coalesce(ticket_id, 0), question, language, status, author, approver, article_id, created_at, updated_at`

func scanDraft(r rowScanner) (handoff.Draft, error) {
	var (
		d                        handoff.Draft
		status, created, updated string
	)
	if err := r.Scan(&d.ID, &d.Title, &d.Body, &d.TicketID, &d.Question, &d.Language, &status, &d.Author, &d.Approver,
		&d.ArticleID, &created, &updated); err != nil {
		return handoff.Draft{}, err
	}
	d.Status = handoff.DraftStatus(status)
	var err error
	if d.CreatedAt, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return handoff.Draft{}, fmt.Errorf("draft %d created_at: %w", d.ID, err)
	}
	if d.UpdatedAt, err = time.Parse(time.RFC3339Nano, updated); err != nil {
		return handoff.Draft{}, fmt.Errorf("draft %d updated_at: %w", d.ID, err)
	}
	return d, nil
}

// SaveDraft stores a new draft; see handoff.DraftStore. An unknown ticket is
// relais.ErrConflict (the foreign key).
func (db *DB) SaveDraft(ctx context.Context, dr handoff.Draft) (handoff.Draft, error) {
	const op = "save draft"
	if err := handoff.ValidateDraft(dr); err != nil {
		return handoff.Draft{}, fmt.Errorf("%s: %w", op, err)
	}
	var ticket any
	if dr.TicketID != 0 {
		ticket = dr.TicketID
	}
	var stored handoff.Draft
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := formatTime(db.now())
		var err error
		stored, err = scanDraft(tx.QueryRowContext(ctx, `INSERT INTO knowledge_drafts
    (title, body, ticket_id, question, language, status, author, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 'draft', ?, ?, ?) RETURNING `+draftColumns,
			dr.Title, dr.Body, ticket, dr.Question, dr.Language, dr.Author, now, now))
		return err
	})
	if err != nil {
		return handoff.Draft{}, err
	}
	return stored, nil
}

// Draft returns one draft; relais.ErrNotFound if none.
func (db *DB) Draft(ctx context.Context, id int64) (handoff.Draft, error) {
	op := fmt.Sprintf("draft %d", id)
	dr, err := scanDraft(db.reader.QueryRowContext(ctx, `SELECT `+draftColumns+` FROM knowledge_drafts WHERE id = ?`, id))
	if err != nil {
		return handoff.Draft{}, rowErr(op, err)
	}
	return dr, nil
}

// Drafts lists drafts by status, oldest first; see handoff.DraftStore.
func (db *DB) Drafts(ctx context.Context, status handoff.DraftStatus) ([]handoff.Draft, error) {
	const op = "list drafts"
	if status != "" && !status.Valid() {
		return nil, fmt.Errorf("%s: unknown status %q: %w", op, status, relais.ErrInvalid)
	}
	ds, err := collectRows(ctx, db.reader, scanDraft, `SELECT `+draftColumns+` FROM knowledge_drafts
WHERE ?1 = '' OR status = ?1 ORDER BY id`, string(status))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return ds, nil
}

// DecideDraft approves or rejects a pending draft; see handoff.DraftStore.
func (db *DB) DecideDraft(ctx context.Context, id int64, status handoff.DraftStatus, approver, articleID string) (handoff.Draft, error) {
	op := fmt.Sprintf("%s draft %d", status, id)
	if err := handoff.ValidateDecision(status, approver); err != nil {
		return handoff.Draft{}, fmt.Errorf("%s: %w", op, err)
	}
	var dr handoff.Draft
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		dr, err = scanDraft(tx.QueryRowContext(ctx, `UPDATE knowledge_drafts
SET status = ?, approver = ?, article_id = ?, updated_at = ?
WHERE id = ? AND status = 'draft' RETURNING `+draftColumns, string(status), approver, articleID, formatTime(db.now()), id))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var cur string
		switch err := tx.QueryRowContext(ctx, `SELECT status FROM knowledge_drafts WHERE id = ?`, id).Scan(&cur); {
		case errors.Is(err, sql.ErrNoRows):
			return relais.ErrNotFound
		case err != nil:
			return err
		}
		return fmt.Errorf("it is %s: %w", cur, relais.ErrConflict)
	})
	if err != nil {
		return handoff.Draft{}, err
	}
	return dr, nil
}
