package conversation

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/relais-ai/relais"
)

// Insights reads the recorded decisions back in aggregate, for the people
// who keep the knowledge base: what customers asked that the assistant
// could not answer (Gaps), and how each day's messages were decided
// (DecisionCounts). The contract tests in conversation/storetest
// (RunInsights) hold every implementation to it.
type Insights interface {
	// Gaps returns the knowledge gaps among the decisions recorded since
	// q.Since (see IsGap), grouped by their nearest article, the most
	// frequent first. A gap an editor has answered leaves the list: a
	// decision is no gap once an example with exactly its message's text
	// (any label, handoff included) was saved at or after it; the same
	// question asked again later, and still not answered, is a gap again.
	// A query that ValidateGapQuery refuses is relais.ErrInvalid.
	Gaps(ctx context.Context, q GapQuery) ([]Gap, error)
	// DecisionCounts counts the decisions recorded since since, by day (in
	// UTC), action, reason and intent, oldest day first.
	DecisionCounts(ctx context.Context, since time.Time) ([]DecisionCount, error)
	// ArticleOutcomes counts what became of the decisions recorded since
	// since that concern one article (see ArticleOutcome). An empty
	// article or a zero since is relais.ErrInvalid; an article no
	// decision names has all counts zero.
	ArticleOutcomes(ctx context.Context, article string, since time.Time) (ArticleOutcome, error)
}

// GapReasons are the handoff reasons that mean the assistant did not know
// the answer: nothing in the knowledge base came close (no_knowledge), or
// something did but not close enough to answer (low_confidence, and
// repeated_failure after a request to rephrase). They are the assistant's
// reason codes, which this package cannot import; a test there keeps them
// in step. Other handoffs (a customer asking for a person, a sensitive
// topic, an agent owning the conversation) are no gap in the knowledge.
var GapReasons = []string{"low_confidence", "no_knowledge", "repeated_failure"}

// The actions and the intent that IsGap reads, as the assistant records them.
const (
	actionHandoff  = "handoff"
	actionReply    = "reply"
	actionAnswer   = "answer"
	intentQuestion = "question"
)

// IsGap reports whether a decision is a customer question the assistant
// could not answer: a handoff for one of GapReasons, or a reply to a
// question, which is the assistant asking the customer to rephrase (every
// other reply answers smalltalk or feedback). The stores select the same
// decisions in SQL; the contract suite checks they agree with it.
func IsGap(action, reason, intent string) bool {
	switch action {
	case actionHandoff:
		return slices.Contains(GapReasons, reason)
	case actionReply:
		return intent == intentQuestion
	}
	return false
}

// Limits of a gap query: a console shows a page of gaps with a few
// questions each, not every question of the month.
const (
	MaxGapGroups  = 100
	MaxGapSamples = 10
)

// GapQuery asks for the knowledge gaps of a period.
type GapQuery struct {
	Since   time.Time // decisions recorded at or after it
	Groups  int       // at most this many gaps, 1..MaxGapGroups
	Samples int       // at most this many questions per gap, 1..MaxGapSamples
}

// ValidateGapQuery returns an error wrapping relais.ErrInvalid that names
// the bad field, or nil.
func ValidateGapQuery(q GapQuery) error {
	switch {
	case q.Since.IsZero():
		return fmt.Errorf("gap query: since is required: %w", relais.ErrInvalid)
	case q.Groups < 1 || q.Groups > MaxGapGroups:
		return fmt.Errorf("gap query: groups must be from 1 to %d, got %d: %w", MaxGapGroups, q.Groups, relais.ErrInvalid)
	case q.Samples < 1 || q.Samples > MaxGapSamples:
		return fmt.Errorf("gap query: samples must be from 1 to %d, got %d: %w", MaxGapSamples, q.Samples, relais.ErrInvalid)
	}
	return nil
}

// Gap is the customer questions the assistant could not answer that share
// a nearest article: the first of their decision's Sources, the best
// candidate retrieval found, which the agent was shown. ArticleID is ""
// for the questions nothing came close to.
type Gap struct {
	ArticleID string
	// Count is how many questions; LastAt when the latest was decided.
	Count  int
	LastAt time.Time
	// Samples are the most asked of its questions (the same text asked
	// again counts once, with Times), the latest first among equals.
	Samples []GapSample
}

// AppendGapSample adds one row of a store's gap query to gaps: the sample
// s of the group of article (count questions, the latest at lastAt), which
// starts a new group unless it is the last one's. The stores return the
// groups in order, each one's samples together.
func AppendGapSample(gaps []Gap, article string, count int, lastAt time.Time, s GapSample) []Gap {
	if len(gaps) == 0 || gaps[len(gaps)-1].ArticleID != article {
		gaps = append(gaps, Gap{ArticleID: article, Count: count, LastAt: lastAt})
	}
	last := &gaps[len(gaps)-1]
	last.Samples = append(last.Samples, s)
	return gaps
}

// GapSample is one question of a gap.
type GapSample struct {
	Text string
	// Times is how often the exact text was asked in the period.
	Times int
	// DecisionID, ConversationID and Reason are those of its latest
	// decision; Reason is "" for a request to rephrase.
	DecisionID     int64
	ConversationID int64
	Reason         string
	At             time.Time
}

// DecisionCount is how many decisions of one kind a day saw.
type DecisionCount struct {
	Day    time.Time // midnight UTC
	Action string
	Reason string
	Intent string
	Count  int
}

// DayOutcomes is what became of one day's customer messages.
type DayOutcomes struct {
	Day time.Time // midnight UTC
	// Decided counts the messages the assistant decided on; those it
	// stayed silent on, a person owning the conversation, are left out.
	Decided  int
	Answered int
	// Clarified counts the requests to rephrase; Replied the other
	// replies (greetings, thanks, feedback acknowledged).
	Clarified int
	Replied   int
	// HandedOff counts the handoffs by reason.
	HandedOff map[string]int
	// Helpful and NotHelpful count the customers' replies to "did this
	// help?" after an answer; a "no" is also a negative_feedback handoff.
	Helpful    int
	NotHelpful int
}

// Add counts o's outcomes into d, as the totals of a period; d's Day is
// left as it is.
func (d *DayOutcomes) Add(o DayOutcomes) {
	d.Decided += o.Decided
	d.Answered += o.Answered
	d.Clarified += o.Clarified
	d.Replied += o.Replied
	d.Helpful += o.Helpful
	d.NotHelpful += o.NotHelpful
	if d.HandedOff == nil {
		d.HandedOff = map[string]int{}
	}
	for k, v := range o.HandedOff {
		d.HandedOff[k] += v
	}
}

// Feedback intents and the silent handoff, as the assistant records them.
const (
	intentFeedbackYes = "feedback_yes"
	intentFeedbackNo  = "feedback_no"
	reasonAgentOwned  = "agent_owned"
)

// DailyOutcomes turns counts into one DayOutcomes per day of the days
// starting at from (midnight UTC), days without a decision included, so
// that a chart has no holes. Counts outside them are left out.
func DailyOutcomes(counts []DecisionCount, from time.Time, days int) []DayOutcomes {
	from = StartOfDay(from)
	out := make([]DayOutcomes, days)
	for i := range out {
		out[i] = DayOutcomes{Day: from.AddDate(0, 0, i), HandedOff: map[string]int{}}
	}
	for _, c := range counts {
		i := int(StartOfDay(c.Day).Sub(from) / (24 * time.Hour))
		if c.Day.Before(from) || i >= days {
			continue
		}
		d := &out[i]
		if c.Action == actionHandoff && c.Reason == reasonAgentOwned {
			continue
		}
		d.Decided += c.Count
		switch c.Action {
		case actionAnswer:
			d.Answered += c.Count
		case actionHandoff:
			d.HandedOff[c.Reason] += c.Count
		case actionReply:
			if c.Intent == intentQuestion {
				d.Clarified += c.Count
			} else {
				d.Replied += c.Count
			}
		}
		switch c.Intent {
		case intentFeedbackYes:
			d.Helpful += c.Count
		case intentFeedbackNo:
			d.NotHelpful += c.Count
		}
	}
	return out
}

// StartOfDay is midnight UTC of t's day in UTC: the days of DecisionCounts.
func StartOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// ArticleOutcome is what became of the decisions about one article (its
// external id) in a period: those that had it as their top candidate (the
// first of their Sources), and the customers' replies to "did this help?"
// after an answer citing it.
type ArticleOutcome struct {
	ArticleID string
	// Answered counts the answers citing it; Clarified the requests to
	// rephrase while it was the top candidate.
	Answered  int
	Clarified int
	// HandedOff counts, by reason, the handoffs while it was the top
	// candidate (the silent ones, a person owning the conversation, left
	// out).
	HandedOff map[string]int
	// Helpful and NotHelpful count the feedback after its answers: a
	// feedback decision counts for the article of the latest answer
	// before it in its conversation.
	Helpful    int
	NotHelpful int
}

// FeedbackIntents are the intents of a reply to "did this help?", as the
// assistant records them: the stores look up the answer each one follows.
var FeedbackIntents = []string{intentFeedbackYes, intentFeedbackNo}

// Add counts n decisions of one kind into o: rows of a store's query,
// grouped by action, reason and intent, either about the article directly
// or (a feedback intent) feedback on its answers.
func (o *ArticleOutcome) Add(action, reason, intent string, n int) {
	switch intent {
	case intentFeedbackYes:
		o.Helpful += n
		return
	case intentFeedbackNo:
		o.NotHelpful += n
		return
	}
	switch action {
	case actionAnswer:
		o.Answered += n
	case actionReply:
		if intent == intentQuestion {
			o.Clarified += n
		}
	case actionHandoff:
		if reason == reasonAgentOwned {
			return
		}
		if o.HandedOff == nil {
			o.HandedOff = map[string]int{}
		}
		o.HandedOff[reason] += n
	}
}

// ValidateArticleOutcomes checks an ArticleOutcomes call; the error wraps
// relais.ErrInvalid.
func ValidateArticleOutcomes(article string, since time.Time) error {
	switch {
	case article == "":
		return fmt.Errorf("article outcomes: article is required: %w", relais.ErrInvalid)
	case since.IsZero():
		return fmt.Errorf("article outcomes: since is required: %w", relais.ErrInvalid)
	}
	return nil
}
