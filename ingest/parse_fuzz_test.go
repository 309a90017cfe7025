package ingest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relais-ai/relais/knowledge"
)

// addSeeds seeds a fuzzer with the fixtures whose extension is one of exts,
// and with extra inline cases.
func addSeeds(f *testing.F, exts []string, extra ...string) {
	f.Helper()
	for _, ext := range exts {
		for _, dir := range []string{"testdata", "testdata/broken"} {
			paths, err := filepath.Glob(filepath.Join(dir, "*"+ext))
			if err != nil {
				f.Fatal(err)
			}
			for _, p := range paths {
				data, err := os.ReadFile(p)
				if err != nil {
					f.Fatal(err)
				}
				f.Add(data)
			}
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

func FuzzParseCSV(f *testing.F) {
	addSeeds(f, []string{".csv", ".tsv"},
		"question,answer\n\"a\"\"b\",\"c\nd\"\n",
		"sep=;\nid;q;a\n1;x;y\n1;x;z\n",
		"Question 2,Question 1,Réponse\n,,\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.csv", "fuzz.tsv"} {
			p, err := Parse(name, data)
			checkParsed(t, name, p, err)
		}
	})
}

func FuzzParseJSONL(f *testing.F) {
	addSeeds(f, []string{".jsonl", ".json"},
		`{"title": ["a", "b"], "body": 1e3, "tags": [true, null]}`,
		`{"articles": [{"q": "x"}], "items": [{"a": "y"}]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.jsonl", "fuzz.json"} {
			p, err := Parse(name, data)
			checkParsed(t, name, p, err)
		}
	})
}

func FuzzParseMarkdown(f *testing.F) {
	addSeeds(f, []string{".md", ".txt"},
		"---\ntitle: t\ntags:\n - a\n---\n# FAQ\n## a?\nb\n## c?\nd\n",
		"x\n===\n\n```\n# y?\n```\n## z?\n## w?\n")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"fuzz.md", "fuzz.txt"} {
			p, err := Parse(name, data)
			checkParsed(t, name, p, err)
		}
	})
}

func FuzzParseHTML(f *testing.F) {
	addSeeds(f, []string{".html"},
		"<h1>a</h1><details><summary>b?</summary>c</details><dl><dt>d?</dt><dd>e</dd></dl>",
		"<table><tr><td><p>x</p></td></tr><tr><td>y</td><td>z</td></tr></table><pre>```</pre>")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.html", data)
		checkParsed(t, "fuzz.html", p, err)
	})
}

func FuzzChunkArticle(f *testing.F) {
	for _, name := range []string{"guide.md", "faq.md", "notes.txt"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add("Title", string(data), 80, 20)
	}
	f.Add("", "# a\n\n## b\n\ntext. more text! ok?", 5, 3)
	f.Fuzz(func(t *testing.T, title, body string, maxChars, overlap int) {
		if !utf8.ValidString(title) || !utf8.ValidString(body) {
			t.Skip("articles reach the chunker as valid UTF-8 (Parse checks it, JSON decoding replaces bad bytes)")
		}
		// Keep sizes where chunking does real work; huge values add nothing.
		maxChars %= 2000
		overlap %= 2000
		checkChunks(t, knowledge.Article{Title: title, Body: body}, ChunkOptions{MaxChars: maxChars, Overlap: overlap})
	})
}

// Benchmarks for the parsers and the chunker on inputs the size of a real
// help centre export:
//
//	go test -run '^$' -bench . -benchmem ./ingest/
func BenchmarkParse(b *testing.B) {
	var csv, md, html strings.Builder
	csv.WriteString("id,question,answer,tags\n")
	md.WriteString("# Help centre\n\n")
	html.WriteString("<html><body><h1>Help</h1>")
	for i := range 2000 {
		answer := strings.Repeat(fmt.Sprintf("Answer %d explains the steps to follow. ", i), 8)
		fmt.Fprintf(&csv, "a%d,\"How do I do thing %d?\",\"%s\",\"x,y\"\n", i, i, answer)
		fmt.Fprintf(&md, "## How do I do thing %d?\n\n%s\n\n", i, answer)
		fmt.Fprintf(&html, "<h2>How do I do thing %d?</h2><p>%s</p><ul><li>one</li><li>two</li></ul>", i, answer)
	}
	for _, in := range []struct{ name, data string }{
		{"help.csv", csv.String()}, {"help.md", md.String()}, {"help.html", html.String()},
	} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.data)))
			for b.Loop() {
				p, err := Parse(in.name, []byte(in.data))
				if err != nil || len(p.Articles) != 2000 {
					b.Fatalf("%d articles, %v", len(p.Articles), err)
				}
			}
		})
	}
}

func BenchmarkChunkArticle(b *testing.B) {
	var body strings.Builder
	for i := range 200 {
		fmt.Fprintf(&body, "## Section %d\n\n%s\n\n", i, strings.Repeat("A sentence of a long manual page. ", 30+i%50))
	}
	a := knowledge.Article{Title: "Manual", Body: body.String()}
	b.SetBytes(int64(body.Len()))
	for b.Loop() {
		ChunkArticle(a, ChunkOptions{})
	}
}
