package ingest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/relais-ai/relais/knowledge"
)

// checkChunks asserts the invariants of ChunkArticle for any article and
// returns the chunks: ordinals from 0, question chunks first, passages
// within MaxChars, and every word of the body in some passage chunk.
func checkChunks(t *testing.T, a knowledge.Article, opts ChunkOptions) []knowledge.Chunk {
	t.Helper()
	chunks := ChunkArticle(a, opts)
	o := opts.withDefaults()
	var passages []string
	for i, c := range chunks {
		if c.Ordinal != i {
			t.Errorf("chunk %d has ordinal %d", i, c.Ordinal)
		}
		if !utf8.ValidString(c.Text) || strings.TrimSpace(c.Text) == "" {
			t.Errorf("chunk %d: text %q is empty or not UTF-8", i, c.Text)
		}
		switch c.Kind {
		case knowledge.Question:
			if len(passages) > 0 {
				t.Errorf("question chunk %d after a passage chunk", i)
			}
			if strings.Contains(c.Text, "\n") || c.Heading != "" {
				t.Errorf("question chunk %d: %+v, want one line and no heading", i, c)
			}
		case knowledge.Passage:
			label, content := passageParts(a, c)
			if !strings.HasPrefix(c.Text, label) {
				t.Errorf("passage %d: text %q does not start with its label %q", i, c.Text, label)
			}
			if n := utf8.RuneCountInString(content); n > o.MaxChars {
				t.Errorf("passage %d: %d characters, max %d: %q", i, n, o.MaxChars, content)
			}
			passages = append(passages, c.Text)
		default:
			t.Errorf("chunk %d: kind %q", i, c.Kind)
		}
	}
	if strings.TrimSpace(a.Body) == "" && len(passages) > 0 {
		t.Errorf("empty body gave %d passage chunks", len(passages))
	}
	have := wordCounts(strings.Join(passages, "\n"), 0)
	// Words longer than half a chunk may be cut by size; they are the only
	// text that can be split across chunks.
	for w, n := range wordCounts(a.Body, o.MaxChars/2) {
		if have[w] < n {
			t.Errorf("word %q occurs %d times in the body but %d times in the passages", w, n, have[w])
		}
	}
	return chunks
}

// passageParts is the label line a passage chunk should start with, and the
// passage after it.
func passageParts(a knowledge.Article, c knowledge.Chunk) (label, content string) {
	label = oneLine(a.Title)
	if c.Heading != "" {
		if label != "" {
			label += " > "
		}
		label += c.Heading
	}
	if label == "" {
		return "", c.Text
	}
	content = strings.TrimPrefix(c.Text, label)
	return label, strings.TrimPrefix(content, "\n")
}

// wordCounts counts the letter-and-digit runs of text, lowercased, skipping those in
// white-space separated words longer than maxWord runes (when maxWord > 0).
func wordCounts(text string, maxWord int) map[string]int {
	counts := make(map[string]int)
	for f := range strings.FieldsSeq(text) {
		if maxWord > 0 && utf8.RuneCountInString(f) > maxWord {
			continue
		}
		// Lowercase: a heading that repeats the title in another case is
		// left out of the label, and search ignores case anyway.
		for _, w := range strings.FieldsFunc(strings.ToLower(f), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			counts[w]++
		}
	}
	return counts
}

func TestChunkArticleQuestions(t *testing.T) {
	t.Parallel()
	a := knowledge.Article{
		Title:     "How do I return an item?",
		Phrasings: []string{"how do I return an item", "", "  Send   it back ", "send it back!", "Refund"},
	}
	got := ChunkArticle(a, ChunkOptions{})
	want := []knowledge.Chunk{
		{Ordinal: 0, Kind: knowledge.Question, Text: "How do I return an item?"},
		{Ordinal: 1, Kind: knowledge.Question, Text: "Send it back"},
		{Ordinal: 2, Kind: knowledge.Question, Text: "Refund"},
	}
	if !slices.EqualFunc(got, want, func(a, b knowledge.Chunk) bool {
		return a.Ordinal == b.Ordinal && a.Kind == b.Kind && a.Heading == b.Heading && a.Text == b.Text
	}) {
		t.Errorf("ChunkArticle:\n got %+v\nwant %+v", got, want)
	}
}

func TestChunkArticleSections(t *testing.T) {
	t.Parallel()
	a := knowledge.Article{
		Title: "Acme app",
		Body: "Intro text.\n\n# Acme app\n\nUnder the title heading.\n\n## Installing\n\nDownload it.\n\n" +
			"```\n# not a heading\n```\n\n## Signing in\n\n### With e-mail\n\nType the code.\n\n## Empty last",
	}
	var got [][2]string
	for _, c := range checkChunks(t, a, ChunkOptions{}) {
		got = append(got, [2]string{c.Heading, c.Text})
	}
	want := [][2]string{
		{"", "Acme app"},
		{"", "Acme app\nIntro text."},
		{"", "Acme app\nUnder the title heading."},
		{"Installing", "Acme app > Installing\nDownload it.\n\n```\n# not a heading\n```"},
		{"Signing in > With e-mail", "Acme app > Signing in > With e-mail\nType the code."},
		{"Empty last", "Acme app > Empty last"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("chunks (heading, text):\n got %q\nwant %q", got, want)
	}
}

func TestChunkArticleEmptyBody(t *testing.T) {
	t.Parallel()
	got := checkChunks(t, knowledge.Article{Title: "Opening hours", Phrasings: []string{"When are you open?"}, Body: " \n\n "}, ChunkOptions{})
	if len(got) != 2 || got[0].Kind != knowledge.Question || got[1].Kind != knowledge.Question {
		t.Errorf("got %+v, want two question chunks", got)
	}
}

func TestChunkArticleSplitsBySize(t *testing.T) {
	t.Parallel()
	sentence := func(i int) string { return fmt.Sprintf("Sentence number %d says something useful.", i) }
	var para []string
	for i := range 12 {
		para = append(para, sentence(i))
	}
	long := strings.Repeat("word ", 60) + "end"
	tests := []struct {
		name       string
		body       string
		opts       ChunkOptions
		wantChunks int
		check      func(t *testing.T, contents []string)
	}{
		{
			name:       "short paragraphs are packed together",
			body:       "One.\n\nTwo.\n\nThree.",
			opts:       ChunkOptions{MaxChars: 100},
			wantChunks: 1,
			check: func(t *testing.T, contents []string) {
				if contents[0] != "One.\n\nTwo.\n\nThree." {
					t.Errorf("content %q", contents[0])
				}
			},
		},
		{
			name:       "paragraphs go whole to the next chunk",
			body:       strings.Repeat("a", 60) + "\n\n" + strings.Repeat("b", 60),
			opts:       ChunkOptions{MaxChars: 100},
			wantChunks: 2,
		},
		{
			name:       "a long paragraph is split between sentences",
			body:       strings.Join(para, " "),
			opts:       ChunkOptions{MaxChars: 100},
			wantChunks: 6,
			check: func(t *testing.T, contents []string) {
				for _, c := range contents {
					if !strings.HasPrefix(c, "Sentence") || !strings.HasSuffix(c, "useful.") {
						t.Errorf("chunk %q does not start and end on sentence boundaries", c)
					}
				}
			},
		},
		{
			name:       "a long sentence is cut at words, with overlap",
			body:       long,
			opts:       ChunkOptions{MaxChars: 100, Overlap: 20},
			wantChunks: 4,
			check: func(t *testing.T, contents []string) {
				for i, c := range contents {
					if strings.HasPrefix(c, "ord") || strings.HasSuffix(c, "wor") {
						t.Errorf("chunk %d cut inside a word: %q", i, c)
					}
					if i > 0 && !strings.HasPrefix(contents[i], lastWords(contents[i-1], 15)) {
						t.Errorf("chunk %d does not repeat the end of chunk %d", i, i-1)
					}
				}
			},
		},
		{
			name:       "negative overlap means none",
			body:       long,
			opts:       ChunkOptions{MaxChars: 100, Overlap: -1},
			wantChunks: 4,
			check: func(t *testing.T, contents []string) {
				total := 0
				for _, c := range contents {
					total += len(strings.Fields(c))
				}
				if total != 61 {
					t.Errorf("%d words in all chunks, want the 61 of the body exactly", total)
				}
			},
		},
		{
			name:       "a word longer than a chunk is cut by size",
			body:       strings.Repeat("x", 250),
			opts:       ChunkOptions{MaxChars: 100, Overlap: -1},
			wantChunks: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := knowledge.Article{Title: "T", Body: tt.body}
			var contents []string
			for _, c := range checkChunks(t, a, tt.opts) {
				if c.Kind == knowledge.Passage {
					_, content := passageParts(a, c)
					contents = append(contents, content)
				}
			}
			if len(contents) != tt.wantChunks {
				t.Fatalf("%d passage chunks, want %d: %q", len(contents), tt.wantChunks, contents)
			}
			if tt.check != nil {
				tt.check(t, contents)
			}
		})
	}
}

// lastWords is the end of s, from the first word boundary within its last n
// runes.
func lastWords(s string, n int) string {
	r := []rune(s)
	tail := string(r[max(0, len(r)-n):])
	if i := strings.IndexByte(tail, ' '); i >= 0 {
		return tail[i+1:]
	}
	return tail
}

// TestChunkArticleKeepsEveryWord is the never-lose-text property over random
// markdown bodies: headings, lists, code, long and short paragraphs, words
// of all sizes, several chunk sizes.
func TestChunkArticleKeepsEveryWord(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"refund", "order", "Livraison", "é", "a", "the", "commande", "42", "https://acme.example/x?y=1",
		"e-mail", "don't", "**bold**", "naïve", "日本語", "supercalifragilisticexpialidocious"}
	word := func() string { return vocab[rng.IntN(len(vocab))] }
	sentence := func() string {
		n := 1 + rng.IntN(30)
		ws := make([]string, n)
		for i := range ws {
			ws[i] = word()
		}
		return strings.Join(ws, " ") + [...]string{".", "!", "?", "", ";", "…"}[rng.IntN(6)]
	}
	for i := range 300 {
		var b strings.Builder
		for range rng.IntN(12) {
			switch rng.IntN(8) {
			case 0:
				fmt.Fprintf(&b, "%s %s\n\n", strings.Repeat("#", 1+rng.IntN(4)), sentence())
			case 1:
				fmt.Fprintf(&b, "- %s\n- %s\n\n", sentence(), sentence())
			case 2:
				fmt.Fprintf(&b, "```\n# %s\n\n%s\n```\n\n", sentence(), sentence())
			case 3:
				fmt.Fprintf(&b, "%s\n===\n\n", sentence())
			default:
				for range 1 + rng.IntN(8) {
					b.WriteString(sentence() + " ")
				}
				b.WriteString("\n\n")
			}
		}
		a := knowledge.Article{Title: sentence(), Body: b.String()}
		opts := ChunkOptions{MaxChars: []int{20, 80, 300, 0}[i%4], Overlap: []int{0, -1, 10, 500}[i%4]}
		t.Run(fmt.Sprint(i), func(t *testing.T) { checkChunks(t, a, opts) })
	}
}

func TestChunkOptionsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want ChunkOptions }{
		{ChunkOptions{}, ChunkOptions{MaxChars: DefaultChunkMaxChars, Overlap: DefaultChunkOverlap}},
		{ChunkOptions{MaxChars: -5, Overlap: -1}, ChunkOptions{MaxChars: DefaultChunkMaxChars, Overlap: 0}},
		{ChunkOptions{MaxChars: 100, Overlap: 90}, ChunkOptions{MaxChars: 100, Overlap: 50}},
	}
	for _, tt := range tests {
		if got := tt.in.withDefaults(); got != tt.want {
			t.Errorf("%+v.withDefaults() = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestChunkLineLists(t *testing.T) {
	t.Parallel()
	passages := func(body string) []string {
		var out []string
		for _, c := range ChunkArticle(knowledge.Article{Title: "Card arrival", Body: body}, ChunkOptions{}) {
			if c.Kind == knowledge.Passage {
				out = append(out, c.Text)
			}
		}
		return out
	}
	variants := "When will my card arrive?\nmy card has not come yet\nHow long does delivery of a card take\nstill waiting for the new card"
	if got := passages(variants); len(got) != 4 || got[1] != "Card arrival\nmy card has not come yet" {
		t.Errorf("a list of short lines should give one passage per line, got %q", got)
	}
	wrapped := "You can file a claim in the app under Claims, or on the website after signing in. Have\nyour policy number, the date of the incident and photos of the damage ready. Most claims\nget a first answer within two working days, and simple ones are settled within the week."
	if got := passages(wrapped); len(got) != 1 {
		t.Errorf("soft-wrapped prose should stay one passage, got %d", len(got))
	}
	steps := "1. Open the app\n2. Tap Orders\n3. Choose the order\n4. Tap Cancel"
	if got := passages(steps); len(got) != 1 {
		t.Errorf("a numbered list of steps should stay one passage, got %d", len(got))
	}
	paragraphs := "Short one.\n\nShort two.\n\nShort three."
	if got := passages(paragraphs); len(got) != 1 {
		t.Errorf("short paragraphs should be packed, got %d", len(got))
	}
}
