package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// goldenParse is what the golden files record of a Parse call.
type goldenParse struct {
	Error    string              `json:"error,omitempty"`
	Articles []goldenArticle     `json:"articles,omitempty"`
	Problems []string            `json:"problems,omitempty"`
	Chunks   map[string][]string `json:"chunks,omitempty"`
}

type goldenArticle struct {
	ExternalID string   `json:"external_id"`
	Title      string   `json:"title"`
	Body       string   `json:"body"`
	Language   string   `json:"language,omitempty"`
	Topic      string   `json:"topic,omitempty"`
	Tags       []string `json:"tags,omitempty"`
	Phrasings  []string `json:"phrasings,omitempty"`
}

// TestParseGolden parses every fixture under testdata (and testdata/broken)
// and compares the result, and the chunks of each article, with its golden
// file. Run with -update to rewrite them, then review the diff.
func TestParseGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		t.Fatal(err)
	}
	broken, err := filepath.Glob("testdata/broken/*")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, broken...)
	if len(files) < 15 {
		t.Fatalf("found %d fixtures, want the whole set", len(files))
	}
	for _, path := range files {
		t.Run(path, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(path)
			p, err := Parse(name, data)
			checkParsed(t, name, p, err)

			var g goldenParse
			if err != nil {
				g.Error = err.Error()
			}
			for _, pr := range p.Problems {
				g.Problems = append(g.Problems, pr.Error())
			}
			for _, a := range p.Articles {
				g.Articles = append(g.Articles, goldenArticle{a.ExternalID, a.Title, a.Body, a.Language, a.Topic, a.Tags, a.Phrasings})
				if g.Chunks == nil {
					g.Chunks = make(map[string][]string)
				}
				for _, c := range ChunkArticle(a, ChunkOptions{MaxChars: 120, Overlap: 20}) {
					g.Chunks[a.ExternalID] = append(g.Chunks[a.ExternalID], fmt.Sprintf("%d %s [%s] %s", c.Ordinal, c.Kind, c.Heading, c.Text))
				}
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(g); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", "golden", strings.ReplaceAll(strings.TrimPrefix(path, "testdata/"), "/", "_")+".json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestParseGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) differs from %s (-want +got):\n%s", path, golden, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff is a small line-by-line diff, enough to see what changed in a
// golden file without a diff dependency.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("-" + wl + "\n+" + gl + "\n")
		}
	}
	return b.String()
}

// checkParsed asserts what every Parse result must satisfy, whatever the
// input: the fixtures and the fuzzers share it.
func checkParsed(t *testing.T, name string, p Parsed, err error) {
	t.Helper()
	if err != nil {
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != name {
			t.Fatalf("error %v (%T) is not a *FileError for %q", err, err, name)
		}
		if !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("error %v does not wrap relais.ErrInvalid", err)
		}
		if len(p.Articles) > 0 {
			t.Errorf("error %v together with %d articles", err, len(p.Articles))
		}
	} else if len(p.Articles) == 0 {
		t.Fatal("no error and no article")
	}
	for _, pr := range p.Problems {
		if pr.File != name || pr.Line < 0 || !errors.Is(pr, relais.ErrInvalid) {
			t.Errorf("problem %v: want file %q, line >= 0, wrapping relais.ErrInvalid", pr, name)
		}
	}
	ids := make(map[string]bool)
	for i, a := range p.Articles {
		if a.ExternalID == "" || strings.TrimSpace(a.Title) == "" {
			t.Errorf("article %d: empty external id or title: %+v", i, a)
		}
		if ids[a.ExternalID] {
			t.Errorf("article %d: external id %q used twice", i, a.ExternalID)
		}
		ids[a.ExternalID] = true
		if strings.ContainsAny(a.Title, "\n\r") || a.Title != strings.TrimSpace(a.Title) {
			t.Errorf("article %d: title %q is not one trimmed line", i, a.Title)
		}
		if a.ID != 0 || a.Source != "" || a.ContentHash != "" || a.Version != 0 {
			t.Errorf("article %d: sets fields the importer owns: %+v", i, a)
		}
		if a.Language != "" && a.Language != knowledge.English && a.Language != knowledge.French {
			t.Errorf("article %d: language %q", i, a.Language)
		}
		texts := append([]string{a.ExternalID, a.Title, a.Body, a.Topic, a.Language}, a.Tags...)
		for _, s := range append(texts, a.Phrasings...) {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\x00") {
				t.Errorf("article %d: %q is not clean UTF-8 text", i, s)
			}
		}
		if slices.Contains(a.Phrasings, "") || slices.Contains(a.Tags, "") {
			t.Errorf("article %d: empty phrasing or tag: %+v", i, a)
		}
		checkChunks(t, a, ChunkOptions{MaxChars: 200, Overlap: 30})
	}
}

// parse parses src as a file called name, checking the invariants.
func parse(t *testing.T, name, src string) (Parsed, error) {
	t.Helper()
	p, err := Parse(name, []byte(src))
	checkParsed(t, name, p, err)
	return p, err
}

// mustParse parses src and fails the test on a file error.
func mustParse(t *testing.T, name, src string) Parsed {
	t.Helper()
	p, err := parse(t, name, src)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return p
}

// parseCase is one entry of a format's table test.
type parseCase struct {
	name, file, src string
	want            []knowledge.Article // only the fields compareArticles compares
	wantIDs         []string            // the articles' external ids; not checked when nil
	wantProblems    []int               // the lines of the problems, in order
}

// runParseCases parses each case's src as its file and checks the articles,
// their ids and the problems against the case.
func runParseCases(t *testing.T, tests []parseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.file, tt.src)
			compareArticles(t, p.Articles, tt.want)
			if tt.wantIDs != nil && !slices.Equal(externalIDs(p), tt.wantIDs) {
				t.Errorf("ids %q, want %q", externalIDs(p), tt.wantIDs)
			}
			if got := problemLines(p); !slices.Equal(got, tt.wantProblems) {
				t.Errorf("problems on lines %v, want %v: %v", got, tt.wantProblems, p.Problems)
			}
		})
	}
}

func titles(p Parsed) []string {
	var out []string
	for _, a := range p.Articles {
		out = append(out, a.Title)
	}
	return out
}

func externalIDs(p Parsed) []string {
	var out []string
	for _, a := range p.Articles {
		out = append(out, a.ExternalID)
	}
	return out
}

func problemLines(p Parsed) []int {
	var out []int
	for _, pr := range p.Problems {
		out = append(out, pr.Line)
	}
	return out
}

func TestParseFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		data       []byte
		wantLine   int
		wantInMsg  []string
	}{
		{"unknown extension", "faq.docx", []byte("question,answer\nq,a\n"), 0, []string{`".docx"`, ".csv", ".md", ".html"}},
		{"no extension", "README", []byte("hello"), 0, []string{"no file extension", ".txt"}},
		{"invalid UTF-8", "notes.txt", []byte("Title\n\nline two\ncaf\xe9\n"), 4, []string{"invalid UTF-8", "0xE9"}},
		{"invalid UTF-8 in CSV", "faq.csv", []byte("question,answer\r\nq,\"a\r\nb\"\r\nq2,\xff\r\n"), 4, []string{"invalid UTF-8"}},
		{"UTF-16", "faq.csv", []byte("\xff\xfeq\x00,\x00a\x00"), 0, []string{"UTF-16"}},
		{"NUL byte", "faq.md", []byte("# Title\n\nbody\x00\n"), 3, []string{"NUL"}},
		{"empty", "faq.csv", nil, 0, []string{"empty"}},
		{"white space only", "faq.md", []byte("\uFEFF \r\n\t\n"), 0, []string{"empty"}},
		{"no usable column", "faq.csv", []byte("Foo;Bar;Baz\n1;2;3\n"), 1, []string{`"Foo", "Bar", "Baz"`, `';'`, "question", "answer"}},
		{"header only", "faq.csv", []byte("question,answer\n\n"), 0, []string{"no data rows"}},
		{"no article", "faq.jsonl", []byte("{\"foo\": 1}\n[1]\n"), 0, []string{"no article could be read (2 problems; the first, on line 1", `"foo"`}},
		{"markdown title only", "faq.md", []byte("---\ntitle: x\n---\n# Just a title\n"), 0, []string{"no text"}},
		{"html without text", "page.html", []byte("<html><head><title>T</title><script>x()</script></head><body><nav>Home</nav></body></html>"), 0, []string{"no readable text"}},
		{"json syntax", "kb.json", []byte("[\n{\"title\": \"a\"},\n{\"title\" \"b\"}\n]"), 3, []string{"invalid JSON"}},
		{"truncated json", "kb.json", []byte("[\n{\"title\": \"a\"},\n"), 3, []string{"ends in the middle"}},
		{"json scalar", "kb.json", []byte("\n\n42"), 3, []string{"want an array"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.file, tt.data)
			checkParsed(t, tt.file, p, err)
			if err == nil {
				t.Fatalf("Parse(%s) = %d articles, want an error", tt.file, len(p.Articles))
			}
			var fe *FileError
			errors.As(err, &fe)
			if fe.Line != tt.wantLine {
				t.Errorf("error %q is on line %d, want %d", err, fe.Line, tt.wantLine)
			}
			for _, s := range tt.wantInMsg {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %s", err, s)
				}
			}
		})
	}
}

func TestParseIDs(t *testing.T) {
	t.Parallel()
	p := mustParse(t, "data/Help Centre.csv", "id,question,answer\n"+
		",Où est ma commande ?,a\n"+
		",Où est ma commande?,b\n"+
		"Help Centre.csv#ou-est-ma-commande-2,explicit,c\n"+
		",Où est ma commande !,d\n"+
		",配送について,e\n"+
		",!!!,f\n"+
		"x1,dup,g\n"+
		"x1,dup again,h\n")
	want := []string{
		"Help Centre.csv#ou-est-ma-commande",
		"Help Centre.csv#ou-est-ma-commande-3", // -2 is taken by the explicit id
		"Help Centre.csv#ou-est-ma-commande-2",
		"Help Centre.csv#ou-est-ma-commande-4",
		"Help Centre.csv#" + titleSlug("配送について"),
		"Help Centre.csv#" + titleSlug("!!!"),
		"x1",
	}
	if got := externalIDs(p); !slices.Equal(got, want) {
		t.Errorf("ids:\n got %q\nwant %q", got, want)
	}
	if got := problemLines(p); !slices.Equal(got, []int{9}) {
		t.Errorf("problems on lines %v (%v), want the duplicate id on line 9", got, p.Problems)
	}
	if a, b := titleSlug("配送について"), titleSlug("配送"); a == b || !strings.HasPrefix(a, "t") {
		t.Errorf("titles without latin letters get slugs %q and %q, want distinct hashes", a, b)
	}
	// Ids must not move when the same file is parsed again.
	if again := mustParse(t, "Help Centre.csv", "question,answer\nOù est ma commande ?,a\n"); again.Articles[0].ExternalID != want[0] {
		t.Errorf("id %q, want %q", again.Articles[0].ExternalID, want[0])
	}
}

func TestTitleSlug(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"How do I return an item?", "how-do-i-return-an-item"},
		{"  Où   est ma commande ?", "ou-est-ma-commande"},
		{"Œuvre ßtraße Ærø", "oeuvre-sstrasse-aero"},
		{"e\u0301te\u0301 (decomposed)", "ete-decomposed"},
		{"C# & .NET: 100%", "c-net-100"},
		{strings.Repeat("word ", 30), strings.TrimSuffix(strings.Repeat("word-", 12), "-")},
	}
	for _, tt := range tests {
		if got := titleSlug(tt.in); got != tt.want {
			t.Errorf("titleSlug(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormLanguage(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"en": "en", "EN-us": "en", "English": "en", "en_GB": "en", "fr": "fr", "fr-CA": "fr", "Français": "fr",
		"french": "fr", "de": "", "": "", "  fr  ": "fr", "frisian": "",
	} {
		if got := normLanguage(in); got != want {
			t.Errorf("normLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseCleansText(t *testing.T) {
	t.Parallel()
	p := mustParse(t, "kb.jsonl", `{"title": "  Two\n lines  ", "body": "\n\n  first\t \n\n\n\nsecond  \n  indented\n\n", "tags": "a, b;A|", "phrasings": ["two lines", "  other\u00a0one "], "topic": " t "}`+"\n"+
		`{"body": "No title here. The body names it."}`+"\n")
	a := p.Articles[0]
	if a.Title != "Two lines" || a.Body != "first\n\nsecond\n  indented" || a.Topic != "t" {
		t.Errorf("got title %q, body %q, topic %q", a.Title, a.Body, a.Topic)
	}
	if !slices.Equal(a.Tags, []string{"a", "b"}) || !slices.Equal(a.Phrasings, []string{"other one"}) {
		t.Errorf("got tags %q, phrasings %q", a.Tags, a.Phrasings)
	}
	if got := p.Articles[1].Title; got != "No title here." {
		t.Errorf("title from body = %q", got)
	}
	if got := titleFromBody(strings.Repeat("long words everywhere ", 10)); runeLen(got) > 80 || got != strings.Repeat("long words everywhere ", 3)+"long words…" {
		t.Errorf("titleFromBody(long) = %q, want at most 80 characters cut after a word", got)
	}
}

func TestSupported(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"faq.csv": true, "FAQ.TSV": true, "dir/kb.jsonl": true, `C:\kb\x.ndjson`: true, "a.json": true, "a.md": true,
		"a.markdown": true, "a.html": true, "a.HTM": true, "a.txt": true, "a.text": true,
		"a.pdf": false, "a.xlsx": false, "Makefile": false, "md": false, "a.md.bak": false,
	} {
		if got := Supported(name); got != want {
			t.Errorf("Supported(%q) = %v, want %v", name, got, want)
		}
	}
}
