package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/relais-ai/relais/postgres"
	"github.com/relais-ai/relais/sqlite"
	"github.com/relais-ai/relais/transfer"
)

// transferStore is a store migrate-store reads from or writes to.
type transferStore interface {
	transfer.Source
	transfer.Target
}

func runMigrateStore(ctx context.Context, e env, args []string) error {
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("migrate-store", flag.ContinueOnError)
	from := fs.String("from", "", "the store to read: a data directory of the embedded store, or a postgres:// URL")
	to := fs.String("to", "", "the store to fill, which must be empty: a new data directory, or a postgres:// URL of an empty database")
	batch := fs.Int("batch", 500, "rows per transaction")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais migrate-store --from STORE --to STORE\n\n"+
			"Moves everything a store holds (articles and their embeddings, examples, calibrations, conversations,\n"+
			"messages, decisions, tickets, drafts, outbox, media, customers, API tokens and signing keys) into\n"+
			"another, empty store: the embedded store to PostgreSQL when a shop outgrows one machine, or back.\n"+
			"STORE is a data directory (./relais-data) or a postgres:// URL. Stop relais serve first: rows written\n"+
			"during the move may be left behind. The source is only read.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	switch {
	case *from == "" || *to == "":
		return usagef("migrate-store: give both --from and --to (a data directory or a postgres:// URL each)")
	case *from == *to:
		return usagef("migrate-store: --from and --to are the same store")
	case *batch < 1:
		return usagef("migrate-store: --batch must be at least 1, got %d", *batch)
	}
	log := cfg.newLogger(e.stderr)
	src, closeSrc, err := openTransferStore(ctx, *from, log)
	if err != nil {
		return fmt.Errorf("migrate-store: open --from: %w", err)
	}
	defer closeSrc()
	dst, closeDst, err := openTransferStore(ctx, *to, log)
	if err != nil {
		return fmt.Errorf("migrate-store: open --to: %w", err)
	}
	defer closeDst()

	bar := newProgress(e.stderr, "migrate-store")
	counts, err := transfer.Copy(ctx, src, dst, transfer.Options{
		BatchRows: *batch,
		Progress:  func(table string, rows int64) { bar.update(int(rows), -1, table) },
	})
	bar.finish()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tROWS")
	var total int64
	for _, c := range counts {
		fmt.Fprintf(tw, "%s\t%d\n", c.Table, c.Rows)
		total += c.Rows
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "moved %d rows from %s to %s; the counts match\n", total, describeStore(*from), describeStore(*to))
	return nil
}

// isDatabaseURL tells a PostgreSQL URL from a data directory.
func isDatabaseURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// describeStore names a store without the URL's password.
func describeStore(s string) string {
	if isDatabaseURL(s) {
		return "PostgreSQL"
	}
	return s
}

func openTransferStore(ctx context.Context, where string, log *slog.Logger) (transferStore, func(), error) {
	if isDatabaseURL(where) {
		db, err := postgres.Open(ctx, where, log)
		if err != nil {
			return nil, nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, db.Close, nil
	}
	db, err := sqlite.Open(ctx, where, log)
	if err != nil {
		return nil, nil, fmt.Errorf("open the embedded store in %s: %w", where, err)
	}
	return db, func() {
		if err := db.Close(); err != nil {
			log.Warn("close the embedded store", "error", err)
		}
	}, nil
}
