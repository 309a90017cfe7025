package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/handoff"
)

var _ handoff.DraftStore = (*DB)(nil)

const draftColumns = `id, title, body, coalesce(ticket_id, 0), question, language, status, author, approver, article_id, created_at, updated_at`

func scanDraft(r pgx.Row) (handoff.Draft, error) {
	var (
		d      handoff.Draft
		status string
	)
	err := r.Scan(&d.ID, &d.Title, &d.Body, &d.TicketID, &d.Question, &d.Language, &status, &d.Author, &d.Approver,
		&d.ArticleID, &d.CreatedAt, &d.UpdatedAt)
	d.Status = handoff.DraftStatus(status)
	return d, err
}

func collectDraft(row pgx.CollectableRow) (handoff.Draft, error) { return scanDraft(row) }

// SaveDraft stores a new draft; see handoff.DraftStore. An unknown ticket is
// relais.ErrConflict (the foreign key).
func (d *DB) SaveDraft(ctx context.Context, dr handoff.Draft) (handoff.Draft, error) {
	const op = "save draft"
	if err := handoff.ValidateDraft(dr); err != nil {
		return handoff.Draft{}, fmt.Errorf("%s: %w", op, err)
	}
	var ticket *int64
	if dr.TicketID != 0 {
		ticket = &dr.TicketID
	}
	now := d.now()
	stored, err := scanDraft(d.pool.QueryRow(ctx, `INSERT INTO knowledge_drafts
    (title, body, ticket_id, question, language, status, author, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7) RETURNING `+draftColumns,
		dr.Title, dr.Body, ticket, dr.Question, dr.Language, dr.Author, now))
	if err != nil {
		return handoff.Draft{}, dbError(op, err)
	}
	return stored, nil
}

// Draft returns one draft; relais.ErrNotFound if none.
func (d *DB) Draft(ctx context.Context, id int64) (handoff.Draft, error) {
	dr, err := scanDraft(d.pool.QueryRow(ctx, `SELECT `+draftColumns+` FROM knowledge_drafts WHERE id = $1`, id))
	if err != nil {
		return handoff.Draft{}, dbError(fmt.Sprintf("draft %d", id), err)
	}
	return dr, nil
}

// Drafts lists drafts by status, oldest first; see handoff.DraftStore.
func (d *DB) Drafts(ctx context.Context, status handoff.DraftStatus) ([]handoff.Draft, error) {
	const op = "list drafts"
	if status != "" && !status.Valid() {
		return nil, fmt.Errorf("%s: unknown status %q: %w", op, status, relais.ErrInvalid)
	}
	rows, err := d.pool.Query(ctx, `SELECT `+draftColumns+` FROM knowledge_drafts
WHERE $1 = '' OR status = $1 ORDER BY id`, string(status))
	if err != nil {
		return nil, dbError(op, err)
	}
	ds, err := pgx.CollectRows(rows, collectDraft)
	if err != nil {
		return nil, dbError(op, err)
	}
	return ds, nil
}

// DecideDraft approves or rejects a pending draft; see handoff.DraftStore.
func (d *DB) DecideDraft(ctx context.Context, id int64, status handoff.DraftStatus, approver, articleID string) (handoff.Draft, error) {
	op := fmt.Sprintf("%s draft %d", status, id)
	if err := handoff.ValidateDecision(status, approver); err != nil {
		return handoff.Draft{}, fmt.Errorf("%s: %w", op, err)
	}
	dr, err := scanDraft(d.pool.QueryRow(ctx, `UPDATE knowledge_drafts
SET status = $2, approver = $3, article_id = $4, updated_at = $5
WHERE id = $1 AND status = 'draft' RETURNING `+draftColumns, id, string(status), approver, articleID, d.now()))
	if errors.Is(err, pgx.ErrNoRows) {
		cur, err := d.Draft(ctx, id)
		if err != nil {
			return handoff.Draft{}, fmt.Errorf("%s: %w", op, err)
		}
		return handoff.Draft{}, fmt.Errorf("%s: it is %s: %w", op, cur.Status, relais.ErrConflict)
	}
	if err != nil {
		return handoff.Draft{}, dbError(op, err)
	}
	return dr, nil
}
