package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/conversation"
)

var _ conversation.Insights = (*DB)(nil)

// Gaps groups the gaps since q.Since by the first of their sources; see
// conversation.Insights. One statement: the groups, then the most asked
// texts of each (ties to the latest), ranked by a window function. The gap
// rule is conversation.IsGap's, its reasons passed as an array.
func (d *DB) Gaps(ctx context.Context, q conversation.GapQuery) ([]conversation.Gap, error) {
	const op = "knowledge gaps"
	if err := conversation.ValidateGapQuery(q); err != nil {
		return nil, err
	}
	rows, err := d.pool.Query(ctx, `WITH gaps AS (
		SELECT d.id, d.conversation_id, d.reason, d.created_at, m.text, coalesce(d.sources[1], '') AS article_id
		FROM decisions d JOIN messages m ON m.id = d.message_id
		WHERE d.created_at >= $1
			AND ((d.action = 'handoff' AND d.reason = ANY ($2)) OR (d.action = 'reply' AND d.intent = 'question'))
			AND m.text <> ''
	), groups AS (
		SELECT article_id, count(*) AS n, max(created_at) AS last_at FROM gaps
		GROUP BY article_id ORDER BY n DESC, last_at DESC, article_id LIMIT $3
	), texts AS (
		SELECT article_id, text, count(*) AS times, max(id) AS last_id FROM gaps
		WHERE article_id IN (SELECT article_id FROM groups) GROUP BY article_id, text
	), ranked AS (
		SELECT texts.*, row_number() OVER (PARTITION BY article_id ORDER BY times DESC, last_id DESC) AS rank FROM texts
	)
	SELECT g.article_id, g.n, g.last_at, r.text, r.times, s.id, s.conversation_id, s.reason, s.created_at
	FROM groups g JOIN ranked r ON r.article_id = g.article_id JOIN gaps s ON s.id = r.last_id
	WHERE r.rank <= $4
	ORDER BY g.n DESC, g.last_at DESC, g.article_id COLLATE "C", r.rank`,
		q.Since, conversation.GapReasons, q.Groups, q.Samples)
	if err != nil {
		return nil, dbError(op, err)
	}
	out := []conversation.Gap{}
	var (
		article string
		n       int
		lastAt  time.Time
		s       conversation.GapSample
	)
	_, err = pgx.ForEachRow(rows, []any{&article, &n, &lastAt, &s.Text, &s.Times, &s.DecisionID, &s.ConversationID, &s.Reason, &s.At}, func() error {
		out = conversation.AppendGapSample(out, article, n, lastAt, s)
		return nil
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}

// DecisionCounts counts decisions by UTC day, action, reason and intent;
// see conversation.Insights.
func (d *DB) DecisionCounts(ctx context.Context, since time.Time) ([]conversation.DecisionCount, error) {
	const op = "count decisions"
	rows, err := d.pool.Query(ctx, `SELECT (created_at AT TIME ZONE 'UTC')::date AS day, action, reason, intent, count(*)
		FROM decisions WHERE created_at >= $1
		GROUP BY day, action, reason, intent ORDER BY day, action COLLATE "C", reason COLLATE "C", intent COLLATE "C"`, since)
	if err != nil {
		return nil, dbError(op, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (conversation.DecisionCount, error) {
		var c conversation.DecisionCount
		err := row.Scan(&c.Day, &c.Action, &c.Reason, &c.Intent, &c.Count)
		c.Day = time.Date(c.Day.Year(), c.Day.Month(), c.Day.Day(), 0, 0, 0, 0, time.UTC)
		return c, err
	})
	if err != nil {
		return nil, dbError(op, err)
	}
	return out, nil
}
