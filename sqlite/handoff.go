package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

var _ handoff.Store = (*DB)(nil)

// Every ticket change below runs with its conversation's ownership change in
// one write transaction on the single writer connection (see conversation.go):
// the ticket a claim picks is still waiting when the claim writes it, since
// no other writer, in this process or another one, runs in between. That is
// what makes a ticket impossible to claim twice here, with no row locks.
// Consoles of this process learn of changes by polling; there is no
// cross-process notification on a file.

const ticketColumns = `id, conversation_id, queue, priority, reason, intent, topic, summary, articles, state,
	agent_id, claim_expires_at, due_at, created_at, updated_at, closed_at, resolution_note, resolution_article`

func scanTicket(r rowScanner) (handoff.Ticket, error) {
	var (
		t                     handoff.Ticket
		priority              int
		articles, state       string
		expires, closed       sql.NullString
		due, created, updated string
	)
	err := r.Scan(&t.ID, &t.ConversationID, &t.Queue, &priority, &t.Reason, &t.Intent, &t.Topic, &t.Summary,
		&articles, &state, &t.AgentID, &expires, &due, &created, &updated, &closed, &t.Resolution.Note, &t.Resolution.ArticleID)
	if err != nil {
		return handoff.Ticket{}, err
	}
	t.Priority, t.State = handoff.Priority(priority), handoff.State(state)
	if t.Articles, err = decodeStrings(articles); err != nil {
		return handoff.Ticket{}, fmt.Errorf("ticket %d articles: %w", t.ID, err)
	}
	for _, f := range []struct {
		name string
		text sql.NullString
		dst  *time.Time
	}{
		{"claim_expires_at", expires, &t.ClaimExpiresAt},
		{"due_at", sql.NullString{String: due, Valid: true}, &t.DueAt},
		{"created_at", sql.NullString{String: created, Valid: true}, &t.CreatedAt},
		{"updated_at", sql.NullString{String: updated, Valid: true}, &t.UpdatedAt},
		{"closed_at", closed, &t.ClosedAt},
	} {
		if !f.text.Valid {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339Nano, f.text.String); err != nil {
			return handoff.Ticket{}, fmt.Errorf("ticket %d %s: %w", t.ID, f.name, err)
		}
	}
	return t, nil
}

// Enqueue files a ticket and queues its conversation; see handoff.Store.
func (db *DB) Enqueue(ctx context.Context, t handoff.Ticket) (handoff.Ticket, error) {
	op := fmt.Sprintf("enqueue handoff of conversation %d", t.ConversationID)
	if err := handoff.ValidateNew(t); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var stored handoff.Ticket
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		stored, err = enqueueInTx(ctx, tx, t, db.now())
		return err
	})
	if err != nil {
		return handoff.Ticket{}, err
	}
	return stored, nil
}

// EscalateTurn files a ticket and completes the turn that promised it, in
// one transaction; see handoff.Store.
func (db *DB) EscalateTurn(ctx context.Context, t handoff.Ticket, turn conversation.Turn) (handoff.Ticket, conversation.TurnResult, error) {
	op := fmt.Sprintf("escalate message %d of conversation %d", turn.MessageID, t.ConversationID)
	turn, err := handoff.ValidateEscalation(t, turn)
	if err != nil {
		return handoff.Ticket{}, conversation.TurnResult{}, fmt.Errorf("%s: %w", op, err)
	}
	var (
		stored handoff.Ticket
		res    conversation.TurnResult
	)
	err = db.writeGrouped(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		now := db.now()
		var err error
		// The message first (a turn completed elsewhere fails before any
		// ticket is filed), then the ticket.
		res, err = completeTurnInTx(ctx, tx, turn, now, func(convID int64) (int64, error) {
			if err := handoff.CheckTicketMessage(t, turn.MessageID, convID); err != nil {
				return 0, err
			}
			var err error
			stored, err = enqueueInTx(ctx, tx, t, now)
			return stored.ID, conversation.NotOwned(err)
		})
		return err
	})
	if err != nil {
		return handoff.Ticket{}, conversation.TurnResult{}, err
	}
	return stored, res, nil
}

// enqueueInTx files t and queues its conversation inside tx.
func enqueueInTx(ctx context.Context, tx *sql.Tx, t handoff.Ticket, at time.Time) (handoff.Ticket, error) {
	now := formatTime(at)
	// Open tickets of a conversation the bot owns were left behind by a move
	// outside the handoff store; they would block this one.
	_, err := tx.ExecContext(ctx, `UPDATE handoff_tickets
		SET state = 'released', claim_expires_at = NULL, closed_at = ?, updated_at = ?
		WHERE conversation_id = ? AND state IN ('queued', 'claimed')
		  AND EXISTS (SELECT 1 FROM conversations WHERE id = ? AND state = 'bot')`,
		now, now, t.ConversationID, t.ConversationID)
	if err != nil {
		return handoff.Ticket{}, err
	}
	_, err = changeOwner(ctx, tx, t.ConversationID, conversation.Bot, conversation.Queued, "", "bot", t.Reason, at)
	if errors.Is(err, sql.ErrNoRows) {
		return handoff.Ticket{}, explainUnchanged(ctx, tx, t.ConversationID, conversation.Bot)
	}
	if err != nil {
		return handoff.Ticket{}, err
	}
	return scanTicket(tx.QueryRowContext(ctx, `INSERT INTO handoff_tickets
		(conversation_id, queue, priority, reason, intent, topic, summary, articles, state, due_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)
		RETURNING `+ticketColumns,
		t.ConversationID, t.Queue, int(t.Priority), t.Reason, t.Intent, t.Topic, t.Summary, encodeStrings(t.Articles),
		formatTime(t.DueAt.Truncate(time.Microsecond)), now, now))
}

// errStale says that a ticket's conversation is not where the ticket says
// it is (it was moved outside the handoff store).
var errStale = fmt.Errorf("the ticket's conversation left the queue: %w", relais.ErrConflict)

// take gives a waiting ticket to agentID and its conversation to the agent.
// A stale ticket is closed instead and errStale returned; the caller
// commits that.
func take(ctx context.Context, tx *sql.Tx, id int64, agentID string, ttl time.Duration, now time.Time) (handoff.Ticket, error) {
	t, err := scanTicket(tx.QueryRowContext(ctx, `UPDATE handoff_tickets
		SET state = 'claimed', agent_id = ?, claim_expires_at = ?, updated_at = ?
		WHERE id = ? AND state = 'queued' RETURNING `+ticketColumns,
		agentID, formatTime(now.Add(ttl)), formatTime(now), id))
	if err != nil {
		return handoff.Ticket{}, err
	}
	_, err = changeOwner(ctx, tx, t.ConversationID, conversation.Queued, conversation.Agent, agentID,
		handoff.Actor(agentID), handoff.ReasonClaimed, now)
	if errors.Is(err, sql.ErrNoRows) {
		if err := closeTicket(ctx, tx, id, handoff.Released, now); err != nil {
			return handoff.Ticket{}, err
		}
		return handoff.Ticket{}, errStale
	}
	if err != nil {
		return handoff.Ticket{}, err
	}
	return t, nil
}

func closeTicket(ctx context.Context, tx *sql.Tx, id int64, state handoff.State, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE handoff_tickets
		SET state = ?, claim_expires_at = NULL, closed_at = ?, updated_at = ? WHERE id = ?`,
		string(state), formatTime(now), formatTime(now), id)
	return err
}

// ClaimNext gives an agent the next waiting ticket; see handoff.Store.
func (db *DB) ClaimNext(ctx context.Context, agentID string, queues []string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("claim next handoff for agent %q", agentID)
	if err := handoff.ValidateClaim(agentID, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var t handoff.Ticket
	none := false
	queuesJSON := encodeStrings(queues)
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		for {
			var id int64
			err := tx.QueryRowContext(ctx, `SELECT id FROM handoff_tickets
				WHERE state = 'queued' AND (json_array_length(?1) = 0 OR queue IN (SELECT value FROM json_each(?1)))
				ORDER BY priority DESC, created_at, id LIMIT 1`, queuesJSON).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				// Committed all the same: stale tickets met on the way
				// stay closed.
				none = true
				return nil
			}
			if err != nil {
				return err
			}
			t, err = take(ctx, tx, id, agentID, ttl, now)
			if !errors.Is(err, errStale) {
				return err
			}
		}
	})
	if err != nil {
		return handoff.Ticket{}, err
	}
	if none {
		return handoff.Ticket{}, fmt.Errorf("%s: no ticket waiting: %w", op, relais.ErrNotFound)
	}
	return t, nil
}

// Claim gives an agent one waiting ticket; see handoff.Store.
func (db *DB) Claim(ctx context.Context, id int64, agentID string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("claim handoff %d for agent %q", id, agentID)
	if err := handoff.ValidateClaim(agentID, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var t handoff.Ticket
	stale := false
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		var err error
		t, err = take(ctx, tx, id, agentID, ttl, db.now())
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return ticketNotIn(ctx, tx, id, handoff.Queued, "")
		case errors.Is(err, errStale):
			// Committed: the stale ticket stays closed.
			stale = true
			return nil
		}
		return err
	})
	if err != nil {
		return handoff.Ticket{}, err
	}
	if stale {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, errStale)
	}
	return t, nil
}

// ticketNotIn explains a guarded ticket update that changed nothing: the
// ticket does not exist (relais.ErrNotFound), or handoff.TicketNotIn.
func ticketNotIn(ctx context.Context, tx *sql.Tx, id int64, state handoff.State, agentID string) error {
	var got string
	err := tx.QueryRowContext(ctx, `SELECT state FROM handoff_tickets WHERE id = ?`, id).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ticket %d: %w", id, relais.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return handoff.TicketNotIn(id, state, agentID, handoff.State(got))
}

// heldBy is the guard of every call on a ticket an agent holds: the ticket,
// then the agent.
const heldBy = `id = ? AND state = 'claimed' AND agent_id = ?`

// Reassign hands a held ticket to another agent; see handoff.Store.
func (db *DB) Reassign(ctx context.Context, id int64, from, to string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("reassign handoff %d from agent %q to %q", id, from, to)
	if err := handoff.ValidateAgent(from); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := handoff.ValidateClaim(to, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	if from == to {
		return handoff.Ticket{}, fmt.Errorf("%s: same agent: %w", op, relais.ErrInvalid)
	}
	var t handoff.Ticket
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		var err error
		t, err = scanTicket(tx.QueryRowContext(ctx, `UPDATE handoff_tickets
			SET agent_id = ?, claim_expires_at = ?, updated_at = ?
			WHERE `+heldBy+` RETURNING `+ticketColumns, to, formatTime(now.Add(ttl)), formatTime(now), id, from))
		if errors.Is(err, sql.ErrNoRows) {
			return ticketNotIn(ctx, tx, id, handoff.Claimed, from)
		}
		if err != nil {
			return err
		}
		_, err = changeOwner(ctx, tx, t.ConversationID, conversation.Agent, conversation.Queued, "",
			handoff.Actor(from), handoff.ReasonReassigned, now)
		if err == nil {
			_, err = changeOwner(ctx, tx, t.ConversationID, conversation.Queued, conversation.Agent, to,
				handoff.Actor(to), handoff.ReasonReassigned, now)
		}
		if errors.Is(err, sql.ErrNoRows) {
			return errStale
		}
		return err
	})
	if err != nil {
		return handoff.Ticket{}, err
	}
	return t, nil
}

// ExtendClaim renews an agent's claim; see handoff.Store.
func (db *DB) ExtendClaim(ctx context.Context, id int64, agentID string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("extend claim of agent %q on handoff %d", agentID, id)
	if err := handoff.ValidateClaim(agentID, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var t handoff.Ticket
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		var err error
		t, err = scanTicket(tx.QueryRowContext(ctx, `UPDATE handoff_tickets SET claim_expires_at = ?, updated_at = ?
			WHERE `+heldBy+` RETURNING `+ticketColumns, formatTime(now.Add(ttl)), formatTime(now), id, agentID))
		if errors.Is(err, sql.ErrNoRows) {
			return ticketNotIn(ctx, tx, id, handoff.Claimed, agentID)
		}
		return err
	})
	if err != nil {
		return handoff.Ticket{}, err
	}
	return t, nil
}

// ExpireClaims returns expired claims to the queue; see handoff.Store. One
// transaction does them all: they are few, and the writer is shared.
func (db *DB) ExpireClaims(ctx context.Context, now time.Time) (int, error) {
	const op = "expire handoff claims"
	n := 0
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		at := db.now()
		type expired struct{ id, conversationID int64 }
		// Collected first: the conversation moves below need the one
		// connection the rows would hold.
		es, err := collectRows(ctx, tx, func(r rowScanner) (expired, error) {
			var e expired
			err := r.Scan(&e.id, &e.conversationID)
			return e, err
		}, `UPDATE handoff_tickets
			SET state = 'queued', agent_id = '', claim_expires_at = NULL, updated_at = ?
			WHERE state = 'claimed' AND claim_expires_at < ?
			RETURNING id, conversation_id`, formatTime(at), formatTime(now))
		if err != nil {
			return err
		}
		for _, e := range es {
			_, err := changeOwner(ctx, tx, e.conversationID, conversation.Agent, conversation.Queued, "",
				"system", handoff.ReasonExpired, at)
			if errors.Is(err, sql.ErrNoRows) {
				// Moved outside the handoff store: nobody waits on it.
				err = closeTicket(ctx, tx, e.id, handoff.Released, at)
			}
			if err != nil {
				return err
			}
		}
		n = len(es)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Resolve closes a held ticket and resolves its conversation; see
// handoff.Store.
func (db *DB) Resolve(ctx context.Context, id int64, agentID string) (handoff.Ticket, error) {
	return db.ResolveWith(ctx, id, agentID, handoff.Resolution{})
}

// ResolveWith closes a held ticket with the agent's resolution; see
// handoff.Store.
func (db *DB) ResolveWith(ctx context.Context, id int64, agentID string, r handoff.Resolution) (handoff.Ticket, error) {
	op := fmt.Sprintf("resolve handoff %d as agent %q", id, agentID)
	r, err := handoff.ValidateResolution(r)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	return db.finish(ctx, op, id, agentID, handoff.Resolved, conversation.Resolved, handoff.ReasonResolved, r)
}

// Release gives a held ticket's conversation back to the bot; see
// handoff.Store.
func (db *DB) Release(ctx context.Context, id int64, agentID string) (handoff.Ticket, error) {
	return db.finish(ctx, fmt.Sprintf("release handoff %d as agent %q", id, agentID), id, agentID,
		handoff.Released, conversation.Bot, handoff.ReasonReleased, handoff.Resolution{})
}

// finish closes a ticket agentID holds in state and moves its conversation
// from the agent to conv, keeping res on it.
func (db *DB) finish(ctx context.Context, op string, id int64, agentID string, state handoff.State, conv conversation.State,
	reason string, res handoff.Resolution) (handoff.Ticket, error) {
	if err := handoff.ValidateAgent(agentID); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var t handoff.Ticket
	err := db.write(ctx, op, func(tx *sql.Tx) error {
		now := db.now()
		var err error
		t, err = scanTicket(tx.QueryRowContext(ctx, `UPDATE handoff_tickets
			SET state = ?, claim_expires_at = NULL, closed_at = ?, updated_at = ?, resolution_note = ?, resolution_article = ?
			WHERE `+heldBy+` RETURNING `+ticketColumns, string(state), formatTime(now), formatTime(now), res.Note, res.ArticleID,
			id, agentID))
		if errors.Is(err, sql.ErrNoRows) {
			return ticketNotIn(ctx, tx, id, handoff.Claimed, agentID)
		}
		if err != nil {
			return err
		}
		_, err = changeOwner(ctx, tx, t.ConversationID, conversation.Agent, conv, "", handoff.Actor(agentID), reason, now)
		if errors.Is(err, sql.ErrNoRows) {
			return errStale
		}
		return err
	})
	if err != nil {
		return handoff.Ticket{}, err
	}
	return t, nil
}

// Ticket returns one ticket; relais.ErrNotFound if none.
func (db *DB) Ticket(ctx context.Context, id int64) (handoff.Ticket, error) {
	op := fmt.Sprintf("get handoff %d", id)
	t, err := scanTicket(db.reader.QueryRowContext(ctx, `SELECT `+ticketColumns+` FROM handoff_tickets WHERE id = ?`, id))
	if err != nil {
		return handoff.Ticket{}, rowErr(op, err)
	}
	return t, nil
}

// Tickets lists tickets; see handoff.Store.
func (db *DB) Tickets(ctx context.Context, f handoff.Filter) ([]handoff.Ticket, error) {
	const op = "list handoffs"
	limit, err := handoff.ValidateFilter(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	// Due times are fixed-width text, so text order is time order.
	order := "id"
	switch f.Order {
	case handoff.ByPriority:
		order = "priority DESC, due_at, id"
	case handoff.ByNewest:
		order = "id DESC"
	}
	// lower() folds ASCII letters only, so the query is folded the same way.
	out, err := collectRows(ctx, db.reader, scanTicket, `SELECT `+ticketColumns+` FROM handoff_tickets
		WHERE (?1 = '' OR state = ?1) AND (?2 = '' OR queue = ?2) AND (?3 = '' OR agent_id = ?3)
		  AND (?4 = 0 OR conversation_id = ?4) AND id > ?6 AND (?7 = '' OR reason = ?7)
		  AND (?8 = '' OR instr(lower(summary), ?8) > 0 OR instr(lower(resolution_note), ?8) > 0
		       OR CAST(id AS TEXT) = ?8
		       OR conversation_id IN (SELECT id FROM conversations WHERE instr(lower(customer_id), ?8) > 0))
		ORDER BY `+order+` LIMIT ?5`, string(f.State), f.Queue, f.AgentID, f.ConversationID, limit, f.AfterID, f.Reason,
		asciiLower(strings.TrimSpace(f.Query)))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// QueueStats counts the open tickets per queue; see handoff.Store.
func (db *DB) QueueStats(ctx context.Context, now time.Time) ([]handoff.QueueStat, error) {
	const op = "handoff queue stats"
	out, err := collectRows(ctx, db.reader, func(r rowScanner) (handoff.QueueStat, error) {
		var s handoff.QueueStat
		err := r.Scan(&s.Queue, &s.Waiting, &s.Claimed, &s.Overdue)
		return s, err
	}, `SELECT queue,
			count(*) FILTER (WHERE state = 'queued'),
			count(*) FILTER (WHERE state = 'claimed'),
			count(*) FILTER (WHERE due_at < ?)
		FROM handoff_tickets WHERE state IN ('queued', 'claimed')
		GROUP BY queue ORDER BY queue`, formatTime(now))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// QueueLoad reads a queue's waiting count and recent claim times; see
// handoff.Store. A ticket's first claim is the first move of its
// conversation to an agent after it was filed and before it closed: a
// conversation has one open ticket at a time, so that move is this
// ticket's, and a ticket closed unclaimed has none. Times are fixed-width
// text, so text order is time order.
func (db *DB) QueueLoad(ctx context.Context, queue string, n int) (handoff.QueueLoad, error) {
	const op = "handoff queue load"
	if err := handoff.ValidateRecent(n); err != nil {
		return handoff.QueueLoad{}, err
	}
	var load handoff.QueueLoad
	err := db.reader.QueryRowContext(ctx, `SELECT count(*) FROM handoff_tickets WHERE queue = ? AND state = 'queued'`, queue).Scan(&load.Waiting)
	if err != nil {
		return handoff.QueueLoad{}, wrapErr(op, err)
	}
	load.ClaimTimes, err = collectRows(ctx, db.reader, func(r rowScanner) (time.Duration, error) {
		var created, claimed string
		if err := r.Scan(&created, &claimed); err != nil {
			return 0, err
		}
		c, err := time.Parse(timeLayout, created)
		if err != nil {
			return 0, fmt.Errorf("ticket created at %q: %w", created, err)
		}
		a, err := time.Parse(timeLayout, claimed)
		if err != nil {
			return 0, fmt.Errorf("ticket claimed at %q: %w", claimed, err)
		}
		return a.Sub(c), nil
	}, `SELECT created_at, claimed_at FROM (
			SELECT t.id, t.created_at, (
				SELECT min(tr.at) FROM transitions tr
				WHERE tr.conversation_id = t.conversation_id AND tr.to_state = 'agent' AND tr.at >= t.created_at
					AND (t.closed_at IS NULL OR tr.at <= t.closed_at)
			) AS claimed_at
			FROM handoff_tickets t WHERE t.queue = ? AND t.state <> 'queued'
		) WHERE claimed_at IS NOT NULL ORDER BY id DESC LIMIT ?`, queue, n)
	if err != nil {
		return handoff.QueueLoad{}, wrapErr(op, err)
	}
	return load, nil
}

// asciiLower folds ASCII letters only, as SQLite's lower() does, so that a
// query and the text it is matched with fold alike.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + ('a' - 'A')
		}
		return r
	}, s)
}
