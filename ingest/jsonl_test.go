package ingest

import (
	"bytes"
	"os"
	"testing"

	"github.com/relais-ai/relais/knowledge"
)

func TestParseJSON(t *testing.T) {
	t.Parallel()
	runParseCases(t, []parseCase{
		{
			name: "eval kb format",
			file: "kb.jsonl",
			src:  `{"id": "bitext:cancel_order", "title": "Cancel order", "body": "Go to your orders.", "source": "bitext@7770c03570"}` + "\n",
			want: []knowledge.Article{{ExternalID: "bitext:cancel_order", Title: "Cancel order", Body: "Go to your orders."}},
		},
		{
			name: "synonyms, numbers, lists, CRLF, blank lines",
			file: "kb.ndjson",
			src: "{\"ID\": 7, \"Question\": [\"Q?\", \"Also Q?\"], \"Answer\": \"A\", \"Alternatives\": \"x|y\", \"Tags\": [\"t1\", \"t2\"], \"Category\": \"c\", \"Lang\": \"fr-BE\"}\r\n\r\n" +
				"{\"q\": \"Second\", \"a\": null, \"paraphrases\": [\"p\"], \"question_2\": \"z\", \"tags\": \"u;v\"}\r\n",
			want: []knowledge.Article{
				{ExternalID: "7", Title: "Q?", Body: "A", Phrasings: []string{"Also Q?", "x", "y"}, Tags: []string{"t1", "t2"}, Topic: "c", Language: "fr"},
				{Title: "Second", Phrasings: []string{"p", "z"}, Tags: []string{"u", "v"}},
			},
		},
		{
			name: "bad lines are problems",
			file: "kb.jsonl",
			src: `{"title": "ok", "body": "fine"}` + "\n" +
				`{"title": "cut` + "\n" +
				`"a string"` + "\n" +
				`{"title": "x"}, ` + "\n" +
				`{"title": 1.5, "body": {"html": "<p>"}}` + "\n" +
				`{"unknown": "keys", "other": 1}` + "\n" +
				`{"id": "q1", "question": "help", "gold_article_ids": [], "expected": "handoff"}` + "\n" +
				`{"title": "last", "body": "fine"}`,
			want:         []knowledge.Article{{Title: "ok", Body: "fine"}, {Title: "last", Body: "fine"}},
			wantProblems: []int{2, 3, 4, 5, 6, 7},
		},
		{
			name: "a json array saved as jsonl",
			file: "kb.jsonl",
			src:  "[\n  {\"title\": \"a\", \"body\": \"b\"}\n]\n",
			want: []knowledge.Article{{Title: "a", Body: "b"}},
		},
		{
			name: "array with line numbers",
			file: "kb.json",
			src:  "[\n  {\"title\": \"a\", \"body\": \"b\"},\n  42,\n\n  {\"nope\": true}\n]",
			want: []knowledge.Article{{Title: "a", Body: "b"}}, wantProblems: []int{3, 5},
		},
		{
			name: "articles under a key",
			file: "kb.json",
			src:  "{\"version\": 2, \"meta\": {\"articles\": \"not this\"},\n \"Articles\": [\n  {\"title\": \"a\", \"body\": \"b\"},\n  [1]\n ]}",
			want: []knowledge.Article{{Title: "a", Body: "b"}}, wantProblems: []int{4},
		},
		{
			name: "single object",
			file: "kb.json",
			src:  `{"title": "a", "body": "b", "faq": "phrasing, not a list of articles"}`,
			want: []knowledge.Article{{Title: "a", Body: "b", Phrasings: []string{"phrasing, not a list of articles"}}},
		},
		{
			name: "objects one after another",
			file: "kb.json",
			src:  "{\"title\": \"a\", \"body\": \"b\"}\n{\"title\": \"c\", \"body\": \"d\"}\n",
			want: []knowledge.Article{{Title: "a", Body: "b"}, {Title: "c", Body: "d"}},
		},
	})
}

// TestParseEvalKnowledgeBases reads the shared eval sets, the format Relais
// must read exactly: every line an article, ids kept as they are.
func TestParseEvalKnowledgeBases(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"retail_support", "banking77", "hint3_sofmattress", "hint3_curekart", "smoke"} {
		path := "../../shared/data/" + set + "/kb.jsonl"
		data, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			t.Skipf("%s not found: the eval data lives next to the repository", path)
		}
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse("kb.jsonl", data)
		checkParsed(t, "kb.jsonl", p, err)
		if err != nil || len(p.Problems) > 0 {
			t.Fatalf("%s: %v %v", set, err, p.Problems)
		}
		if lines := bytes.Count(data, []byte("\n")); len(p.Articles) != lines {
			t.Errorf("%s: %d articles from %d lines", set, len(p.Articles), lines)
		}
		for _, a := range p.Articles {
			if a.Body == "" || a.Language != "" || a.Source != "" {
				t.Errorf("%s: article %+v", set, a)
			}
		}
	}
}
