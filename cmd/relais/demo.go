package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"relais/ingest"
)

// demoKB is a small insurer FAQ, in English and French, written for the demo
// so that `relais serve --demo` has something to answer from.
//
//go:embed demo/*.md
var demoKB embed.FS

// loadDemo imports the bundled knowledge base. Re-running it changes nothing
// (the articles are unchanged), so the demo can restart on the same data dir.
func loadDemo(ctx context.Context, im *ingest.Importer, log *slog.Logger) error {
	files, err := fs.Glob(demoKB, "demo/*.md")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	for _, name := range files {
		data, err := demoKB.ReadFile(name)
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
	return nil
}
