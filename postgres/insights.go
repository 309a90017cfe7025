package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/relais-ai/relais/conversation"
)

var _ conversation.Insights = (*DB)(nil)

// Gaps groups the gaps since q.Since by the first of their sources; see
// conversation.Insights. One statement: the groups, then the most asked
// texts of each (ties to the latest), ranked by a window function. The gap
// rule is conversation.IsGap's, its reasons passed as an array; a question
// an example has answered since is left out.
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
			-- Answered since by an editor: an anti-join, hashed over
			-- examples, which needs no index on their text.
			AND NOT EXISTS (SELECT 1 FROM examples e WHERE e.text = m.text AND e.created_at >= d.created_at)
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

// ArticleOutcomes counts the decisions about one article since since; see
// conversation.Insights. The decisions that had it as top candidate, then
// the feedback whose conversation's latest answer before it cited it
// (decisions_conversation_idx serves that lookup).
func (d *DB) ArticleOutcomes(ctx context.Context, article string, since time.Time) (conversation.ArticleOutcome, error) {
	op := fmt.Sprintf("outcomes of article %q", article)
	if err := conversation.ValidateArticleOutcomes(article, since); err != nil {
		return conversation.ArticleOutcome{}, err
	}
	rows, err := d.pool.Query(ctx, `SELECT action, reason, intent, count(*) FROM decisions
		WHERE created_at >= $1 AND sources[1] = $2
		GROUP BY action, reason, intent
	UNION ALL
	SELECT f.action, f.reason, f.intent, count(*) FROM decisions f
		WHERE f.created_at >= $1 AND f.intent = ANY ($3)
			AND (SELECT a.sources[1] FROM decisions a
				WHERE a.conversation_id = f.conversation_id AND a.id < f.id AND a.action = 'answer'
				ORDER BY a.id DESC LIMIT 1) = $2
		GROUP BY f.action, f.reason, f.intent`, since, article, conversation.FeedbackIntents)
	if err != nil {
		return conversation.ArticleOutcome{}, dbError(op, err)
	}
	out := conversation.ArticleOutcome{ArticleID: article}
	var (
		action, reason, intent string
		n                      int
	)
	_, err = pgx.ForEachRow(rows, []any{&action, &reason, &intent, &n}, func() error {
		out.Add(action, reason, intent, n)
		return nil
	})
	if err != nil {
		return conversation.ArticleOutcome{}, dbError(op, err)
	}
	return out, nil
}
