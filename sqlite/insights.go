package sqlite

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/relais-ai/relais/conversation"
)

var _ conversation.Insights = (*DB)(nil)

// gapFilter selects the decisions conversation.IsGap calls gaps, with
// their message's text (d for decisions, m for messages); its arguments
// are gapArgs. A decision about no message, or about one without text (a
// photo without a caption), teaches nothing about the knowledge base and
// is left out, as is one an example has answered since (see
// conversation.Insights). examples has no index on its text: SQLite builds
// a transient one for the query when that is cheaper than a scan per gap.
func gapFilter() (string, []any) {
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(conversation.GapReasons)), ", ")
	args := make([]any, 0, len(conversation.GapReasons))
	for _, r := range conversation.GapReasons {
		args = append(args, r)
	}
	return `((d.action = 'handoff' AND d.reason IN (` + marks + `)) OR (d.action = 'reply' AND d.intent = 'question'))
		AND m.text <> ''
		AND NOT EXISTS (SELECT 1 FROM examples e WHERE e.text = m.text AND e.created_at >= d.created_at)`, args
}

// Gaps groups the gaps since q.Since by the first of their sources; see
// conversation.Insights. One statement: the groups, then the most asked
// texts of each (ties to the latest), ranked by a window function.
func (db *DB) Gaps(ctx context.Context, q conversation.GapQuery) ([]conversation.Gap, error) {
	const op = "knowledge gaps"
	if err := conversation.ValidateGapQuery(q); err != nil {
		return nil, err
	}
	filter, args := gapFilter()
	query := `WITH gaps AS (
		SELECT d.id, d.conversation_id, d.reason, d.created_at, m.text,
			coalesce(json_extract(d.sources, '$[0]'), '') AS article_id
		FROM decisions d JOIN messages m ON m.id = d.message_id
		WHERE d.created_at >= ? AND ` + filter + `
	), groups AS (
		SELECT article_id, count(*) AS n, max(created_at) AS last_at FROM gaps
		GROUP BY article_id ORDER BY n DESC, last_at DESC, article_id LIMIT ?
	), texts AS (
		SELECT article_id, text, count(*) AS times, max(id) AS last_id FROM gaps
		WHERE article_id IN (SELECT article_id FROM groups) GROUP BY article_id, text
	), ranked AS (
		SELECT texts.*, row_number() OVER (PARTITION BY article_id ORDER BY times DESC, last_id DESC) AS rank FROM texts
	)
	SELECT g.article_id, g.n, g.last_at, r.text, r.times, s.id, s.conversation_id, s.reason, s.created_at
	FROM groups g JOIN ranked r ON r.article_id = g.article_id JOIN gaps s ON s.id = r.last_id
	WHERE r.rank <= ?
	ORDER BY g.n DESC, g.last_at DESC, g.article_id, r.rank`
	all := append([]any{formatTime(q.Since)}, args...)
	all = append(all, q.Groups, q.Samples)
	out := []conversation.Gap{}
	err := forEachRow(ctx, db.reader, func(r rowScanner) error {
		var (
			article, lastAt, at string
			n                   int
			s                   conversation.GapSample
		)
		if err := r.Scan(&article, &n, &lastAt, &s.Text, &s.Times, &s.DecisionID, &s.ConversationID, &s.Reason, &at); err != nil {
			return err
		}
		var err error
		if s.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return fmt.Errorf("decision %d created_at: %w", s.DecisionID, err)
		}
		last, err := time.Parse(time.RFC3339Nano, lastAt)
		if err != nil {
			return fmt.Errorf("gap %q last decision: %w", article, err)
		}
		out = conversation.AppendGapSample(out, article, n, last, s)
		return nil
	}, query, all...)
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// DecisionCounts counts decisions by UTC day, action, reason and intent;
// see conversation.Insights. Stored times are UTC text, so the day is the
// text's first ten characters.
func (db *DB) DecisionCounts(ctx context.Context, since time.Time) ([]conversation.DecisionCount, error) {
	const op = "count decisions"
	out, err := collectRows(ctx, db.reader, func(r rowScanner) (conversation.DecisionCount, error) {
		var c conversation.DecisionCount
		var day string
		if err := r.Scan(&day, &c.Action, &c.Reason, &c.Intent, &c.Count); err != nil {
			return c, err
		}
		var err error
		if c.Day, err = time.Parse(time.DateOnly, day); err != nil {
			return c, fmt.Errorf("decision day %q: %w", day, err)
		}
		return c, nil
	}, `SELECT substr(created_at, 1, 10) AS day, action, reason, intent, count(*) FROM decisions
		WHERE created_at >= ? GROUP BY day, action, reason, intent ORDER BY day, action, reason, intent`, formatTime(since))
	if err != nil {
		return nil, wrapErr(op, err)
	}
	return out, nil
}

// ArticleOutcomes counts the decisions about one article since since; see
// conversation.Insights. The decisions that had it as top candidate, then
// the feedback whose conversation's latest answer before it cited it
// (decisions_conversation serves that lookup).
func (db *DB) ArticleOutcomes(ctx context.Context, article string, since time.Time) (conversation.ArticleOutcome, error) {
	op := fmt.Sprintf("outcomes of article %q", article)
	if err := conversation.ValidateArticleOutcomes(article, since); err != nil {
		return conversation.ArticleOutcome{}, err
	}
	out := conversation.ArticleOutcome{ArticleID: article}
	from := formatTime(since)
	err := forEachRow(ctx, db.reader, func(r rowScanner) error {
		var action, reason, intent string
		var n int
		if err := r.Scan(&action, &reason, &intent, &n); err != nil {
			return err
		}
		out.Add(action, reason, intent, n)
		return nil
	}, `SELECT action, reason, intent, count(*) FROM decisions
		WHERE created_at >= ?1 AND json_extract(sources, '$[0]') = ?2
		GROUP BY action, reason, intent
	UNION ALL
	SELECT f.action, f.reason, f.intent, count(*) FROM decisions f
		WHERE f.created_at >= ?1 AND f.intent IN (?3, ?4)
			AND (SELECT json_extract(a.sources, '$[0]') FROM decisions a
				WHERE a.conversation_id = f.conversation_id AND a.id < f.id AND a.action = 'answer'
				ORDER BY a.id DESC LIMIT 1) = ?2
		GROUP BY f.action, f.reason, f.intent`,
		from, article, conversation.FeedbackIntents[0], conversation.FeedbackIntents[1])
	if err != nil {
		return conversation.ArticleOutcome{}, wrapErr(op, err)
	}
	return out, nil
}
