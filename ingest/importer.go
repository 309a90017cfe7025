// Package ingest is the write path of the knowledge base: it parses files
// (CSV, JSONL/JSON, Markdown, HTML, plain text), splits articles into chunks,
// embeds them in batches and saves them. Imports are idempotent and
// incremental: content hashes decide what is re-chunked and re-embedded.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/language"
)

// DefaultMaxFileBytes is the largest file an import reads unless configured:
// far above any FAQ export, small enough that a wrong file (a database dump,
// a video) is refused before it fills memory.
const DefaultMaxFileBytes = 20 << 20

// chunkingVersion is part of every content hash: bump it when chunking
// changes so that the next import re-chunks every article.
const chunkingVersion = "2"

// Store is what the importer needs from the knowledge store.
type Store interface {
	ArticleHashes(ctx context.Context, source string) (map[string]string, error)
	SaveArticle(ctx context.Context, a knowledge.Article, chunks []knowledge.Chunk) (knowledge.Article, error)
	SaveArticles(ctx context.Context, batch []knowledge.ArticleChunks) ([]knowledge.Article, error)
	PruneSource(ctx context.Context, source string, keep []string) (int, error)
	SetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error
	ResetEmbeddingSpace(ctx context.Context, s knowledge.EmbeddingSpace) error
	ChunksMissingEmbedding(ctx context.Context, limit int) ([]knowledge.Chunk, error)
	SetChunkEmbeddings(ctx context.Context, chunks []knowledge.Chunk) error
}

// Importer loads articles into the knowledge base.
type Importer struct {
	Store    Store
	Embedder knowledge.Embedder
	Logger   *slog.Logger
	// MaxFileBytes limits each file; DefaultMaxFileBytes when 0.
	MaxFileBytes int64
	// BatchSize is how many chunks go to the embedder at once; 64 when 0.
	BatchSize int
	Chunking  ChunkOptions
	// Progress, when set, is called as articles are processed, from one
	// goroutine at a time.
	Progress func(Progress)
	// Concurrency is how many articles are saved at once; 4 when 0.
	Concurrency int
}

// Progress reports how far an import is.
type Progress struct {
	Done, Total int    // articles
	File        string // the file being processed
}

// Options change how an import treats what is already stored.
type Options struct {
	// Prune deletes the articles of a source file that are no longer in it.
	// It is skipped for a file with problems, so a broken row never deletes
	// the article it used to hold.
	Prune bool
}

// FileResult is what happened to one file.
type FileResult struct {
	File      string
	Source    string
	Imported  int // new articles
	Updated   int // changed articles, re-chunked and re-embedded
	Unchanged int
	Pruned    int
	Chunks    int     // chunks embedded and saved
	Problems  []error // row-level problems; the other rows were imported
	Err       error   // the file could not be imported at all
}

// Failed reports whether anything in the file went wrong.
func (r FileResult) Failed() bool { return r.Err != nil || len(r.Problems) > 0 }

// Summary adds up an import.
type Summary struct {
	Files                                []FileResult
	Imported, Updated, Unchanged, Pruned int
	Chunks                               int
	FailedFiles, Problems                int
}

// Err returns an error listing every failure, or nil when all went well.
func (s Summary) Err() error {
	var errs []error
	for _, f := range s.Files {
		if f.Err != nil {
			errs = append(errs, f.Err)
		}
		errs = append(errs, f.Problems...)
	}
	return errors.Join(errs...)
}

func (s *Summary) add(r FileResult) {
	s.Files = append(s.Files, r)
	s.Imported += r.Imported
	s.Updated += r.Updated
	s.Unchanged += r.Unchanged
	s.Pruned += r.Pruned
	s.Chunks += r.Chunks
	s.Problems += len(r.Problems)
	if r.Err != nil {
		s.FailedFiles++
	}
}

type parsedFile struct {
	res      FileResult
	articles []knowledge.Article
}

// ImportPaths imports files and folders (recursively, files with a supported
// extension). A file that fails is reported in the summary and the others
// still import; the returned error is only for failures that stop the whole
// import (the store or the embedder down, a cancelled context).
func (im *Importer) ImportPaths(ctx context.Context, paths []string, opts Options) (Summary, error) {
	files, walkErrs := expandPaths(paths)
	var sum Summary
	for _, e := range walkErrs {
		sum.add(FileResult{File: e.File, Err: e})
	}
	parsed := make([]parsedFile, 0, len(files))
	for _, f := range files {
		pf := parsedFile{res: FileResult{File: f, Source: sourceOf(f)}}
		data, err := im.readFile(f)
		if err == nil {
			pf.articles, pf.res.Problems, err = im.parse(f, data)
		}
		pf.res.Err = err
		parsed = append(parsed, pf)
	}
	if err := im.run(ctx, parsed, opts, &sum); err != nil {
		return sum, err
	}
	return sum, nil
}

// ImportData imports one file's content, as uploaded under name; source
// identifies it for later re-imports and pruning.
func (im *Importer) ImportData(ctx context.Context, name, source string, r io.Reader, opts Options) (FileResult, error) {
	pf := parsedFile{res: FileResult{File: name, Source: source}}
	data, err := readLimited(name, r, im.maxFileBytes())
	if err == nil {
		pf.articles, pf.res.Problems, err = im.parse(name, data)
	}
	pf.res.Err = err
	var sum Summary
	if err := im.run(ctx, []parsedFile{pf}, opts, &sum); err != nil {
		return pf.res, err
	}
	return sum.Files[0], nil
}

// SaveArticle chunks, embeds and saves one article given directly (by the
// API rather than a file). Source defaults to "api".
func (im *Importer) SaveArticle(ctx context.Context, a knowledge.Article) (knowledge.Article, error) {
	if strings.TrimSpace(a.Title) == "" {
		return knowledge.Article{}, fmt.Errorf("save article: title is empty: %w", relais.ErrInvalid)
	}
	if strings.TrimSpace(a.ExternalID) == "" {
		return knowledge.Article{}, fmt.Errorf("save article: external id is empty: %w", relais.ErrInvalid)
	}
	if a.Source == "" {
		a.Source = "api"
	}
	prepare(&a)
	if err := im.Store.SetEmbeddingSpace(ctx, im.Embedder.Space()); err != nil {
		return knowledge.Article{}, fmt.Errorf("save article %q: %w", a.ExternalID, err)
	}
	chunks := ChunkArticle(a, im.Chunking)
	if err := im.embed(ctx, chunks); err != nil {
		return knowledge.Article{}, fmt.Errorf("save article %q: %w", a.ExternalID, err)
	}
	saved, err := im.Store.SaveArticle(ctx, a, chunks)
	if err != nil {
		return knowledge.Article{}, fmt.Errorf("save article %q: %w", a.ExternalID, err)
	}
	return saved, nil
}

func (im *Importer) run(ctx context.Context, files []parsedFile, opts Options, sum *Summary) error {
	if err := im.Store.SetEmbeddingSpace(ctx, im.Embedder.Space()); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	existing, err := im.Store.ArticleHashes(ctx, "")
	if err != nil {
		return fmt.Errorf("import: read stored articles: %w", err)
	}
	total := 0
	for _, f := range files {
		total += len(f.articles)
	}
	var progress progressCounter
	progress.total = total
	for i := range files {
		f := &files[i]
		if f.res.Err != nil {
			im.logger().WarnContext(ctx, "import: file skipped", "file", f.res.File, "error", f.res.Err)
			sum.add(f.res)
			continue
		}
		err := im.importFile(ctx, f, existing, opts, &progress)
		sum.add(f.res)
		if err != nil {
			return err
		}
		im.logger().InfoContext(ctx, "import: file done", "file", f.res.File,
			"imported", f.res.Imported, "updated", f.res.Updated, "unchanged", f.res.Unchanged,
			"pruned", f.res.Pruned, "chunks", f.res.Chunks, "problems", len(f.res.Problems))
	}
	return nil
}

// progressCounter counts processed articles across files and workers.
type progressCounter struct {
	mu          sync.Mutex
	done, total int
}

func (im *Importer) advance(p *progressCounter, file string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if im.Progress != nil {
		im.Progress(Progress{Done: p.done, Total: p.total, File: file})
	}
}

// Articles are saved in batches of up to saveBatchArticles articles or
// saveBatchChunks chunks, whichever comes first: one transaction a batch
// instead of one an article, which on PostgreSQL means one commit (and its
// flush to disk) for a hundred articles.
const (
	saveBatchArticles = 100
	saveBatchChunks   = 2000
)

// pendingArticle is an article chunked and embedded, waiting for its batch;
// found says it replaces a stored one.
type pendingArticle struct {
	knowledge.ArticleChunks
	found bool
}

// importFile saves the new and changed articles of one parsed file, then
// prunes. Articles are chunked and embedded in order and saved, in batches,
// by Concurrency workers: on PostgreSQL several connections insert and
// commit in parallel.
func (im *Importer) importFile(ctx context.Context, f *parsedFile, existing map[string]string, opts Options, progress *progressCounter) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(im.concurrency())
	fi := &fileImport{im: im, f: f, progress: progress, g: g}
	keep, err := fi.saveChanged(gctx, existing)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		// Cancelled between two batches: what was not saved must not
		// count as imported, nor the file as pruned.
		return fmt.Errorf("import %s: %w", f.res.File, err)
	}
	if !opts.Prune {
		return nil
	}
	return im.pruneFile(ctx, f, keep)
}

// fileImport is one file being imported: the batch being filled and the
// workers saving the batches before it.
type fileImport struct {
	im       *Importer
	f        *parsedFile
	progress *progressCounter
	g        *errgroup.Group // the workers; ctx of its methods is the group's
	mu       sync.Mutex      // guards f.res
	batch    []pendingArticle
	// batchChunks counts the chunks of batch.
	batchChunks int
}

// saveChanged chunks, embeds and saves, in batches, the articles of the file
// that are new or changed, counts them in the file's result, and waits for
// the workers. It returns the external ids of the file's articles, which
// pruning keeps.
func (fi *fileImport) saveChanged(ctx context.Context, existing map[string]string) ([]string, error) {
	keep := make([]string, 0, len(fi.f.articles))
	for _, a := range fi.f.articles {
		if ctx.Err() != nil {
			break // a save failed or the import was cancelled: Wait says which
		}
		a.Source = fi.f.res.Source
		prepare(&a)
		keep = append(keep, a.ExternalID)
		if err := fi.add(ctx, a, existing); err != nil {
			fi.g.Wait()
			return nil, err
		}
	}
	if ctx.Err() == nil {
		fi.flush(ctx)
	}
	if err := fi.g.Wait(); err != nil {
		return nil, err
	}
	return keep, nil
}

// add counts a as unchanged, or chunks and embeds it into the batch, which
// goes to a worker once full. existing is updated so that a later article
// with the same id is compared with this one.
func (fi *fileImport) add(ctx context.Context, a knowledge.Article, existing map[string]string) error {
	old, found := existing[a.ExternalID]
	if found && old == a.ContentHash {
		fi.mu.Lock()
		fi.f.res.Unchanged++
		fi.mu.Unlock()
		fi.im.advance(fi.progress, fi.f.res.File)
		return nil
	}
	existing[a.ExternalID] = a.ContentHash
	chunks := ChunkArticle(a, fi.im.Chunking)
	if err := fi.im.embed(ctx, chunks); err != nil {
		return fmt.Errorf("import %s: article %q: %w", fi.f.res.File, a.ExternalID, err)
	}
	fi.batch = append(fi.batch, pendingArticle{ArticleChunks: knowledge.ArticleChunks{Article: a, Chunks: chunks}, found: found})
	if fi.batchChunks += len(chunks); len(fi.batch) >= saveBatchArticles || fi.batchChunks >= saveBatchChunks {
		fi.flush(ctx)
	}
	return nil
}

// flush hands the batch to a worker, waiting for a free one.
func (fi *fileImport) flush(ctx context.Context) {
	if len(fi.batch) == 0 {
		return
	}
	todo := fi.batch
	fi.batch, fi.batchChunks = nil, 0
	fi.g.Go(func() error { return fi.saveAndCount(ctx, todo) })
}

// saveAndCount saves a batch and counts its articles in the file's result.
// An article the store refuses as invalid is a problem of the file; any
// other error stops the import.
func (fi *fileImport) saveAndCount(ctx context.Context, todo []pendingArticle) error {
	results := fi.im.saveBatch(ctx, todo)
	fi.mu.Lock()
	defer fi.mu.Unlock()
	res := &fi.f.res
	for i, err := range results {
		p := todo[i]
		switch {
		case errors.Is(err, relais.ErrInvalid):
			res.Problems = append(res.Problems, &FileError{File: res.File, Err: fmt.Errorf("article %q: %w", p.Article.ExternalID, err)})
		case err != nil:
			return fmt.Errorf("import %s: article %q: %w", res.File, p.Article.ExternalID, err)
		case p.found:
			res.Updated++
			res.Chunks += len(p.Chunks)
		default:
			res.Imported++
			res.Chunks += len(p.Chunks)
		}
		fi.im.advance(fi.progress, res.File)
	}
	return nil
}

// pruneFile deletes the stored articles of the file's source that are not
// in keep. A file with problems is not pruned: the article a broken row
// used to hold would go.
func (im *Importer) pruneFile(ctx context.Context, f *parsedFile, keep []string) error {
	if len(f.res.Problems) > 0 {
		im.logger().WarnContext(ctx, "import: not pruning a file with problems", "file", f.res.File, "problems", len(f.res.Problems))
		return nil
	}
	n, err := im.Store.PruneSource(ctx, f.res.Source, keep)
	if err != nil {
		return fmt.Errorf("import %s: prune: %w", f.res.File, err)
	}
	f.res.Pruned = n
	return nil
}

// saveBatch saves the articles in one transaction and returns each one's
// error. A batch refused as invalid is saved again article by article, so
// that the one at fault is reported and the others are still saved.
func (im *Importer) saveBatch(ctx context.Context, batch []pendingArticle) []error {
	errs := make([]error, len(batch))
	all := make([]knowledge.ArticleChunks, len(batch))
	for i, p := range batch {
		all[i] = p.ArticleChunks
	}
	_, err := im.Store.SaveArticles(ctx, all)
	switch {
	case err == nil:
	case errors.Is(err, relais.ErrInvalid) && len(batch) > 1:
		for i, p := range batch {
			_, errs[i] = im.Store.SaveArticle(ctx, p.Article, p.Chunks)
		}
	default:
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// Reembed gives every chunk and labelled example an embedding from the
// importer's embedder:
// after a model change it switches the store to the new space first; after
// an interrupted run it carries on where that run stopped. It returns how
// many chunks and examples it embedded.
func (im *Importer) Reembed(ctx context.Context) (int, error) {
	space := im.Embedder.Space()
	if err := im.Store.SetEmbeddingSpace(ctx, space); err != nil {
		if !errors.Is(err, relais.ErrConflict) {
			return 0, fmt.Errorf("re-embed: %w", err)
		}
		im.logger().InfoContext(ctx, "re-embed: switching embedding space", "model", space.Model, "dimensions", space.Dimensions)
		if err := im.Store.ResetEmbeddingSpace(ctx, space); err != nil {
			return 0, fmt.Errorf("re-embed: reset embedding space: %w", err)
		}
	}
	n := 0
	for {
		chunks, err := im.Store.ChunksMissingEmbedding(ctx, im.batchSize())
		if err != nil {
			return n, fmt.Errorf("re-embed: %w", err)
		}
		if len(chunks) == 0 {
			break
		}
		if err := im.embed(ctx, chunks); err != nil {
			return n, fmt.Errorf("re-embed: %w", err)
		}
		if err := im.Store.SetChunkEmbeddings(ctx, chunks); err != nil {
			return n, fmt.Errorf("re-embed: %w", err)
		}
		n += len(chunks)
		if im.Progress != nil {
			im.Progress(Progress{Done: n, Total: -1, File: "chunks"})
		}
	}
	es, ok := im.Store.(exampleReembedder)
	if !ok {
		return n, nil
	}
	for {
		examples, err := es.ExamplesMissingEmbedding(ctx, im.batchSize())
		if err != nil {
			return n, fmt.Errorf("re-embed examples: %w", err)
		}
		if len(examples) == 0 {
			return n, nil
		}
		if err := im.embedExamples(ctx, examples); err != nil {
			return n, fmt.Errorf("re-embed examples: %w", err)
		}
		if err := es.SetExampleEmbeddings(ctx, examples); err != nil {
			return n, fmt.Errorf("re-embed examples: %w", err)
		}
		n += len(examples)
		if im.Progress != nil {
			im.Progress(Progress{Done: n, Total: -1, File: "examples"})
		}
	}
}

// exampleReembedder is the part of a store holding labelled examples that
// re-embedding needs; stores without examples skip that step.
type exampleReembedder interface {
	ExamplesMissingEmbedding(ctx context.Context, limit int) ([]knowledge.Example, error)
	SetExampleEmbeddings(ctx context.Context, examples []knowledge.Example) error
}

// embed gives chunks their embeddings, BatchSize texts per call.
func (im *Importer) embed(ctx context.Context, chunks []knowledge.Chunk) error {
	size := im.batchSize()
	for start := 0; start < len(chunks); start += size {
		batch := chunks[start:min(start+size, len(chunks))]
		texts := make([]string, len(batch))
		for i, c := range batch {
			texts[i] = c.Text
		}
		vecs, err := knowledge.Embed(ctx, im.Embedder, texts)
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		for i, v := range vecs {
			batch[i].Embedding = v
		}
	}
	return nil
}

// embedExamples gives examples their embeddings, in one call.
func (im *Importer) embedExamples(ctx context.Context, examples []knowledge.Example) error {
	texts := make([]string, len(examples))
	for i, e := range examples {
		texts[i] = e.Text
	}
	vecs, err := knowledge.Embed(ctx, im.Embedder, texts)
	if err != nil {
		return err
	}
	for i, v := range vecs {
		examples[i].Embedding = v
	}
	return nil
}

func (im *Importer) parse(name string, data []byte) ([]knowledge.Article, []error, error) {
	p, err := Parse(name, data)
	if err != nil {
		return nil, nil, err
	}
	problems := make([]error, len(p.Problems))
	for i, pr := range p.Problems {
		problems[i] = pr
	}
	return p.Articles, problems, nil
}

func (im *Importer) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{File: path, Err: err}
	}
	defer f.Close()
	return readLimited(path, f, im.maxFileBytes())
}

// readLimited reads at most limit bytes and fails, without reading the rest,
// when there are more.
func readLimited(name string, r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, &FileError{File: name, Err: err}
	}
	if int64(len(data)) > limit {
		return nil, &FileError{File: name, Err: fmt.Errorf("file is larger than the %d-byte limit (raise it with --max-file-bytes): %w", limit, relais.ErrTooLarge)}
	}
	return data, nil
}

func (im *Importer) maxFileBytes() int64 {
	if im.MaxFileBytes > 0 {
		return im.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

func (im *Importer) concurrency() int {
	if im.Concurrency > 0 {
		return im.Concurrency
	}
	return 4
}

func (im *Importer) batchSize() int {
	if im.BatchSize > 0 {
		return im.BatchSize
	}
	return 64
}

func (im *Importer) logger() *slog.Logger {
	if im.Logger != nil {
		return im.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// prepare fills what the loaders leave to the importer: the language when the
// file did not say, normalised tags, and the content hash.
func prepare(a *knowledge.Article) {
	a.Title = strings.TrimSpace(a.Title)
	a.Body = strings.TrimSpace(a.Body)
	if a.Language == "" {
		a.Language = language.Detect(a.Title + "\n" + a.Body)
	}
	tags := a.Tags[:0:0]
	for _, t := range a.Tags {
		if t = strings.TrimSpace(t); t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	a.Tags = tags
	a.ContentHash = ContentHash(*a)
}

// ContentHash identifies what an article's chunks and embeddings are made
// of; two articles with the same hash need not be re-embedded.
func ContentHash(a knowledge.Article) string {
	b, _ := json.Marshal(struct {
		V         string   `json:"v"`
		Title     string   `json:"t"`
		Body      string   `json:"b"`
		Language  string   `json:"l"`
		Topic     string   `json:"o"`
		Tags      []string `json:"g"`
		Phrasings []string `json:"p"`
	}{chunkingVersion, a.Title, a.Body, a.Language, a.Topic, a.Tags, a.Phrasings})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sourceOf names a file as a source. The absolute path keeps re-imports from
// another working directory pointing at the same source, which pruning
// relies on.
func sourceOf(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return filepath.Clean(path)
}

// expandPaths lists the files to import: files as given (whatever their
// extension, so that a wrong one gets a clear error), and under folders every
// non-hidden file with a supported extension, in name order.
func expandPaths(paths []string) ([]string, []*FileError) {
	var files []string
	var errs []*FileError
	seen := make(map[string]bool)
	addFile := func(p string) {
		if !seen[p] {
			seen[p] = true
			files = append(files, p)
		}
	}
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			errs = append(errs, &FileError{File: p, Err: err})
			continue
		}
		if !info.IsDir() {
			addFile(p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				errs = append(errs, &FileError{File: path, Err: err})
				return nil
			}
			if path != p && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.IsDir() && Supported(path) {
				found = append(found, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, &FileError{File: p, Err: err})
		}
		sort.Strings(found)
		for _, f := range found {
			addFile(f)
		}
	}
	return files, errs
}
