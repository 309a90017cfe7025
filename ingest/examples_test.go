package ingest

import (
	"errors"
	"strings"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

func TestParseExamples(t *testing.T) {
	t.Parallel()
	jsonl := `{"id": "q1", "question": "how do I cancel my order", "gold_article_ids": ["kb:cancel"], "expected": "answer"}
{"id": "q2", "question": "I want a human", "gold_article_ids": [], "expected": "handoff"}
not json
{"question": "", "gold_article_ids": ["kb:x"]}
{"text": "where is my parcel", "article_id": "kb:track"}
{"question": "broken label", "gold_article_ids": [], "expected": "answer"}
{"question": "` + strings.Repeat("too long ", knowledge.MaxQueryBytes/9+1) + `", "gold_article_ids": ["kb:x"]}
`
	ex, problems, err := ParseExamples("q.jsonl", []byte(jsonl))
	if err != nil {
		t.Fatal(err)
	}
	want := []knowledge.Example{
		{Text: "how do I cancel my order", ArticleID: "kb:cancel"},
		{Text: "I want a human", ArticleID: knowledge.HandoffLabel},
		{Text: "where is my parcel", ArticleID: "kb:track"},
	}
	if len(ex) != len(want) {
		t.Fatalf("got %d examples: %+v", len(ex), ex)
	}
	for i := range want {
		if ex[i].Text != want[i].Text || ex[i].ArticleID != want[i].ArticleID {
			t.Errorf("example %d = %+v, want %+v", i, ex[i], want[i])
		}
	}
	if len(problems) != 4 {
		t.Fatalf("problems = %v, want lines 3, 4, 6 and 7", problems)
	}
	for i, line := range []string{"q.jsonl:3", "q.jsonl:4", "q.jsonl:6", "q.jsonl:7"} {
		if !strings.HasPrefix(problems[i].Error(), line) {
			t.Errorf("problem %d = %v, want it at %s", i, problems[i], line)
		}
	}

	csvData := "question,article_id\nhow do I cancel,kb:cancel\ntalk to someone,handoff\n,kb:x\n" +
		strings.Repeat("x", knowledge.MaxQueryBytes+1) + ",kb:x\n\"unterminated,kb:y\n"
	ex, problems, err = ParseExamples("h.csv", []byte(csvData))
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != 2 || ex[0].ArticleID != "kb:cancel" || ex[1].ArticleID != knowledge.HandoffLabel {
		t.Errorf("csv examples: %+v", ex)
	}
	if len(problems) != 3 || !errors.Is(problems[1], relais.ErrInvalid) || !strings.HasPrefix(problems[1].Error(), "h.csv:5: question:") {
		t.Errorf("csv problems: %v; want lines 4, 5 (too long) and 6", problems)
	}

	for _, bad := range []struct{ name, data string }{
		{"h.csv", "text,answer\nx,y\n"},
		{"h.txt", "x"},
		{"h.jsonl", ""},
		{"h.jsonl", "{\"question\": \"\xff\"}"},
	} {
		if _, _, err := ParseExamples(bad.name, []byte(bad.data)); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s %q: err = %v, want ErrInvalid", bad.name, bad.data, err)
		}
	}
}
