package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/relais-ai/relais/assistant/intent"
	"github.com/relais-ai/relais/ingest"
)

// demoFiles is the demo's content, written for it: an insurer's and a
// shop's FAQs in English and French (*.jsonl, as `relais ingest` reads
// them), labelled customer questions (examples.csv, as `relais ingest
// --examples` reads them) and intent examples for emergencies
// (intents.txt, as RELAIS_INTENTS_FILE reads them).
//
//go:embed demo/*.jsonl demo/examples.csv demo/intents.txt
var demoFiles embed.FS

const (
	demoExamples = "demo/examples.csv"
	demoIntents  = "demo/intents.txt"
)

// loadDemo imports the bundled knowledge base and its examples, then
// calibrates the assistant on them, as an operator would with `relais
// ingest` and `relais ingest --examples`. Re-running it changes nothing but
// the calibration's date (the articles are unchanged, the examples
// replaced), so the demo can restart on the same data dir.
func loadDemo(ctx context.Context, cfg Config, st store, im *ingest.Importer, log *slog.Logger) error {
	files, err := fs.Glob(demoFiles, "demo/*.jsonl")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, name := range files {
		data, err := demoFiles.ReadFile(name)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		res, err := im.ImportData(ctx, name, "demo:"+name, bytes.NewReader(data), ingest.Options{Prune: true})
		if err != nil {
			return fmt.Errorf("demo: import %s: %w", name, err)
		}
		if res.Failed() {
			return fmt.Errorf("demo: import %s: %v %v", name, res.Err, res.Problems)
		}
		log.Info("demo knowledge loaded", "file", name, "imported", res.Imported, "unchanged", res.Unchanged)
	}
	// Earlier versions of the demo shipped these files; a data dir they
	// filled keeps no article of theirs.
	for _, gone := range []string{"demo:demo/kb.md", "demo:demo/faq-fr.md"} {
		if n, err := st.PruneSource(ctx, gone, nil); err != nil {
			return fmt.Errorf("demo: remove the articles of %s: %w", gone, err)
		} else if n > 0 {
			log.Info("demo: removed the articles of an earlier demo", "source", gone, "articles", n)
		}
	}
	data, err := demoFiles.ReadFile(demoExamples)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	res, err := im.ImportExamples(ctx, st, demoExamples, "demo:"+demoExamples, bytes.NewReader(data), true)
	if err != nil {
		return fmt.Errorf("demo: import %s: %w", demoExamples, err)
	}
	if res.Err != nil || len(res.Problems) > 0 {
		return fmt.Errorf("demo: import %s: %v %v", demoExamples, res.Err, res.Problems)
	}
	cal, err := calibrate(ctx, cfg, st, im.Embedder, log, nil)
	if err != nil {
		return fmt.Errorf("demo: calibrate: %w", err)
	}
	log.Info("demo examples loaded", "examples", res.Read, "threshold", cal.Threshold,
		"estimated_resolution", cal.EstimatedResolution, "estimated_wrong_rate", cal.EstimatedWrongRate)
	return nil
}

// demoIntentExamples are the demo's intent examples, added to the built-in
// ones when the demo runs.
func demoIntentExamples() ([]intent.Example, error) {
	f, err := demoFiles.Open(demoIntents)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer f.Close()
	return intent.ParseExamples(f, demoIntents)
}
