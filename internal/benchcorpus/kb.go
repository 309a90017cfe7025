package benchcorpus

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/knowledge"
)

// KB is a generated English knowledge base of articles of five chunks (a
// title and another question, three passages of six sentences) and
// questions about it.
type KB struct {
	Articles []knowledge.ArticleChunks
	// Questions are five consecutive words of an article's title and two
	// more words; Answers[i] is the index in Articles of the article whose
	// title Questions[i] was drawn from.
	Questions []string
	Answers   []int
}

// NewKB generates a knowledge base of about chunks chunks and questions
// questions from seed.
func NewKB(seed uint64, chunks, questions int) KB {
	c := New(seed)
	var kb KB
	for i := 0; i < chunks; i += 5 {
		title := strings.TrimSuffix(c.Sentence(4, 9), ".") + "?"
		a := knowledge.Article{ExternalID: fmt.Sprintf("bench:%d", i/5), Title: title, Language: knowledge.English, ContentHash: "h"}
		cs := []knowledge.Chunk{{Kind: knowledge.Question, Text: title}, {Kind: knowledge.Question, Text: c.Sentence(4, 9)}}
		for range 3 {
			cs = append(cs, knowledge.Chunk{Kind: knowledge.Passage, Text: c.Passage(6)})
		}
		kb.Articles = append(kb.Articles, knowledge.ArticleChunks{Article: a, Chunks: cs})
	}
	for range questions {
		k := c.IntN(len(kb.Articles))
		kb.Questions = append(kb.Questions, c.Excerpt(kb.Articles[k].Article.Title, 5)+" "+c.Words(2))
		kb.Answers = append(kb.Answers, k)
	}
	return kb
}

// Load stores kb's articles in st, a hundred at a time.
func (kb KB) Load(ctx context.Context, st knowledge.Store) error {
	for i := 0; i < len(kb.Articles); i += 100 {
		if _, err := st.SaveArticles(ctx, kb.Articles[i:min(i+100, len(kb.Articles))]); err != nil {
			return err
		}
	}
	return nil
}

// BenchTextSearch runs st's full-text ranking (SearchChunks with the
// question's text only, 50 chunks) as a sub-benchmark of b named after the
// base's size, and reports it with ReportRanking.
func (kb KB) BenchTextSearch(b *testing.B, st knowledge.Store) {
	chunks := 0
	for _, a := range kb.Articles {
		chunks += len(a.Chunks)
	}
	search := func(q string) []knowledge.ChunkMatch {
		res, err := st.SearchChunks(context.Background(), knowledge.ChunkQuery{Text: q, Language: knowledge.English, Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		return res.Text
	}
	search(kb.Questions[0]) // loads the index
	b.Run(fmt.Sprintf("chunks=%dk", chunks/1000), func(b *testing.B) { kb.ReportRanking(b, search, nil) })
}

// Chunks is the knowledge base size a benchmark asked for in
// RELAIS_BENCH_CHUNKS, or def when it is not set.
func Chunks(b *testing.B, def int) int {
	s := os.Getenv("RELAIS_BENCH_CHUNKS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.Fatalf("RELAIS_BENCH_CHUNKS: %q is not a chunk count", s)
	}
	return n
}

// ReportRanking runs search over kb's questions in b's loop and reports
// the p50 and p95 of one search (p50_ms, p95_ms), the share of questions
// whose answer is among the articles of the first 10 chunks (answer@10,
// article ids following Articles from 1, as in a fresh store), and with a
// reference ranking, the share of its first 10 chunks that search's first
// 10 keep (top10_kept).
func (kb KB) ReportRanking(b *testing.B, search, reference func(q string) []knowledge.ChunkMatch) {
	var took []time.Duration
	found := 0
	for b.Loop() {
		took, found = took[:0], 0
		for i, q := range kb.Questions {
			start := time.Now()
			ms := search(q)
			took = append(took, time.Since(start))
			if slices.ContainsFunc(ms[:min(10, len(ms))], func(m knowledge.ChunkMatch) bool {
				return m.ArticleID == int64(kb.Answers[i]+1)
			}) {
				found++
			}
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/1e6, "p50_ms")
	b.ReportMetric(float64(took[len(took)*95/100])/1e6, "p95_ms")
	b.ReportMetric(float64(found)/float64(len(kb.Questions)), "answer@10")
	if reference == nil {
		return
	}
	kept := 0
	for _, q := range kb.Questions {
		want, got := reference(q), search(q)
		for _, w := range want[:min(10, len(want))] {
			if slices.ContainsFunc(got[:min(10, len(got))], func(m knowledge.ChunkMatch) bool { return m.ChunkID == w.ChunkID }) {
				kept++
			}
		}
	}
	b.ReportMetric(float64(kept)/float64(10*len(kb.Questions)), "top10_kept")
}
