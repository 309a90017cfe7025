package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
)

// fakeStore keeps the content hash of each saved article by source. It can
// refuse one article as invalid, or fail every save.
type fakeStore struct {
	mu        sync.Mutex
	hashes    map[string]string // external id -> content hash
	sources   map[string]string // external id -> source
	invalidID string            // refused as relais.ErrInvalid
	saveErr   error             // returned by every save
	batches   int
	pruned    [][]string // the keep list of each PruneSource
}

func newFakeStore() *fakeStore {
	return &fakeStore{hashes: map[string]string{}, sources: map[string]string{}}
}

func (s *fakeStore) ArticleHashes(context.Context, string) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.hashes))
	for k, v := range s.hashes {
		out[k] = v
	}
	return out, nil
}

func (s *fakeStore) SaveArticle(_ context.Context, a knowledge.Article, chunks []knowledge.Chunk) (knowledge.Article, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.save(a)
}

func (s *fakeStore) SaveArticles(_ context.Context, batch []knowledge.ArticleChunks) ([]knowledge.Article, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches++
	for _, ac := range batch {
		if s.saveErr != nil {
			return nil, s.saveErr
		}
		if ac.Article.ExternalID == s.invalidID {
			return nil, fmt.Errorf("bad article: %w", relais.ErrInvalid)
		}
	}
	var saved []knowledge.Article
	for _, ac := range batch {
		a, _ := s.save(ac.Article)
		saved = append(saved, a)
	}
	return saved, nil
}

func (s *fakeStore) save(a knowledge.Article) (knowledge.Article, error) {
	if s.saveErr != nil {
		return knowledge.Article{}, s.saveErr
	}
	if a.ExternalID == s.invalidID {
		return knowledge.Article{}, fmt.Errorf("bad article: %w", relais.ErrInvalid)
	}
	s.hashes[a.ExternalID] = a.ContentHash
	s.sources[a.ExternalID] = a.Source
	return a, nil
}

func (s *fakeStore) PruneSource(_ context.Context, source string, keep []string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruned = append(s.pruned, slices.Clone(keep))
	n := 0
	for id, src := range s.sources {
		if src == source && !slices.Contains(keep, id) {
			delete(s.sources, id)
			delete(s.hashes, id)
			n++
		}
	}
	return n, nil
}

func (s *fakeStore) SetEmbeddingSpace(context.Context, knowledge.EmbeddingSpace) error   { return nil }
func (s *fakeStore) ResetEmbeddingSpace(context.Context, knowledge.EmbeddingSpace) error { return nil }
func (s *fakeStore) ChunksMissingEmbedding(context.Context, int) ([]knowledge.Chunk, error) {
	return nil, nil
}
func (s *fakeStore) SetChunkEmbeddings(context.Context, []knowledge.Chunk) error { return nil }

// fakeEmbedder gives every text the same vector, or fails on a text
// containing failOn.
type fakeEmbedder struct{ failOn string }

func (e fakeEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	vecs := make([][]float32, len(texts))
	for i, t := range texts {
		if e.failOn != "" && strings.Contains(t, e.failOn) {
			return nil, errors.New("embedder down")
		}
		vecs[i] = []float32{1, 0}
	}
	return vecs, nil
}

func (fakeEmbedder) Space() knowledge.EmbeddingSpace {
	return knowledge.EmbeddingSpace{Model: "fake", Dimensions: 2}
}

func jsonlArticles(ids ...string) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "{\"id\":%q,\"question\":\"How does %s work?\",\"answer\":\"Like %s.\"}\n", id, id, id)
	}
	return b.String()
}

// TestImportFile pins how one file's articles are counted, saved, reported
// and pruned.
func TestImportFile(t *testing.T) {
	t.Parallel()
	type want struct {
		res     FileResult // without Problems
		errText string
		// problems are the texts of the file's problems.
		problems []string
		pruned   [][]string
		stored   []string
	}
	tests := []struct {
		name   string
		stored string // imported first, with Prune
		// Each article of these files is two chunks: its question and
		// its answer.
		data     string
		opts     Options
		store    func(*fakeStore)
		embedder fakeEmbedder
		want     want
	}{
		{name: "new articles", data: jsonlArticles("a", "b", "c"),
			want: want{res: FileResult{Imported: 3, Chunks: 6}, stored: []string{"a", "b", "c"}}},
		{name: "unchanged, changed and new", stored: jsonlArticles("a", "b"),
			data: jsonlArticles("a", "c") + `{"id":"b","question":"How does b work now?","answer":"Differently."}` + "\n",
			want: want{res: FileResult{Imported: 1, Updated: 1, Unchanged: 1, Chunks: 4}, pruned: [][]string{{"a", "b"}}, stored: []string{"a", "b", "c"}}},
		{name: "prune", stored: jsonlArticles("a", "b", "c"), data: jsonlArticles("c", "a"), opts: Options{Prune: true},
			want: want{res: FileResult{Unchanged: 2, Pruned: 1}, pruned: [][]string{{"a", "b", "c"}, {"c", "a"}}, stored: []string{"a", "c"}}},
		{name: "no pruning a file with problems", stored: jsonlArticles("a", "b"), data: jsonlArticles("a") + "not json\n", opts: Options{Prune: true},
			want: want{res: FileResult{Unchanged: 1}, problems: []string{"kb.jsonl:2: want one JSON object per line, got null: invalid input"},
				pruned: [][]string{{"a", "b"}}, stored: []string{"a", "b"}}},
		{name: "an invalid article is a problem, the others are saved", data: jsonlArticles("a", "bad", "c"), opts: Options{Prune: true},
			store: func(s *fakeStore) { s.invalidID = "bad" },
			want: want{res: FileResult{Imported: 2, Chunks: 4}, problems: []string{`kb.jsonl: article "bad": bad article: invalid input`},
				stored: []string{"a", "c"}}},
		{name: "a failing store stops the import", data: jsonlArticles("a", "b"),
			store: func(s *fakeStore) { s.saveErr = errors.New("disk full") },
			want:  want{errText: `import kb.jsonl: article "a": disk full`}},
		{name: "a failing embedder stops the import", data: jsonlArticles("a", "b", "c"), embedder: fakeEmbedder{failOn: "How does b"},
			want: want{errText: `import kb.jsonl: article "b": embed: embedder down`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			store := newFakeStore()
			var progress []Progress
			im := &Importer{Store: store, Embedder: tt.embedder, Concurrency: 2,
				Progress: func(p Progress) { progress = append(progress, p) }}
			if tt.stored != "" {
				if _, err := im.ImportData(ctx, "kb.jsonl", "src", strings.NewReader(tt.stored), Options{Prune: true}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.store != nil {
				tt.store(store)
			}
			progress = nil
			res, err := im.ImportData(ctx, "kb.jsonl", "src", strings.NewReader(tt.data), tt.opts)
			if tt.want.errText != "" {
				if err == nil || err.Error() != tt.want.errText {
					t.Fatalf("ImportData() error = %v, want %q", err, tt.want.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var problems []string
			for _, p := range res.Problems {
				problems = append(problems, p.Error())
			}
			if diff := cmp.Diff(tt.want.problems, problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			res.Problems = nil
			tt.want.res.File, tt.want.res.Source = "kb.jsonl", "src"
			if diff := cmp.Diff(tt.want.res, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want.pruned, store.pruned); diff != "" {
				t.Errorf("pruned (-want +got):\n%s", diff)
			}
			var stored []string
			for id := range store.hashes {
				stored = append(stored, id)
			}
			slices.Sort(stored)
			if diff := cmp.Diff(tt.want.stored, stored); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if n := res.Imported + res.Updated + res.Unchanged + len(res.Problems); len(progress) == 0 || progress[len(progress)-1].Done < n {
				t.Errorf("progress = %v, want it to reach %d", progress, n)
			}
		})
	}
}
