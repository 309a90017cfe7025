package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"relais/ingest"
	"relais/knowledge"
	"relais/language"
	"relais/server"
)

func runMigrate(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	cfg.storageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais migrate [--data-dir DIR | --database-url URL]\n\nCreates or upgrades the schema. serve, ingest and ask also migrate on start.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.newLogger(e.stderr)
	_, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	closeStore()
	fmt.Fprintln(e.stdout, "schema is up to date")
	return nil
}

func runIngest(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	prune := fs.Bool("prune", false, "delete articles of these files that are no longer in them")
	reembed := fs.Bool("reembed", false, "re-embed the whole knowledge base with the configured embedding model (after a model change)")
	maxBytes := fs.Int64("max-file-bytes", ingest.DefaultMaxFileBytes, "refuse files larger than this")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais ingest [flags] PATH...\n\nImports files and folders (.csv .tsv .jsonl .json .md .html .txt). Unchanged articles are skipped.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if fs.NArg() == 0 && !*reembed {
		fs.Usage()
		return usagef("ingest: no file or folder given")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.newLogger(e.stderr)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	emb, err := newEmbedder(ctx, cfg, log)
	if err != nil {
		return err
	}
	bar := newProgress(e.stderr, "ingest")
	im := &ingest.Importer{
		Store: st, Embedder: emb, Logger: log, MaxFileBytes: *maxBytes,
		Progress: func(p ingest.Progress) { bar.update(p.Done, p.Total, p.File) },
	}
	if *reembed {
		n, err := im.Reembed(ctx)
		bar.finish()
		if err != nil {
			return fmt.Errorf("%w (run 'relais ingest --reembed' again to carry on)", err)
		}
		fmt.Fprintf(e.stdout, "re-embedded %d chunks with %s (%d dimensions)\n", n, emb.Space().Model, emb.Space().Dimensions)
		if fs.NArg() == 0 {
			return nil
		}
	} else if err := checkSpace(ctx, st, emb); err != nil {
		return err
	}
	sum, err := im.ImportPaths(ctx, fs.Args(), ingest.Options{Prune: *prune})
	bar.finish()
	printSummary(e, sum)
	if err != nil {
		return err
	}
	if sum.FailedFiles > 0 || sum.Problems > 0 {
		return fmt.Errorf("ingest: %d of %d files failed, %d problems in rows (see above)", sum.FailedFiles, len(sum.Files), sum.Problems)
	}
	return nil
}

func printSummary(e env, sum ingest.Summary) {
	for _, f := range sum.Files {
		if f.Err != nil {
			fmt.Fprintf(e.stderr, "error: %v\n", f.Err)
		}
		for _, p := range f.Problems {
			fmt.Fprintf(e.stderr, "problem: %v\n", p)
		}
	}
	fmt.Fprintf(e.stdout, "imported %d, updated %d, unchanged %d, pruned %d articles (%d chunks embedded); %d files, %d failed, %d problems\n",
		sum.Imported, sum.Updated, sum.Unchanged, sum.Pruned, sum.Chunks, len(sum.Files), sum.FailedFiles, sum.Problems)
}

func runAsk(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("ask", flag.ContinueOnError)
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	limit := fs.Int("limit", 5, "how many articles to show")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais ask [flags] \"question\"\n\nSearches the knowledge base and prints the best articles with their scores.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	question := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if question == "" {
		fs.Usage()
		return usagef("ask: no question given")
	}
	if *limit < 1 || *limit > 50 {
		return usagef("ask: --limit must be from 1 to 50")
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.newLogger(e.stderr)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	emb, err := newEmbedder(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := checkSpace(ctx, st, emb); err != nil {
		return err
	}
	searcher := &knowledge.Searcher{Store: st, Embedder: emb}
	res, err := searcher.Search(ctx, question, knowledge.SearchOptions{Limit: *limit, Language: language.Detect(question)})
	if err != nil {
		return err
	}
	if len(res.Hits) == 0 {
		fmt.Fprintln(e.stdout, "no article matches; is the knowledge base empty? Import one with 'relais ingest FILE'.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tARTICLE\tTITLE\tSCORE\tVECTOR\tTEXT")
	for i, h := range res.Hits {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.4f\t%.3f (#%d)\t%.3f (#%d)\n", i+1, h.Article.ExternalID, clip(h.Article.Title, 48),
			h.Score, h.VectorScore, h.VectorRank, h.TextScore, h.TextRank)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "\nbest passage (%s):\n%s\n", res.Hits[0].Article.ExternalID, clip(res.Hits[0].Passage.Text, 600))
	return nil
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func runServe(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (RELAIS_ADDR)")
	demo := fs.Bool("demo", false, "load the bundled sample knowledge base so you can try Relais at once")
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais serve [flags]\n\nRuns the HTTP server until SIGINT or SIGTERM.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("serve: unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	log := cfg.newLogger(e.stderr)
	st, closeStore, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeStore()
	emb, err := newEmbedder(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := checkSpace(ctx, st, emb); err != nil {
		return err
	}
	importer := &ingest.Importer{Store: st, Embedder: emb, Logger: log, MaxFileBytes: cfg.MaxUploadBytes}
	if *demo {
		if err := loadDemo(ctx, importer, log); err != nil {
			return err
		}
		if cfg.AdminToken == "" {
			cfg.AdminToken = randomToken()
			fmt.Fprintf(e.stderr, "demo: no RELAIS_ADMIN_TOKEN set; this run's admin token is %s\n", cfg.AdminToken)
		}
	}
	if cfg.AdminToken == "" {
		log.Warn("RELAIS_ADMIN_TOKEN is not set: the knowledge API refuses every request until it is")
	}
	srv := server.New(server.Config{
		Logger:         log,
		Store:          st,
		Knowledge:      st,
		Searcher:       &knowledge.Searcher{Store: st, Embedder: emb},
		Importer:       importer,
		Auth:           server.NewStaticToken(cfg.AdminToken),
		MaxUploadBytes: cfg.MaxUploadBytes,
	})
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	return serveUntilDone(ctx, log, ln, srv)
}

// serveUntilDone serves on ln until ctx ends, then stops accepting and waits
// up to 15 s for requests in flight to finish.
func serveUntilDone(ctx context.Context, log interface {
	Info(string, ...any)
}, ln net.Listener, h http.Handler) error {
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("relais is listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing requests in flight")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
