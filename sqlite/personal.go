package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

var _ conversation.PersonalData = (*DB)(nil)

// customerConversationIDs selects the ids of customer ?1's conversations on
// every channel. The only index on customer_id is conversations_customer
// (channel, customer_id, id), built for Receive; SQLite's own skip-scan
// needs statistics that a store that never ran ANALYZE lacks. So the query
// walks the distinct channels first, one index probe each (there are a
// handful), then looks the customer up on each: a few probes instead of a
// full scan, and no second index for every write to pay for.
const customerConversationIDs = `
WITH RECURSIVE channels (channel) AS (
    SELECT min(channel) FROM conversations
    UNION ALL
    SELECT (SELECT min(c.channel) FROM conversations c WHERE c.channel > channels.channel)
    FROM channels WHERE channels.channel IS NOT NULL
)
SELECT c.id FROM channels JOIN conversations c ON c.channel = channels.channel AND c.customer_id = ?1
ORDER BY c.id`

// inIDs is the condition "column is one of the ids of the JSON array ?1".
func inIDs(column string) string {
	return column + ` IN (SELECT value FROM json_each(?1))`
}

// ExportCustomer returns everything stored about a customer; see
// conversation.PersonalData. The reads share one read transaction, which
// in WAL mode sees one moment's state even while the customer keeps
// writing.
func (db *DB) ExportCustomer(ctx context.Context, customerID string) (conversation.CustomerData, error) {
	const op = "export customer data"
	if err := conversation.ValidateCustomerID(customerID); err != nil {
		return conversation.CustomerData{}, fmt.Errorf("%s: %w", op, err)
	}
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return conversation.CustomerData{}, wrapErr(op, err)
	}
	// Read only: a rollback ends it as well as a commit would.
	defer tx.Rollback()
	at := db.now()
	ids, err := collectRows(ctx, tx, scanID, customerConversationIDs, customerID)
	if err != nil {
		return conversation.CustomerData{}, wrapErr(op, err)
	}
	var recs conversation.CustomerRecords
	if len(ids) > 0 {
		if recs, err = readCustomerRecords(ctx, tx, ids); err != nil {
			return conversation.CustomerData{}, wrapErr(op, err)
		}
	}
	return recs.Data(customerID, at), nil
}

// readCustomerRecords reads conversations ids and what hangs off them, one
// query per table.
func readCustomerRecords(ctx context.Context, tx *sql.Tx, ids []int64) (conversation.CustomerRecords, error) {
	var (
		r   conversation.CustomerRecords
		err error
	)
	list := idList(ids)
	if r.Conversations, err = collectRows(ctx, tx, scanConversation,
		`SELECT `+conversationColumns+` FROM conversations WHERE `+inIDs("id"), list); err != nil {
		return r, fmt.Errorf("conversations: %w", err)
	}
	if r.Messages, err = collectRows(ctx, tx, func(s rowScanner) (conversation.Message, error) { return scanMessage(s) },
		`SELECT `+messageColumns+` FROM messages m WHERE `+inIDs("m.conversation_id"), list); err != nil {
		return r, fmt.Errorf("messages: %w", err)
	}
	if r.Transitions, err = collectRows(ctx, tx, scanTransition, `SELECT conversation_id, from_state, to_state, actor, reason, at
		FROM transitions WHERE `+inIDs("conversation_id")+` ORDER BY id`, list); err != nil {
		return r, fmt.Errorf("transitions: %w", err)
	}
	if r.Decisions, err = collectRows(ctx, tx, scanDecision,
		`SELECT `+decisionColumns+` FROM decisions WHERE `+inIDs("conversation_id"), list); err != nil {
		return r, fmt.Errorf("decisions: %w", err)
	}
	if r.Outbox, err = collectRows(ctx, tx, scanOutbox, `SELECT `+outboxColumns+` FROM outbox
		WHERE `+inIDs("conversation_id")+` ORDER BY id`, list); err != nil {
		return r, fmt.Errorf("outbox: %w", err)
	}
	tickets, err := collectRows(ctx, tx, scanTicket,
		`SELECT `+ticketColumns+` FROM handoff_tickets WHERE `+inIDs("conversation_id"), list)
	if err != nil {
		return r, fmt.Errorf("handoff tickets: %w", err)
	}
	for _, t := range tickets {
		r.Handoffs = append(r.Handoffs, handoff.ExportTicket(t))
	}
	drafts, err := collectRows(ctx, tx, scanDraft, `SELECT `+draftColumns+` FROM knowledge_drafts
		WHERE ticket_id IN (SELECT id FROM handoff_tickets WHERE `+inIDs("conversation_id")+`)`, list)
	if err != nil {
		return r, fmt.Errorf("knowledge drafts: %w", err)
	}
	for _, d := range drafts {
		r.Drafts = append(r.Drafts, handoff.ExportDraft(d))
	}
	return r, nil
}

// EraseCustomer deletes everything stored about a customer in one write
// transaction; see conversation.PersonalData. The single writer is all the
// serialisation it needs: no message, claim or handoff can land halfway.
func (db *DB) EraseCustomer(ctx context.Context, customerID string) (conversation.Erased, error) {
	const op = "erase customer data"
	if err := conversation.ValidateCustomerID(customerID); err != nil {
		return conversation.Erased{}, fmt.Errorf("%s: %w", op, err)
	}
	var erased conversation.Erased
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		// What channels recorded of the customer (their phone, consent).
		if _, err := tx.ExecContext(ctx, `DELETE FROM customers WHERE customer_id = ?`, customerID); err != nil {
			return err
		}
		ids, err := collectRows(ctx, tx, scanID, customerConversationIDs, customerID)
		if err != nil {
			return err
		}
		erased, err = eraseConversations(ctx, tx, ids, db.now())
		return err
	})
	if err != nil {
		return conversation.Erased{}, err
	}
	if erased.Examples > 0 {
		db.vectors.Invalidate()
	}
	return erased, nil
}

// closedBatch selects up to ?3 closed conversations (state in the JSON
// array ?4, no open ticket) with ids above ?1 whose last activity is
// before ?2, by id. Walking by id makes every batch continue where the last
// one ended, through the primary key: one pass over the table for the
// whole erasure. It runs in the write transaction that erases the batch,
// so nothing can revive a conversation between the choice and the delete.
const closedBatch = `
SELECT c.id FROM conversations c
WHERE c.id > ?1 AND c.updated_at < ?2 AND c.state IN (SELECT value FROM json_each(?4))
  AND NOT EXISTS (SELECT 1 FROM handoff_tickets t WHERE t.conversation_id = c.id AND t.state IN ('queued', 'claimed'))
ORDER BY c.id
LIMIT ?3`

// EraseClosedBefore erases closed conversations inactive since before
// cutoff, batch per write transaction, so that other writers (customers'
// messages) wait for one batch at most; see conversation.PersonalData. On
// an error it returns what the committed batches erased, with the error.
func (db *DB) EraseClosedBefore(ctx context.Context, cutoff time.Time, batch int) (conversation.Erased, error) {
	op := fmt.Sprintf("erase closed conversations inactive since before %s", cutoff.UTC().Format(time.RFC3339))
	if err := conversation.ValidateEraseBatch(batch); err != nil {
		return conversation.Erased{}, fmt.Errorf("%s: %w", op, err)
	}
	states, err := json.Marshal(conversation.ClosedStates())
	if err != nil {
		return conversation.Erased{}, fmt.Errorf("%s: %w", op, err)
	}
	var total conversation.Erased
	defer func() {
		if total.Examples > 0 {
			db.vectors.Invalidate()
		}
	}()
	var after int64
	for {
		var ids []int64
		err := db.write(ctx, op, func(tx *sql.Tx) error {
			var err error
			ids, err = collectRows(ctx, tx, scanID, closedBatch, after, formatTime(cutoff), batch, string(states))
			if err != nil {
				return err
			}
			erased, err := eraseConversations(ctx, tx, ids, db.now())
			if err == nil {
				total.Add(erased)
			}
			return err
		})
		if err != nil {
			return total, err
		}
		if len(ids) < batch {
			return total, nil
		}
		after = slices.Max(ids)
	}
}

// eraseConversations deletes conversations ids and everything that refers
// to them, children first so that each count is exact (the cascades of the
// schema would delete the same rows but not say how many). The drafts of
// their tickets lose the customer's question and the link to the ticket;
// the examples approving them made of that question go.
func eraseConversations(ctx context.Context, tx *sql.Tx, ids []int64, now time.Time) (conversation.Erased, error) {
	var e conversation.Erased
	if len(ids) == 0 {
		return e, nil
	}
	list := idList(ids)
	drafts, err := collectRows(ctx, tx, scanID, `UPDATE knowledge_drafts SET question = '', ticket_id = NULL, updated_at = ?2
		WHERE ticket_id IN (SELECT id FROM handoff_tickets WHERE `+inIDs("conversation_id")+`)
		RETURNING id`, list, formatTime(now))
	if err != nil {
		return e, fmt.Errorf("clear draft questions: %w", err)
	}
	e.Drafts = len(drafts)
	if len(drafts) > 0 {
		sources := make([]string, len(drafts))
		for i, id := range drafts {
			sources[i] = handoff.DraftArticleID(id)
		}
		if e.Examples, err = execCount(ctx, tx, `DELETE FROM examples WHERE source IN (SELECT value FROM json_each(?1))`,
			encodeStrings(sources)); err != nil {
			return e, fmt.Errorf("delete draft examples: %w", err)
		}
	}
	for _, step := range []struct {
		what  string
		sql   string
		count *int
	}{
		{"outbox", `DELETE FROM outbox WHERE message_id IN (SELECT id FROM messages WHERE ` + inIDs("conversation_id") + `)`, &e.Outbox},
		{"decisions", `DELETE FROM decisions WHERE ` + inIDs("conversation_id"), &e.Decisions},
		{"transitions", `DELETE FROM transitions WHERE ` + inIDs("conversation_id"), &e.Transitions},
		{"handoff tickets", `DELETE FROM handoff_tickets WHERE ` + inIDs("conversation_id"), &e.Handoffs},
		{"messages", `DELETE FROM messages WHERE ` + inIDs("conversation_id"), &e.Messages},
		{"conversations", `DELETE FROM conversations WHERE ` + inIDs("id"), &e.Conversations},
	} {
		if *step.count, err = execCount(ctx, tx, step.sql, list); err != nil {
			return e, fmt.Errorf("delete %s: %w", step.what, err)
		}
	}
	return e, nil
}

func scanID(r rowScanner) (int64, error) {
	var id int64
	err := r.Scan(&id)
	return id, err
}

// idList is ids as the JSON array inIDs reads.
func idList(ids []int64) string {
	b, _ := json.Marshal(ids) // a []int64 always marshals
	return string(b)
}

// execCount runs a statement and returns how many rows it changed.
func execCount(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
