package assistant

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant/articlemodel"
	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
	"github.com/relais-ai/relais/redact"
)

// DefaultThreshold is the confidence an answer needs before Relais has
// calibrated itself from examples. It is deliberately strict: on the
// heuristic scale it lets through only near-verbatim matches of an article's
// question or of a labelled example, so an uncalibrated assistant hands off
// rather than guesses.
const DefaultThreshold = 0.85

// The time budget of a decision, within the caller's deadline.
const (
	// retrieveShare is the share of the time left that retrieval may take.
	retrieveShare = 0.5
	// generateMargin is the share of the time left that generation leaves
	// for the extractive fallback and the reply (at least minMargin).
	generateMargin = 0.1
	minMargin      = 500 * time.Millisecond
)

// WithShare returns ctx bounded to share (0..1] of the time it has left, or
// ctx itself, cancellable, when it has no deadline: a stage given a share
// cannot starve the stages after it.
func WithShare(ctx context.Context, share float64) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Duration(share*float64(time.Until(dl))))
}

// withMargin returns ctx ending share of its time left (at least minMargin)
// before its deadline.
func withMargin(ctx context.Context, share float64) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	margin := max(time.Duration(share*float64(time.Until(dl))), minMargin)
	return context.WithDeadline(ctx, dl.Add(-margin))
}

// Retriever finds articles and labelled examples for a message.
// knowledge.Searcher implements it.
type Retriever interface {
	Search(ctx context.Context, query string, opts knowledge.SearchOptions) (knowledge.SearchResult, error)
}

// CalibrationSource returns the current calibration; an error wrapping
// relais.ErrNotFound when there is none.
type CalibrationSource interface {
	Calibration(ctx context.Context) (knowledge.Calibration, error)
}

// Config tunes the assistant.
type Config struct {
	// Threshold, when > 0, pins the confidence threshold instead of the
	// calibrated one.
	Threshold float64
	// MaxWrongRate is the wrong-answer rate calibration aims at
	// (articlemodel.DefaultMaxWrongRate).
	MaxWrongRate float64
	// ClarifyFirst asks the customer to rephrase after a first unclear
	// message instead of handing off at once; the second in a row hands off
	// (repeated_failure).
	ClarifyFirst bool
	// AskFeedback asks "did this help?" after each answer.
	AskFeedback bool
}

// Assistant decides what to do with a customer message.
type Assistant struct {
	Retriever   Retriever
	Intents     *intent.Classifier
	Generator   Generator         // optional: grounded answers by a model
	Calibration CalibrationSource // optional: the self-calibrated threshold
	Config      Config
	Logger      *slog.Logger
	Now         func() time.Time

	calMu     sync.Mutex
	cal       *calibrated
	calLoaded time.Time
}

// calibrated is a calibration with its article model decoded.
type calibrated struct {
	knowledge.Calibration
	model *articlemodel.Model
}

// Input is one customer message with what the assistant remembers of the
// conversation.
type Input struct {
	Text             string
	Language         string // the conversation's language so far, used when the message gives no signal
	AwaitingFeedback bool   // the last answer asked "did this help?"
	Failures         int    // consecutive turns the assistant could not answer
	History          []Turn // earlier turns, oldest first
}

// Decide turns one message into a Decision. It never fails: when a
// dependency is down it hands off with provider_unavailable, so the customer
// always gets either an answer or a person.
func (a *Assistant) Decide(ctx context.Context, in Input) Decision {
	text, lang := messageText(in)
	d := Decision{Language: lang, Intent: IntentQuestion}
	tr := stages{now: a.now, d: &d}
	tr.start()

	detected := intent.Result{Intent: IntentQuestion, Evidence: "empty message"}
	if text != "" && a.Intents != nil {
		detected = a.Intents.Classify(text, lang, in.AwaitingFeedback)
	}
	d.Intent, d.Topic, d.Trace.Intent = detected.Intent, detected.Topic, detected
	tr.done("intent")
	if reply, ok := a.byIntent(d, detected.Intent, text); ok {
		return reply
	}

	threshold, calNote, model := a.threshold(ctx)
	d.Trace.Threshold, d.Trace.Calibration = threshold, calNote
	// Retrieval may call a remote embedder: it gets a share of the time
	// left, so that a provider that hangs still leaves time to hand off.
	retrieveCtx, cancel := WithShare(ctx, retrieveShare)
	defer cancel()
	res, ev, conf, err := a.retrieve(retrieveCtx, &d, &tr, model, threshold, text, in)
	if err != nil {
		a.logger().WarnContext(ctx, "assistant: retrieval failed", "error", err)
		d.Trace.Notes = append(d.Trace.Notes, "retrieval failed: "+errorKind(err))
		return a.handoff(d, ReasonProviderUnavailable)
	}
	d.traceEvidence(ev, res, conf)

	switch {
	case len(ev.Candidates()) == 0:
		return a.handoff(d, ReasonNoKnowledge)
	case conf < threshold:
		return a.belowThreshold(d, in.Failures)
	}
	d = a.answer(ctx, d, text, in.History, ev.Candidates()[0], res)
	tr.done("compose")
	return d
}

// messageText returns the text of in that retrieval reads (trimmed, cut at
// knowledge.MaxQueryBytes) and its language: the detected one, or the
// channel's when detection cannot tell.
func messageText(in Input) (text, lang string) {
	text = knowledge.QueryText(in.Text)
	lang = language.Detect(text)
	if lang == language.Unknown {
		lang = in.Language
	}
	return text, lang
}

// stages times a decision's stages into its trace.
type stages struct {
	now  func() time.Time
	d    *Decision
	last time.Time
}

func (s *stages) start() { s.last = s.now() }

// done records the stage that ends now, begun when the last one ended.
func (s *stages) done(name string) {
	t := s.now()
	s.d.Trace.Stages = append(s.d.Trace.Stages, Stage{Name: name, Duration: t.Sub(s.last)})
	s.last = t
}

// byIntent decides what the intent alone decides, and true then: a
// request for a person, a sensitive topic and a "no" to "did this help?"
// go to a person; small talk and an empty message get a reply. A question
// returns false: retrieval decides.
func (a *Assistant) byIntent(d Decision, detected, text string) (Decision, bool) {
	switch detected {
	case IntentHumanRequest:
		return a.handoff(d, ReasonCustomerRequest), true
	case IntentSensitive:
		return a.handoff(d, ReasonSensitiveTopic), true
	case IntentFeedbackNo:
		return a.handoff(d, ReasonNegativeFeedback), true
	case IntentGreeting, IntentThanks, IntentGoodbye, IntentFeedbackYes:
		d.Action = Reply
		d.Text = smalltalkReply(detected, d.Language)
		return d, true
	}
	if text == "" {
		d.Action = Reply
		d.Text = replyText(d.Language, "empty")
		return d, true
	}
	return d, false
}

// retrieve searches for the message and weighs the evidence with model.
//
// A short follow-up ("and for a parcel abroad?") may only make sense with
// the previous question, and a rephrasing after a request to rephrase
// (in.Failures > 0) says more together with the first try than alone: when
// the message alone is not enough (under threshold), both are classified
// together too, and the more confident of the two is kept (the trace's
// Query says when it was the pair).
func (a *Assistant) retrieve(ctx context.Context, d *Decision, tr *stages, model *articlemodel.Model, threshold float64,
	text string, in Input) (knowledge.SearchResult, articlemodel.Evidence, float64, error) {
	opts := knowledge.SearchOptions{Limit: 5, Language: d.Language, Examples: articlemodel.ExamplesFetched}
	res, err := a.Retriever.Search(ctx, text, opts)
	tr.done("retrieve")
	if err != nil {
		return res, articlemodel.Evidence{}, 0, err
	}
	ev := model.Evidence(res, text, d.Language)
	conf := model.Confidence(ev)
	if prev := previousQuestion(in.History); conf < threshold && prev != "" && (in.Failures > 0 || utf8.RuneCountInString(text) < 80) {
		combined := prev + " " + text
		if res2, err := a.Retriever.Search(ctx, combined, opts); err == nil {
			ev2 := model.Evidence(res2, combined, d.Language)
			if c2 := model.Confidence(ev2); c2 > conf {
				res, ev, conf = res2, ev2, c2
				d.Trace.Query = combined
			}
		}
		tr.done("retrieve_followup")
	}
	return res, ev, conf, nil
}

// traceEvidence records what the decision weighed: the confidence, the
// best candidates and nearest examples, and the articles to suggest.
func (d *Decision) traceEvidence(ev articlemodel.Evidence, res knowledge.SearchResult, conf float64) {
	d.Confidence = conf
	d.Trace.Candidates = ev.Candidates()
	if len(d.Trace.Candidates) > 5 {
		d.Trace.Candidates = d.Trace.Candidates[:5]
	}
	for i, m := range res.Examples {
		if i == articlemodel.ExampleVoters {
			break
		}
		d.Trace.Examples = append(d.Trace.Examples, ExampleNote{Text: m.Text, ArticleID: m.ArticleID, Score: m.Score})
	}
	d.Sources = suggestions(ev.Candidates(), res)
}

// belowThreshold is the decision when no answer is confident enough: ask to
// rephrase the first time (Config.ClarifyFirst), a person otherwise.
func (a *Assistant) belowThreshold(d Decision, failures int) Decision {
	if a.Config.ClarifyFirst && failures == 0 {
		d.Action = Reply
		d.Text = replyText(d.Language, "clarify")
		d.Trace.Notes = append(d.Trace.Notes, "below threshold: asked to rephrase")
		return d
	}
	if failures > 0 {
		return a.handoff(d, ReasonRepeatedFailure)
	}
	return a.handoff(d, ReasonLowConfidence)
}

// answer composes the answer from the best candidate's article, or hands
// off when that article cannot be read.
func (a *Assistant) answer(ctx context.Context, d Decision, text string, history []Turn, best Candidate, res knowledge.SearchResult) Decision {
	hit, ok := findHit(res, best.ArticleID)
	if !ok {
		hit, ok = a.loadArticle(ctx, best.ArticleID)
	}
	if !ok {
		// The candidate came from examples or the classifier only, and its
		// article could not be read: nothing to quote.
		d.Trace.Notes = append(d.Trace.Notes, "best candidate's article not retrieved")
		return a.handoff(d, ReasonLowConfidence)
	}
	return a.compose(ctx, d, text, d.Language, history, best, hit, res)
}

// articleLoader reads articles by external id. knowledge.Searcher
// implements it.
type articleLoader interface {
	ArticlesByExternalID(ctx context.Context, externalIDs []string) ([]knowledge.Article, error)
}

// loadArticle reads the article the classifier picked when retrieval did not
// bring it up, so that whether it is answered depends on the classifier
// alone, not on how the store ranks full text; false when the retriever
// cannot load articles, or the article is gone.
func (a *Assistant) loadArticle(ctx context.Context, externalID string) (knowledge.Hit, bool) {
	l, ok := a.Retriever.(articleLoader)
	if !ok {
		return knowledge.Hit{}, false
	}
	articles, err := l.ArticlesByExternalID(ctx, []string{externalID})
	if err != nil {
		a.logger().WarnContext(ctx, "assistant: load the best candidate's article", "error", err)
		return knowledge.Hit{}, false
	}
	for _, art := range articles {
		if art.ExternalID == externalID {
			return knowledge.Hit{Article: art}, true
		}
	}
	return knowledge.Hit{}, false
}

// compose writes the answer: by the model when one is configured, else (or
// when it fails) extractively from the best article.
func (a *Assistant) compose(ctx context.Context, d Decision, question, lang string, history []Turn, best articlemodel.Candidate, hit knowledge.Hit, res knowledge.SearchResult) Decision {
	if a.Generator != nil {
		// The model gets the time left but a margin: when it fails, the
		// extractive answer still goes out in time.
		genCtx, cancel := withMargin(ctx, generateMargin)
		defer cancel()
		g, err := a.Generator.Generate(genCtx, GenerateRequest{Question: question, Language: lang, History: history, Passages: passages(res)})
		switch {
		case err == nil && g.Refused:
			d.Trace.Generator = g.Model + ": refused"
			return a.handoff(d, ReasonLowConfidence)
		case err == nil && redact.HasPlaceholder(g.Text):
			// The model was given the customer's text with personal data
			// replaced by placeholders, and wrote one back: the customer
			// would read "[EMAIL_1]". The placeholder cannot be filled in
			// with the original here (this package never sees it, by
			// design), and an answer that needs the customer's own data
			// is not a knowledge-base answer anyway.
			d.Trace.Generator = g.Model + ": reply showed a redacted value, extractive answer instead"
		case err == nil:
			if src, ok := citedSources(g.Citations, res); ok {
				d.Action, d.Text, d.Sources = Answer, g.Text, src
				d.Trace.Generator, d.Trace.Generated = g.Model, true
				d.AskFeedback = a.Config.AskFeedback
				return d
			}
			d.Trace.Generator = "cited nothing retrieved: extractive answer instead"
		default:
			a.logger().WarnContext(ctx, "assistant: generator failed, answering extractively", "error", err)
			d.Trace.Generator = "unavailable (" + errorKind(err) + "): extractive answer instead"
		}
	}
	d.Action = Answer
	d.Text = extractiveAnswer(hit)
	d.Sources = append([]Source{{ArticleID: best.ArticleID, Title: hit.Article.Title, ChunkID: hit.Passage.ID, Score: best.Score}},
		without(d.Sources, best.ArticleID)...)
	d.AskFeedback = a.Config.AskFeedback
	return d
}

func (a *Assistant) handoff(d Decision, reason string) Decision {
	d.Action = Handoff
	d.Reason = reason
	d.Text = handoffText(d.Language)
	d.AskFeedback = false
	return d
}

// threshold returns the threshold in force, a note for the trace, and the
// calibrated article model if any (nil: the heuristic confidence). The calibration is re-read at most
// every 30 s so that a new one (after an import of examples) takes effect
// without a restart and without a query per message.
func (a *Assistant) threshold(ctx context.Context) (float64, string, *articlemodel.Model) {
	cal := a.calibration(ctx)
	var model *articlemodel.Model
	if cal != nil {
		model = cal.model
	}
	if a.Config.Threshold > 0 {
		if model == nil {
			return a.Config.Threshold, "pinned (heuristic confidence)", nil
		}
		return a.Config.Threshold, "pinned (calibrated confidence)", model
	}
	switch {
	case cal == nil:
		return DefaultThreshold, fmt.Sprintf("default: fewer than %d examples to calibrate from", articlemodel.MinCalibrationExamples), nil
	case model == nil:
		return DefaultThreshold, "default: the calibration was made by an older version; import examples or run relais ingest --examples again to recalibrate", nil
	}
	return cal.Threshold, fmt.Sprintf("calibrated on %d examples: estimated resolution %.1f%%, wrong answers %.1f%%",
		cal.Samples, 100*cal.EstimatedResolution, 100*cal.EstimatedWrongRate), model
}

func (a *Assistant) calibration(ctx context.Context) *calibrated {
	if a.Calibration == nil {
		return nil
	}
	a.calMu.Lock()
	defer a.calMu.Unlock()
	if !a.calLoaded.IsZero() && a.now().Sub(a.calLoaded) < 30*time.Second {
		return a.cal
	}
	c, err := a.Calibration.Calibration(ctx)
	switch {
	case err == nil && a.cal != nil && a.cal.CreatedAt.Equal(c.CreatedAt) && bytes.Equal(a.cal.Calibration.Classifier, c.Classifier):
		// The same calibration as last time: keep what was decoded.
	case err == nil:
		a.cal = a.decode(ctx, c)
	case errors.Is(err, relais.ErrNotFound):
		a.cal = nil
	default:
		a.logger().WarnContext(ctx, "assistant: read calibration", "error", err)
		return a.cal // keep the last one known
	}
	a.calLoaded = a.now()
	return a.cal
}

// decode prepares a stored calibration for use (articlemodel.Decode): a
// calibration without a usable model, or whose classifier cannot be read,
// leaves the default threshold in force.
func (a *Assistant) decode(ctx context.Context, c knowledge.Calibration) *calibrated {
	model, err := articlemodel.Decode(c)
	if err != nil {
		a.logger().WarnContext(ctx, "assistant: calibration unusable, default threshold applies", "error", err)
	}
	return &calibrated{Calibration: c, model: model}
}

// ResetCalibrationCache makes the next decision re-read the calibration.
func (a *Assistant) ResetCalibrationCache() {
	a.calMu.Lock()
	a.calLoaded = time.Time{}
	a.calMu.Unlock()
}

func (a *Assistant) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Assistant) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// extractiveAnswer quotes the article: its whole body when short, else the
// passage that matched (without the label line the chunker prefixes).
func extractiveAnswer(hit knowledge.Hit) string {
	body := strings.TrimSpace(hit.Article.Body)
	if utf8.RuneCountInString(body) <= 1000 || hit.Passage.Kind != knowledge.Passage {
		if utf8.RuneCountInString(body) > 1000 {
			return truncateAtSentence(body, 1000)
		}
		if body == "" {
			return hit.Article.Title
		}
		return body
	}
	text := hit.Passage.Text
	if _, rest, ok := strings.Cut(text, "\n"); ok {
		text = rest
	}
	return strings.TrimSpace(text)
}

func truncateAtSentence(s string, max int) string {
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	cut := string(r[:max])
	if i := strings.LastIndexAny(cut, ".!?\n"); i > max/2 {
		return strings.TrimSpace(cut[:i+1])
	}
	return strings.TrimSpace(cut) + "…"
}

func previousQuestion(history []Turn) string {
	for i := len(history) - 1; i >= 0; i-- {
		if history[i].Role == "customer" {
			return history[i].Text
		}
	}
	return ""
}

func findHit(res knowledge.SearchResult, articleID string) (knowledge.Hit, bool) {
	for _, h := range res.Hits {
		if h.Article.ExternalID == articleID {
			return h, true
		}
	}
	return knowledge.Hit{}, false
}

// suggestions lists the retrieved articles, best candidate first, for the
// agent on a handoff and as secondary sources on an answer.
func suggestions(candidates []articlemodel.Candidate, res knowledge.SearchResult) []Source {
	var out []Source
	for _, c := range candidates {
		if h, ok := findHit(res, c.ArticleID); ok {
			out = append(out, Source{ArticleID: c.ArticleID, Title: h.Article.Title, ChunkID: h.Passage.ID, Score: c.Score})
		}
		if len(out) == 3 {
			break
		}
	}
	return out
}

func without(src []Source, articleID string) []Source {
	var out []Source
	for _, s := range src {
		if s.ArticleID != articleID {
			out = append(out, s)
		}
	}
	return out
}

func passages(res knowledge.SearchResult) []Passage {
	var out []Passage
	for _, h := range res.Hits {
		out = append(out, Passage{ArticleID: h.Article.ExternalID, Title: h.Article.Title, Text: truncateAtSentence(h.Article.Body, 2000)})
	}
	return out
}

// citedSources maps a model's citations to retrieved articles, dropping any
// it was not given; ok is false when none is left.
func citedSources(citations []string, res knowledge.SearchResult) ([]Source, bool) {
	var out []Source
	seen := make(map[string]bool)
	for _, id := range citations {
		if seen[id] {
			continue
		}
		if h, ok := findHit(res, id); ok {
			seen[id] = true
			out = append(out, Source{ArticleID: id, Title: h.Article.Title, ChunkID: h.Passage.ID, Score: h.Score})
		}
	}
	return out, len(out) > 0
}

// errorKind names an error's class for traces, which must not carry
// provider messages (they may echo customer text).
func errorKind(err error) string {
	switch {
	case errors.Is(err, relais.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, relais.ErrInvalid):
		return "invalid reply"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	default:
		return "error"
	}
}
