package ingest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
)

// ExampleStore is what importing examples needs from the knowledge store.
type ExampleStore interface {
	ArticleHashes(ctx context.Context, source string) (map[string]string, error)
	SetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error
	SaveExamples(ctx context.Context, examples []knowledge.Example) (int, error)
	DeleteExamples(ctx context.Context, source string) (int, error)
}

// ExampleResult is what happened to one file of examples.
type ExampleResult struct {
	File     string
	Read     int // examples in the file
	Added    int // new ones (the others were stored already)
	Handoff  int // labelled as needing a person
	Removed  int // with replace: the source's examples stored before
	Problems []error
	Err      error
}

// handoffLabels are what a CSV may put in the article column of a question
// that must reach a person.
var handoffLabels = map[string]bool{"": true, "handoff": true, "human": true, "agent": true, "-": true}

// ParseExamples reads labelled customer questions (DESIGN.md section 7):
//   - .jsonl: the eval questions format {"question", "gold_article_ids",
//     "expected"}: "handoff" (or no gold article) labels the question as one
//     for a person; otherwise its first gold article is the label. Also
//     {"question"|"text", "article_id"}.
//   - .csv: a header with a question (or text) column and an article_id (or
//     article) column; an empty cell, "handoff" or "human" labels a handoff.
//
// A bad line is a problem with its line number; the others are read.
func ParseExamples(name string, data []byte) ([]knowledge.Example, []error, error) {
	text, ferr := decodeText(name, data)
	if ferr != nil {
		return nil, nil, ferr
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil, invalidf(name, 0, "file is empty")
	}
	switch fileExt(name) {
	case ".jsonl", ".ndjson":
		return parseExamplesJSONL(name, text)
	case ".csv":
		return parseExamplesCSV(name, text)
	default:
		return nil, nil, invalidf(name, 0, "unsupported examples file type %q; use .jsonl (eval questions format) or .csv (question,article_id)", fileExt(name))
	}
}

func parseExamplesJSONL(name, text string) ([]knowledge.Example, []error, error) {
	var out []knowledge.Example
	var problems []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var obj struct {
			Question  string   `json:"question"`
			Text      string   `json:"text"`
			Gold      []string `json:"gold_article_ids"`
			ArticleID *string  `json:"article_id"`
			Expected  string   `json:"expected"`
		}
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			problems = append(problems, invalidf(name, i+1, "not a JSON object: %s", describeJSONError(err)))
			continue
		}
		q := strings.TrimSpace(obj.Question)
		if q == "" {
			q = strings.TrimSpace(obj.Text)
		}
		if q == "" {
			problems = append(problems, invalidf(name, i+1, "no \"question\" (or \"text\")"))
			continue
		}
		if _, err := knowledge.ValidateExampleText(q); err != nil {
			problems = append(problems, &FileError{File: name, Line: i + 1, Err: fmt.Errorf("question: %w", err)})
			continue
		}
		label := knowledge.HandoffLabel
		switch {
		case obj.Expected == "handoff":
		case len(obj.Gold) > 0:
			label = strings.TrimSpace(obj.Gold[0])
		case obj.ArticleID != nil:
			if !handoffLabels[strings.ToLower(strings.TrimSpace(*obj.ArticleID))] {
				label = strings.TrimSpace(*obj.ArticleID)
			}
		case obj.Expected == "answer":
			problems = append(problems, invalidf(name, i+1, "expected is \"answer\" but gold_article_ids is empty"))
			continue
		}
		out = append(out, knowledge.Example{Text: q, ArticleID: label})
	}
	return out, problems, nil
}

func parseExamplesCSV(name, text string) ([]knowledge.Example, []error, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, nil, invalidf(name, 1, "cannot read the header row: %v", err)
	}
	qCol, aCol := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))) {
		case "question", "text", "message", "utterance":
			qCol = i
		case "article_id", "article", "label", "answer_id":
			aCol = i
		}
	}
	if qCol < 0 || aCol < 0 {
		return nil, nil, invalidf(name, 1, "the header needs a question column and an article_id column (found: %s)", strings.Join(header, ", "))
	}
	var out []knowledge.Example
	var problems []error
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				problems = append(problems, invalidf(name, pe.StartLine, "%s", describeCSVError(pe)))
				continue
			}
			return out, problems, invalidf(name, 0, "%v", err)
		}
		line, _ := r.FieldPos(0)
		if qCol >= len(rec) || aCol >= len(rec) {
			problems = append(problems, invalidf(name, line, "row has %d fields, the header %d", len(rec), len(header)))
			continue
		}
		q, err := knowledge.ValidateExampleText(rec[qCol])
		if err != nil {
			problems = append(problems, &FileError{File: name, Line: line, Err: fmt.Errorf("question: %w", err)})
			continue
		}
		label := strings.TrimSpace(rec[aCol])
		if handoffLabels[strings.ToLower(label)] {
			label = knowledge.HandoffLabel
		}
		out = append(out, knowledge.Example{Text: q, ArticleID: label})
	}
	return out, problems, nil
}

// ImportExamples reads one file of labelled questions, embeds them and
// stores them under source. With replace, the source's earlier examples are
// removed first, so a re-exported history file replaces the old one. An
// example naming an article the knowledge base does not have is a problem
// and is skipped: it could only ever vote for nothing.
func (im *Importer) ImportExamples(ctx context.Context, store ExampleStore, name, source string, r io.Reader, replace bool) (ExampleResult, error) {
	res := ExampleResult{File: name}
	data, err := readLimited(name, r, im.maxFileBytes())
	if err != nil {
		res.Err = err
		return res, nil
	}
	examples, problems, err := ParseExamples(name, data)
	res.Problems = problems
	if err != nil {
		res.Err = err
		return res, nil
	}
	res.Read = len(examples)
	if err := store.SetEmbeddingSpace(ctx, im.Embedder.Space()); err != nil {
		return res, fmt.Errorf("import examples: %w", err)
	}
	known, err := store.ArticleHashes(ctx, "")
	if err != nil {
		return res, fmt.Errorf("import examples: read articles: %w", err)
	}
	if replace {
		n, err := store.DeleteExamples(ctx, source)
		if err != nil {
			return res, fmt.Errorf("import examples: replace: %w", err)
		}
		res.Removed = n
	}
	added, unknown, err := im.addExamples(ctx, store, source, examples, known, func(done, total int) {
		if im.Progress != nil {
			im.Progress(Progress{Done: done, Total: total, File: name})
		}
	})
	res.Added = added
	for _, e := range examples {
		if e.ArticleID == knowledge.HandoffLabel {
			res.Handoff++
		}
	}
	for id, n := range unknown {
		res.Problems = append(res.Problems, &FileError{File: name, Err: fmt.Errorf("%d examples name article %q, which is not in the knowledge base (import the articles first): skipped", n, id)})
	}
	if err != nil {
		return res, fmt.Errorf("import examples: %w", err)
	}
	return res, nil
}

// AddExamples stores labelled questions under source, as an import does
// (the language detected, embedded, those stored already skipped), and
// returns how many were new. An example naming an article the knowledge
// base does not have is refused, with relais.ErrNotFound, and nothing is
// stored: a person labelling questions one by one wants to hear it, where
// a file's import skips the line. An empty text is relais.ErrInvalid.
func (im *Importer) AddExamples(ctx context.Context, store ExampleStore, source string, examples []knowledge.Example) (int, error) {
	for i, e := range examples {
		if _, err := knowledge.ValidateExampleText(e.Text); err != nil {
			return 0, fmt.Errorf("add examples: question %d: %w", i+1, err)
		}
	}
	if err := store.SetEmbeddingSpace(ctx, im.Embedder.Space()); err != nil {
		return 0, fmt.Errorf("add examples: %w", err)
	}
	known, err := store.ArticleHashes(ctx, "")
	if err != nil {
		return 0, fmt.Errorf("add examples: read articles: %w", err)
	}
	for _, e := range examples {
		if _, ok := known[e.ArticleID]; !ok && e.ArticleID != knowledge.HandoffLabel {
			return 0, fmt.Errorf("add examples: there is no article %q: %w", e.ArticleID, relais.ErrNotFound)
		}
	}
	n, _, err := im.addExamples(ctx, store, source, examples, known, nil)
	if err != nil {
		return n, fmt.Errorf("add examples: %w", err)
	}
	return n, nil
}

// addExamples stores the examples that name an article of known (or a
// person) under source, in batches, and returns how many were new and how
// many named each unknown article. The caller has recorded the embedding
// space. progress, when set, hears of every batch.
func (im *Importer) addExamples(ctx context.Context, store ExampleStore, source string, examples []knowledge.Example,
	known map[string]string, progress func(done, total int)) (int, map[string]int, error) {
	kept := make([]knowledge.Example, 0, len(examples))
	unknown := make(map[string]int)
	for _, e := range examples {
		if e.ArticleID != knowledge.HandoffLabel {
			if _, ok := known[e.ArticleID]; !ok {
				unknown[e.ArticleID]++
				continue
			}
		}
		e.Source = source
		e.Language = language.Detect(e.Text)
		kept = append(kept, e)
	}
	added := 0
	size := im.batchSize() * 4
	for start := 0; start < len(kept); start += size {
		batch := kept[start:min(start+size, len(kept))]
		if err := im.embedExamples(ctx, batch); err != nil {
			return added, unknown, fmt.Errorf("embed: %w", err)
		}
		n, err := store.SaveExamples(ctx, batch)
		if err != nil {
			return added, unknown, fmt.Errorf("save: %w", err)
		}
		added += n
		if progress != nil {
			progress(start+len(batch), len(kept))
		}
	}
	return added, unknown, nil
}
