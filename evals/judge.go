package evals

import (
	"context"
	"errors"
	"fmt"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
)

// Judge grades an answer a model wrote against the articles that hold the
// right answer. The offline verdict (the cited article is a gold one) cannot
// tell a model's answer that cites the right article but says something the
// article does not; a judge can, at the price of a model call per answer and
// of being a model itself. It is off unless Runner.Judge is set.
type Judge interface {
	// Judge grades req.Answer. Errors wrap relais.ErrInvalid when the request
	// is unusable or the judge's reply is, relais.ErrUnavailable when the
	// judge cannot be reached, or ctx.Err(). The run never fails on them:
	// the offline verdict then stands, and the error is counted.
	Judge(ctx context.Context, req JudgeRequest) (JudgeVerdict, error)
}

// JudgeRequest is what a judge reads: the customer's question, the answer
// given, and the gold articles it should agree with.
type JudgeRequest struct {
	Question string
	Answer   string
	Gold     []GoldArticle
}

// GoldArticle is one article that answers the question.
type GoldArticle struct {
	ID    string // external id, as in gold_article_ids
	Title string
	Body  string
}

// JudgeVerdict is a judge's grade of one answer.
type JudgeVerdict struct {
	// Correct is true when the answer answers the question and everything
	// it says is supported by the gold articles.
	Correct bool
	// Reason is the judge's one-sentence explanation.
	Reason string
	// Model is the model that judged, as its server names it.
	Model string
}

// Values of Outcome.JudgeVerdict.
const (
	VerdictCorrect   = "correct"
	VerdictIncorrect = "incorrect"
)

// modelWritten reports whether the answer of d was written by the
// generator. An extractive answer quotes the cited article, so there is
// nothing for a judge to add.
func modelWritten(d assistant.Decision) bool {
	return d.Action == assistant.Answer && d.Trace.Generated
}

// judge asks r.Judge about o's answer when the run has a judge and the
// outcome is one the offline verdict counts correct for a model-written
// answer: those are the only ones a judge can turn wrong. A failed judge
// call leaves the offline verdict and records why in o.JudgeError; only a
// store failure is returned.
func (r *Runner) judge(ctx context.Context, st Store, o *Outcome, d assistant.Decision) error {
	if r.Judge == nil || !o.Correct() || !modelWritten(d) {
		return nil
	}
	req := JudgeRequest{Question: o.Question.Question, Answer: d.Text}
	for _, id := range o.Question.Gold {
		a, err := st.ArticleByExternalID(ctx, id)
		if errors.Is(err, relais.ErrNotFound) {
			continue // a gold id missing from the knowledge base: judge on the others
		}
		if err != nil {
			return fmt.Errorf("eval: question %s: read gold article %s: %w", o.Question.ID, id, err)
		}
		req.Gold = append(req.Gold, GoldArticle{ID: a.ExternalID, Title: a.Title, Body: a.Body})
	}
	v, err := r.Judge.Judge(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The error names the operation and the status, never the texts.
		r.logger().WarnContext(ctx, "eval: judge failed; the cited article decides",
			"question", o.Question.ID, "error", err)
		o.JudgeError = err.Error()
		return nil
	}
	o.JudgeVerdict, o.JudgeReason = VerdictIncorrect, v.Reason
	if v.Correct {
		o.JudgeVerdict = VerdictCorrect
	}
	return nil
}
