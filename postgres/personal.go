package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

var _ conversation.PersonalData = (*DB)(nil)

// customerConversationIDs selects the ids of customer $1's conversations on
// every channel. The only index on customer_id is conversations_customer_idx
// (channel, customer_id, id), built for Receive, and PostgreSQL 15 cannot
// skip over its leading column. So the query walks the distinct channels
// first, one index probe each (a loose index scan: there are a handful of
// channels), then looks the customer up on each: a few probes instead of
// reading the whole table, and no second index for every write to pay for.
const customerConversationIDs = `
WITH RECURSIVE channels (channel) AS (
    SELECT min(channel) FROM conversations
    UNION ALL
    SELECT (SELECT min(c.channel) FROM conversations c WHERE c.channel > channels.channel)
    FROM channels WHERE channels.channel IS NOT NULL
)
SELECT c.id FROM channels JOIN conversations c ON c.channel = channels.channel AND c.customer_id = $1
ORDER BY c.id`

// ExportCustomer returns everything stored about a customer; see
// conversation.PersonalData. The reads share one REPEATABLE READ
// transaction, so the export is one moment's state even while the customer
// keeps writing.
func (d *DB) ExportCustomer(ctx context.Context, customerID string) (conversation.CustomerData, error) {
	const op = "export customer data"
	if err := conversation.ValidateCustomerID(customerID); err != nil {
		return conversation.CustomerData{}, fmt.Errorf("%s: %w", op, err)
	}
	var recs conversation.CustomerRecords
	var at time.Time
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		at = d.now()
		ids, err := collectIDs(ctx, tx, customerConversationIDs, customerID)
		if err != nil || len(ids) == 0 {
			return err
		}
		recs, err = readCustomerRecords(ctx, tx, ids)
		return err
	})
	if err != nil {
		return conversation.CustomerData{}, dbError(op, err)
	}
	return recs.Data(customerID, at), nil
}

// readCustomerRecords reads conversations ids and what hangs off them, one
// query per table, each served by an index on conversation_id.
func readCustomerRecords(ctx context.Context, tx pgx.Tx, ids []int64) (conversation.CustomerRecords, error) {
	var (
		r   conversation.CustomerRecords
		err error
	)
	if r.Conversations, err = queryAll(ctx, tx, func(row pgx.CollectableRow) (conversation.Conversation, error) {
		return scanConversation(row)
	}, `SELECT `+conversationColumns+` FROM conversations WHERE id = ANY($1)`, ids); err != nil {
		return r, fmt.Errorf("conversations: %w", err)
	}
	if r.Messages, err = queryAll(ctx, tx, collectMessage,
		`SELECT `+messageColumns+` FROM messages m WHERE m.conversation_id = ANY($1)`, ids); err != nil {
		return r, fmt.Errorf("messages: %w", err)
	}
	if r.Transitions, err = queryAll(ctx, tx, func(row pgx.CollectableRow) (conversation.Transition, error) {
		var t conversation.Transition
		var from, to string
		err := row.Scan(&t.ConversationID, &from, &to, &t.Actor, &t.Reason, &t.At)
		t.From, t.To = conversation.State(from), conversation.State(to)
		return t, err
	}, `SELECT conversation_id, from_state, to_state, actor, reason, at
FROM transitions WHERE conversation_id = ANY($1) ORDER BY id`, ids); err != nil {
		return r, fmt.Errorf("transitions: %w", err)
	}
	if r.Decisions, err = queryAll(ctx, tx, collectDecision,
		`SELECT `+decisionColumns+` FROM decisions WHERE conversation_id = ANY($1)`, ids); err != nil {
		return r, fmt.Errorf("decisions: %w", err)
	}
	if r.Outbox, err = queryAll(ctx, tx, collectOutbox,
		`SELECT `+outboxColumns+` FROM outbox WHERE conversation_id = ANY($1)`, ids); err != nil {
		return r, fmt.Errorf("outbox: %w", err)
	}
	tickets, err := queryAll(ctx, tx, collectTicket,
		`SELECT `+ticketColumns+` FROM handoff_tickets WHERE conversation_id = ANY($1)`, ids)
	if err != nil {
		return r, fmt.Errorf("handoff tickets: %w", err)
	}
	for _, t := range tickets {
		r.Handoffs = append(r.Handoffs, handoff.ExportTicket(t))
	}
	// knowledge_drafts has no index on ticket_id: drafts are written by
	// hand, one per resolved ticket at most, and the table stays small.
	drafts, err := queryAll(ctx, tx, collectDraft, `SELECT `+draftColumns+` FROM knowledge_drafts
WHERE ticket_id IN (SELECT id FROM handoff_tickets WHERE conversation_id = ANY($1))`, ids)
	if err != nil {
		return r, fmt.Errorf("knowledge drafts: %w", err)
	}
	for _, dr := range drafts {
		r.Drafts = append(r.Drafts, handoff.ExportDraft(dr))
	}
	return r, nil
}

// EraseCustomer deletes everything stored about a customer in one
// transaction; see conversation.PersonalData. It locks the customer's
// tickets before their conversations, the order every handoff call takes
// them in, so that an agent resolving a ticket at that moment waits for the
// erasure (or the erasure for the agent) instead of deadlocking with it.
func (d *DB) EraseCustomer(ctx context.Context, customerID string) (conversation.Erased, error) {
	const op = "erase customer data"
	if err := conversation.ValidateCustomerID(customerID); err != nil {
		return conversation.Erased{}, fmt.Errorf("%s: %w", op, err)
	}
	var erased conversation.Erased
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// What channels recorded of the customer (their phone, consent).
		if _, err := tx.Exec(ctx, `DELETE FROM customers WHERE customer_id = $1`, customerID); err != nil {
			return err
		}
		ids, err := collectIDs(ctx, tx, customerConversationIDs, customerID)
		if err != nil || len(ids) == 0 {
			return err
		}
		if _, err := collectIDs(ctx, tx, `SELECT id FROM handoff_tickets WHERE conversation_id = ANY($1)
ORDER BY id FOR UPDATE`, ids); err != nil {
			return err
		}
		// Conversations deleted meanwhile drop out here.
		if ids, err = collectIDs(ctx, tx, `SELECT id FROM conversations WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids); err != nil {
			return err
		}
		erased, err = eraseConversations(ctx, tx, ids, d.now())
		return err
	})
	if err != nil {
		return conversation.Erased{}, dbError(op, err)
	}
	if erased.Examples > 0 {
		d.vectors.Invalidate()
	}
	return erased, nil
}

// closedBatch locks up to $3 closed conversations (state in $4, no open
// ticket) with ids above $1 whose last activity is before $2, by id.
// SKIP LOCKED passes over conversations being written to right now (they
// are not inactive) or erased by another process; FOR UPDATE re-checks the
// state and activity of a row changed since the statement began, so a
// conversation a message or a handoff has just revived is not taken. The
// walk by id makes every batch continue where the last one ended, through
// the primary key: one pass over the table for the whole erasure.
const closedBatch = `
SELECT c.id FROM conversations c
WHERE c.id > $1 AND c.updated_at < $2 AND c.state = ANY($4)
  AND NOT EXISTS (SELECT 1 FROM handoff_tickets t WHERE t.conversation_id = c.id AND t.state IN ('queued', 'claimed'))
ORDER BY c.id
LIMIT $3
FOR UPDATE OF c SKIP LOCKED`

// EraseClosedBefore erases closed conversations inactive since before
// cutoff, batch per transaction; see conversation.PersonalData. On an error
// it returns what the committed batches erased, with the error.
func (d *DB) EraseClosedBefore(ctx context.Context, cutoff time.Time, batch int) (conversation.Erased, error) {
	op := fmt.Sprintf("erase closed conversations inactive since before %s", cutoff.UTC().Format(time.RFC3339))
	if err := conversation.ValidateEraseBatch(batch); err != nil {
		return conversation.Erased{}, fmt.Errorf("%s: %w", op, err)
	}
	var states []string
	for _, s := range conversation.ClosedStates() {
		states = append(states, string(s))
	}
	var total conversation.Erased
	defer func() {
		if total.Examples > 0 {
			d.vectors.Invalidate()
		}
	}()
	var after int64
	for {
		var ids []int64
		err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
			var err error
			ids, err = collectIDs(ctx, tx, closedBatch, after, cutoff, batch, states)
			if err != nil || len(ids) == 0 {
				return err
			}
			erased, err := eraseConversations(ctx, tx, ids, d.now())
			if err == nil {
				total.Add(erased)
			}
			return err
		})
		if err != nil {
			return total, dbError(op, err)
		}
		if len(ids) < batch {
			return total, nil
		}
		after = slices.Max(ids)
	}
}

// eraseConversations deletes conversations ids, which the transaction has
// locked, and everything that refers to them, children first so that each
// count is exact (the cascades of the schema would delete the same rows
// but not say how many). The drafts of their tickets lose the customer's
// question and the link to the ticket; the examples approving them made
// of that question go.
func eraseConversations(ctx context.Context, tx pgx.Tx, ids []int64, now time.Time) (conversation.Erased, error) {
	var e conversation.Erased
	if len(ids) == 0 {
		return e, nil
	}
	drafts, err := collectIDs(ctx, tx, `UPDATE knowledge_drafts SET question = '', ticket_id = NULL, updated_at = $2
WHERE ticket_id IN (SELECT id FROM handoff_tickets WHERE conversation_id = ANY($1))
RETURNING id`, ids, now)
	if err != nil {
		return e, fmt.Errorf("clear draft questions: %w", err)
	}
	e.Drafts = len(drafts)
	if len(drafts) > 0 {
		sources := make([]string, len(drafts))
		for i, id := range drafts {
			sources[i] = handoff.DraftArticleID(id)
		}
		if e.Examples, err = execCount(ctx, tx, `DELETE FROM examples WHERE source = ANY($1)`, sources); err != nil {
			return e, fmt.Errorf("delete draft examples: %w", err)
		}
	}
	for _, step := range []struct {
		what  string
		sql   string
		count *int
	}{
		{"outbox", `DELETE FROM outbox WHERE conversation_id = ANY($1)`, &e.Outbox},
		{"decisions", `DELETE FROM decisions WHERE conversation_id = ANY($1)`, &e.Decisions},
		{"transitions", `DELETE FROM transitions WHERE conversation_id = ANY($1)`, &e.Transitions},
		{"handoff tickets", `DELETE FROM handoff_tickets WHERE conversation_id = ANY($1)`, &e.Handoffs},
		{"messages", `DELETE FROM messages WHERE conversation_id = ANY($1)`, &e.Messages},
		{"conversations", `DELETE FROM conversations WHERE id = ANY($1)`, &e.Conversations},
	} {
		if *step.count, err = execCount(ctx, tx, step.sql, ids); err != nil {
			return e, fmt.Errorf("delete %s: %w", step.what, err)
		}
	}
	return e, nil
}

// queryAll runs a query and collects what scan makes of each row.
func queryAll[T any](ctx context.Context, tx pgx.Tx, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scan)
}

// collectIDs runs a query that selects one bigint column.
func collectIDs(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]int64, error) {
	return queryAll(ctx, tx, pgx.RowTo[int64], sql, args...)
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, tx pgx.Tx, sql string, args ...any) (int, error) {
	tag, err := tx.Exec(ctx, sql, args...)
	return int(tag.RowsAffected()), err
}
