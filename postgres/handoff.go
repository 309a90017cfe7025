package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

var _ handoff.Store = (*DB)(nil)

// How the handoff queue stays atomic across processes:
//   - every change of a ticket and of its conversation's ownership runs in
//     one transaction: both happen or neither does;
//   - ClaimNext locks its candidate with FOR UPDATE SKIP LOCKED, so
//     concurrent claimers (in any process) each lock a different waiting
//     ticket instead of queueing behind one another, and a ticket that a
//     committed claim took is re-checked and passed over;
//   - the other calls update the ticket with a guard on the state (and the
//     agent) they need; PostgreSQL re-checks the guard on the newest row
//     version after waiting, so a stale call changes nothing;
//   - locks are taken in the order ticket row, then conversation row. The
//     conversation store's Receive takes an advisory lock, then the
//     conversation row, and never a ticket; so a customer message racing a
//     claim only makes one wait for the other, never deadlocks it, and the
//     message is stored whoever wins. Enqueue is the one call that writes a
//     ticket after its conversation, but that ticket is new: nobody else
//     can hold its lock.
//
// Every change of a ticket also sends pg_notify(handoffNotifyChannel, id),
// delivered at commit. It is a hint for consoles and workers to look again,
// not a log: notifications are lost while nobody listens and do not pass
// PgBouncer's transaction mode, so listeners must poll as well.

// handoffNotifyChannel is the LISTEN channel of ticket changes; the payload
// is the ticket id in decimal.
const handoffNotifyChannel = "relais_handoffs"

const ticketColumns = `id, conversation_id, queue, priority, reason, intent, topic, summary, articles, state,
agent_id, claim_expires_at, due_at, created_at, updated_at, closed_at, resolution_note, resolution_article`

func scanTicket(row pgx.Row) (handoff.Ticket, error) {
	var (
		t               handoff.Ticket
		priority        int
		state           string
		expires, closed *time.Time
	)
	err := row.Scan(&t.ID, &t.ConversationID, &t.Queue, &priority, &t.Reason, &t.Intent, &t.Topic, &t.Summary,
		&t.Articles, &state, &t.AgentID, &expires, &t.DueAt, &t.CreatedAt, &t.UpdatedAt, &closed, &t.Resolution.Note,
		&t.Resolution.ArticleID)
	if err != nil {
		return handoff.Ticket{}, err
	}
	t.Priority, t.State = handoff.Priority(priority), handoff.State(state)
	if len(t.Articles) == 0 {
		t.Articles = nil
	}
	if expires != nil {
		t.ClaimExpiresAt = *expires
	}
	if closed != nil {
		t.ClosedAt = *closed
	}
	return t, nil
}

func collectTicket(row pgx.CollectableRow) (handoff.Ticket, error) { return scanTicket(row) }

func notifyTicket(ctx context.Context, tx pgx.Tx, id int64) error {
	_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, handoffNotifyChannel, strconv.FormatInt(id, 10))
	return err
}

// closeStaleTickets closes the open tickets of conversation $1 if the bot
// owns it: they were left behind by a conversation that went back to the
// bot outside the handoff store, and would block its next handoff. It locks
// those tickets before Enqueue locks the conversation, keeping the lock
// order.
const closeStaleTickets = `
UPDATE handoff_tickets SET state = 'released', claim_expires_at = NULL, closed_at = $2, updated_at = $2
WHERE conversation_id = $1 AND state IN ('queued', 'claimed')
  AND EXISTS (SELECT 1 FROM conversations WHERE id = $1 AND state = 'bot')`

// Enqueue files a ticket and queues its conversation; see handoff.Store.
func (d *DB) Enqueue(ctx context.Context, t handoff.Ticket) (handoff.Ticket, error) {
	op := fmt.Sprintf("enqueue handoff of conversation %d", t.ConversationID)
	if err := handoff.ValidateNew(t); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	var stored handoff.Ticket
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		stored, err = enqueueInTx(ctx, tx, t, d.now())
		return err
	})
	if err != nil {
		return handoff.Ticket{}, dbError(op, err)
	}
	return stored, nil
}

// EscalateTurn files a ticket and completes the turn that promised it, in
// one transaction; see handoff.Store.
func (d *DB) EscalateTurn(ctx context.Context, t handoff.Ticket, turn conversation.Turn) (handoff.Ticket, conversation.TurnResult, error) {
	op := fmt.Sprintf("escalate message %d of conversation %d", turn.MessageID, t.ConversationID)
	turn, err := handoff.ValidateEscalation(t, turn)
	if err != nil {
		return handoff.Ticket{}, conversation.TurnResult{}, fmt.Errorf("%s: %w", op, err)
	}
	var (
		stored handoff.Ticket
		res    conversation.TurnResult
	)
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		now := d.now()
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
		return handoff.Ticket{}, conversation.TurnResult{}, dbError(op, err)
	}
	return stored, res, nil
}

// enqueueInTx files t and queues its conversation inside tx.
func enqueueInTx(ctx context.Context, tx pgx.Tx, t handoff.Ticket, now time.Time) (handoff.Ticket, error) {
	if _, err := tx.Exec(ctx, closeStaleTickets, t.ConversationID, now); err != nil {
		return handoff.Ticket{}, err
	}
	_, err := changeOwner(ctx, tx, t.ConversationID, conversation.Bot, conversation.Queued, "", "bot", t.Reason, now)
	if errors.Is(err, pgx.ErrNoRows) {
		return handoff.Ticket{}, conversationNotIn(ctx, tx, t.ConversationID, conversation.Bot)
	}
	if err != nil {
		return handoff.Ticket{}, err
	}
	stored, err := scanTicket(tx.QueryRow(ctx, `INSERT INTO handoff_tickets
    (conversation_id, queue, priority, reason, intent, topic, summary, articles, state, due_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'queued', $9, $10, $10)
RETURNING `+ticketColumns,
		t.ConversationID, t.Queue, int(t.Priority), t.Reason, t.Intent, t.Topic, t.Summary, nonNil(t.Articles),
		t.DueAt.UTC().Truncate(time.Microsecond), now))
	if err != nil {
		return handoff.Ticket{}, err
	}
	return stored, notifyTicket(ctx, tx, stored.ID)
}

// claimNext locks the best waiting ticket of the queues $1 (all when empty)
// that no other transaction is claiming, and gives it to agent $2.
const claimNext = `
WITH next AS (
    SELECT id AS next_id FROM handoff_tickets
    WHERE state = 'queued' AND (cardinality($1::text[]) = 0 OR queue = ANY ($1::text[]))
    ORDER BY priority DESC, created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
UPDATE handoff_tickets t SET state = 'claimed', agent_id = $2, claim_expires_at = $3, updated_at = $4
FROM next WHERE t.id = next.next_id
RETURNING ` + ticketColumns

// errStale says that a ticket's conversation is not where the ticket says
// it is (it was moved outside the handoff store).
var errStale = fmt.Errorf("the ticket's conversation left the queue: %w", relais.ErrConflict)

// takeConversation moves a just-claimed ticket's conversation queued ->
// agent. A stale ticket is closed instead, in the same transaction, and
// errStale returned: the caller commits that and claims another.
func takeConversation(ctx context.Context, tx pgx.Tx, t handoff.Ticket, agentID string, now time.Time) error {
	_, err := changeOwner(ctx, tx, t.ConversationID, conversation.Queued, conversation.Agent, agentID,
		handoff.Actor(agentID), handoff.ReasonClaimed, now)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := closeTicket(ctx, tx, t.ID, handoff.Released, now); err != nil {
			return err
		}
		return errStale
	}
	if err != nil {
		return err
	}
	return notifyTicket(ctx, tx, t.ID)
}

func closeTicket(ctx context.Context, tx pgx.Tx, id int64, state handoff.State, now time.Time) error {
	_, err := tx.Exec(ctx, `UPDATE handoff_tickets SET state = $2, claim_expires_at = NULL, closed_at = $3, updated_at = $3
WHERE id = $1`, id, string(state), now)
	return err
}

// ClaimNext gives an agent the next waiting ticket; see handoff.Store.
func (d *DB) ClaimNext(ctx context.Context, agentID string, queues []string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("claim next handoff for agent %q", agentID)
	if err := handoff.ValidateClaim(agentID, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	for {
		now := d.now()
		var t handoff.Ticket
		stale := false
		err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
			var err error
			t, err = scanTicket(tx.QueryRow(ctx, claimNext, nonNil(queues), agentID, now.Add(ttl), now))
			if err != nil {
				return err
			}
			err = takeConversation(ctx, tx, t, agentID, now)
			if errors.Is(err, errStale) {
				// Committed, so that the stale ticket is closed and the
				// next round claims another one.
				stale = true
				return nil
			}
			return err
		})
		if errors.Is(err, pgx.ErrNoRows) {
			return handoff.Ticket{}, fmt.Errorf("%s: no ticket waiting: %w", op, relais.ErrNotFound)
		}
		if err != nil {
			return handoff.Ticket{}, dbError(op, err)
		}
		if !stale {
			return t, nil
		}
	}
}

// Claim gives an agent one waiting ticket; see handoff.Store.
func (d *DB) Claim(ctx context.Context, id int64, agentID string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("claim handoff %d for agent %q", id, agentID)
	if err := handoff.ValidateClaim(agentID, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	now := d.now()
	var t handoff.Ticket
	stale := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		t, err = scanTicket(tx.QueryRow(ctx, `UPDATE handoff_tickets
SET state = 'claimed', agent_id = $2, claim_expires_at = $3, updated_at = $4
WHERE id = $1 AND state = 'queued' RETURNING `+ticketColumns, id, agentID, now.Add(ttl), now))
		if errors.Is(err, pgx.ErrNoRows) {
			return ticketNotIn(ctx, tx, id, handoff.Queued, "")
		}
		if err != nil {
			return err
		}
		err = takeConversation(ctx, tx, t, agentID, now)
		if errors.Is(err, errStale) {
			stale = true
			return nil
		}
		return err
	})
	if err != nil {
		return handoff.Ticket{}, dbError(op, err)
	}
	if stale {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, errStale)
	}
	return t, nil
}

// ticketNotIn explains a guarded ticket update that changed nothing: the
// ticket does not exist (pgx.ErrNoRows), or handoff.TicketNotIn.
func ticketNotIn(ctx context.Context, q rowQuerier, id int64, state handoff.State, agentID string) error {
	var got string
	if err := q.QueryRow(ctx, `SELECT state FROM handoff_tickets WHERE id = $1`, id).Scan(&got); err != nil {
		return err
	}
	return handoff.TicketNotIn(id, state, agentID, handoff.State(got))
}

// heldBy is the guard of every call on a ticket an agent holds ($1 the
// ticket, $2 the agent).
const heldBy = `id = $1 AND state = 'claimed' AND agent_id = $2`

// Reassign hands a held ticket to another agent; see handoff.Store.
func (d *DB) Reassign(ctx context.Context, id int64, from, to string, ttl time.Duration) (handoff.Ticket, error) {
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
	now := d.now()
	var t handoff.Ticket
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		t, err = scanTicket(tx.QueryRow(ctx, `UPDATE handoff_tickets
SET agent_id = $3, claim_expires_at = $4, updated_at = $5
WHERE `+heldBy+` RETURNING `+ticketColumns, id, from, to, now.Add(ttl), now))
		if errors.Is(err, pgx.ErrNoRows) {
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
		if errors.Is(err, pgx.ErrNoRows) {
			return errStale
		}
		if err != nil {
			return err
		}
		return notifyTicket(ctx, tx, t.ID)
	})
	if err != nil {
		return handoff.Ticket{}, dbError(op, err)
	}
	return t, nil
}

// ExtendClaim renews an agent's claim; see handoff.Store.
func (d *DB) ExtendClaim(ctx context.Context, id int64, agentID string, ttl time.Duration) (handoff.Ticket, error) {
	op := fmt.Sprintf("extend claim of agent %q on handoff %d", agentID, id)
	if err := handoff.ValidateClaim(agentID, ttl); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	now := d.now()
	t, err := scanTicket(d.pool.QueryRow(ctx, `UPDATE handoff_tickets SET claim_expires_at = $3, updated_at = $4
WHERE `+heldBy+` RETURNING `+ticketColumns, id, agentID, now.Add(ttl), now))
	if errors.Is(err, pgx.ErrNoRows) {
		err = ticketNotIn(ctx, d.pool, id, handoff.Claimed, agentID)
	}
	if err != nil {
		return handoff.Ticket{}, dbError(op, err)
	}
	return t, nil
}

// expireBatch is how many expired claims one statement of ExpireClaims
// returns: enough to drain a crowd of departed agents quickly, few enough
// that the locks are short.
const expireBatch = 100

// expireClaims locks up to $2 claims that ended before $1, skipping those
// their agent is resolving or releasing at this moment (the agent wins), and
// puts them back in the queue at $3, in one statement: each conversation
// still with its agent moves agent -> queued (moveConversation's change, by
// "system" for reason $4), and a ticket whose conversation was moved outside
// the handoff store is closed as released instead, since nobody waits on it
// any more. Every ticket returned is notified on $5; one row per ticket
// comes back. Tickets are locked before their conversations, the order of
// every other handoff call.
const expireClaims = `
WITH expired AS MATERIALIZED (
    SELECT id, conversation_id FROM handoff_tickets
    WHERE state = 'claimed' AND claim_expires_at < $1
    ORDER BY claim_expires_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), moved AS (
    UPDATE conversations c SET state = 'queued', agent_id = '', updated_at = $3
    FROM expired WHERE c.id = expired.conversation_id AND c.state = 'agent'
    RETURNING c.id
), recorded AS (
    INSERT INTO transitions (conversation_id, from_state, to_state, actor, reason, at)
    SELECT id, 'agent', 'queued', 'system', $4, $3 FROM moved
), returned AS (
    UPDATE handoff_tickets t SET
        state = CASE WHEN moved.id IS NULL THEN 'released' ELSE 'queued' END,
        agent_id = '', claim_expires_at = NULL, updated_at = $3,
        closed_at = CASE WHEN moved.id IS NULL THEN $3::timestamptz END
    FROM expired LEFT JOIN moved ON moved.id = expired.conversation_id
    WHERE t.id = expired.id
    RETURNING t.id
)
SELECT pg_notify($5, id::text) FROM returned`

// ExpireClaims returns expired claims to the queue; see handoff.Store.
func (d *DB) ExpireClaims(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		tag, err := d.pool.Exec(ctx, expireClaims, now, expireBatch, d.now(), handoff.ReasonExpired, handoffNotifyChannel)
		if err != nil {
			return total, dbError("expire handoff claims", err)
		}
		n := int(tag.RowsAffected())
		total += n
		if n < expireBatch {
			return total, nil
		}
	}
}

// Resolve closes a held ticket and resolves its conversation; see
// handoff.Store.
func (d *DB) Resolve(ctx context.Context, id int64, agentID string) (handoff.Ticket, error) {
	return d.ResolveWith(ctx, id, agentID, handoff.Resolution{})
}

// ResolveWith closes a held ticket with the agent's resolution; see
// handoff.Store.
func (d *DB) ResolveWith(ctx context.Context, id int64, agentID string, r handoff.Resolution) (handoff.Ticket, error) {
	op := fmt.Sprintf("resolve handoff %d as agent %q", id, agentID)
	r, err := handoff.ValidateResolution(r)
	if err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	return d.finish(ctx, op, id, agentID, handoff.Resolved, conversation.Resolved, handoff.ReasonResolved, r)
}

// Release gives a held ticket's conversation back to the bot; see
// handoff.Store.
func (d *DB) Release(ctx context.Context, id int64, agentID string) (handoff.Ticket, error) {
	return d.finish(ctx, fmt.Sprintf("release handoff %d as agent %q", id, agentID), id, agentID,
		handoff.Released, conversation.Bot, handoff.ReasonReleased, handoff.Resolution{})
}

// finish closes a ticket agentID holds in state and moves its conversation
// from the agent to conv.
func (d *DB) finish(ctx context.Context, op string, id int64, agentID string, state handoff.State, conv conversation.State,
	reason string, res handoff.Resolution) (handoff.Ticket, error) {
	if err := handoff.ValidateAgent(agentID); err != nil {
		return handoff.Ticket{}, fmt.Errorf("%s: %w", op, err)
	}
	now := d.now()
	var t handoff.Ticket
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var err error
		t, err = scanTicket(tx.QueryRow(ctx, `UPDATE handoff_tickets
SET state = $3, claim_expires_at = NULL, closed_at = $4, updated_at = $4, resolution_note = $5, resolution_article = $6
WHERE `+heldBy+` RETURNING `+ticketColumns, id, agentID, string(state), now, res.Note, res.ArticleID))
		if errors.Is(err, pgx.ErrNoRows) {
			return ticketNotIn(ctx, tx, id, handoff.Claimed, agentID)
		}
		if err != nil {
			return err
		}
		_, err = changeOwner(ctx, tx, t.ConversationID, conversation.Agent, conv, "", handoff.Actor(agentID), reason, now)
		if errors.Is(err, pgx.ErrNoRows) {
			return errStale
		}
		if err != nil {
			return err
		}
		return notifyTicket(ctx, tx, t.ID)
	})
	if err != nil {
		return handoff.Ticket{}, dbError(op, err)
	}
	return t, nil
}

// Ticket returns one ticket; relais.ErrNotFound if none.
func (d *DB) Ticket(ctx context.Context, id int64) (handoff.Ticket, error) {
	t, err := scanTicket(d.pool.QueryRow(ctx, `SELECT `+ticketColumns+` FROM handoff_tickets WHERE id = $1`, id))
	if err != nil {
		return handoff.Ticket{}, dbError(fmt.Sprintf("get handoff %d", id), err)
	}
	return t, nil
}

// Tickets lists tickets; see handoff.Store.
func (d *DB) Tickets(ctx context.Context, f handoff.Filter) ([]handoff.Ticket, error) {
	const op = "list handoffs"
	limit, err := handoff.ValidateFilter(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	order := "id"
	switch f.Order {
	case handoff.ByPriority:
		order = "priority DESC, due_at, id"
	case handoff.ByNewest:
		order = "id DESC"
	}
	rows, err := d.pool.Query(ctx, `SELECT `+ticketColumns+` FROM handoff_tickets
WHERE ($1 = '' OR state = $1) AND ($2 = '' OR queue = $2) AND ($3 = '' OR agent_id = $3)
  AND ($4 = 0 OR conversation_id = $4) AND id > $6 AND ($7 = '' OR reason = $7)
  AND ($8 = '' OR strpos(lower(summary), $8) > 0 OR strpos(lower(resolution_note), $8) > 0 OR id::text = $8
       OR conversation_id IN (SELECT id FROM conversations WHERE strpos(lower(customer_id), $8) > 0))
ORDER BY `+order+` LIMIT $5`, string(f.State), f.Queue, f.AgentID, f.ConversationID, limit, f.AfterID, f.Reason,
		strings.ToLower(strings.TrimSpace(f.Query)))
	if err != nil {
		return nil, dbError(op, err)
	}
	ts, err := pgx.CollectRows(rows, collectTicket)
	if err != nil {
		return nil, dbError(op, err)
	}
	return ts, nil
}

// QueueStats counts the open tickets per queue; see handoff.Store.
func (d *DB) QueueStats(ctx context.Context, now time.Time) ([]handoff.QueueStat, error) {
	const op = "handoff queue stats"
	rows, err := d.pool.Query(ctx, `SELECT queue,
    count(*) FILTER (WHERE state = 'queued'),
    count(*) FILTER (WHERE state = 'claimed'),
    count(*) FILTER (WHERE due_at < $1)
FROM handoff_tickets WHERE state IN ('queued', 'claimed')
GROUP BY queue ORDER BY queue`, now)
	if err != nil {
		return nil, dbError(op, err)
	}
	stats, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (handoff.QueueStat, error) {
		var s handoff.QueueStat
		err := row.Scan(&s.Queue, &s.Waiting, &s.Claimed, &s.Overdue)
		return s, err
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return stats, nil
}

// QueueLoad reads a queue's waiting count and recent claim times; see
// handoff.Store. A ticket's first claim is the first move of its
// conversation to an agent after it was filed and before it closed: a
// conversation has one open ticket at a time, so that move is this
// ticket's, and a ticket closed unclaimed has none.
func (d *DB) QueueLoad(ctx context.Context, queue string, n int) (handoff.QueueLoad, error) {
	const op = "handoff queue load"
	if err := handoff.ValidateRecent(n); err != nil {
		return handoff.QueueLoad{}, err
	}
	var load handoff.QueueLoad
	err := d.pool.QueryRow(ctx, `SELECT count(*) FROM handoff_tickets WHERE queue = $1 AND state = 'queued'`, queue).Scan(&load.Waiting)
	if err != nil {
		return handoff.QueueLoad{}, dbError(op, err)
	}
	rows, err := d.pool.Query(ctx, `SELECT claimed.at - t.created_at
FROM handoff_tickets t
CROSS JOIN LATERAL (
    SELECT min(tr.at) AS at FROM transitions tr
    WHERE tr.conversation_id = t.conversation_id AND tr.to_state = 'agent' AND tr.at >= t.created_at
      AND (t.closed_at IS NULL OR tr.at <= t.closed_at)
) claimed
WHERE t.queue = $1 AND t.state <> 'queued' AND claimed.at IS NOT NULL
ORDER BY t.id DESC
LIMIT $2`, queue, n)
	if err != nil {
		return handoff.QueueLoad{}, dbError(op, err)
	}
	load.ClaimTimes, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (time.Duration, error) {
		var d time.Duration
		err := row.Scan(&d)
		return d, err
	})
	if err != nil {
		return handoff.QueueLoad{}, dbError(op, err)
	}
	return load, nil
}
