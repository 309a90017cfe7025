package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/relais-ai/relais/conversation"
)

// runCustomer answers a data-protection request for one customer: export
// prints everything Relais holds about them as JSON (conversation.CustomerData),
// erase deletes it and prints what went. Neither asks for confirmation, so
// that a script can run them; erase refuses anything but exactly one
// non-blank id, so that no mistake on the command line can widen it.
func runCustomer(ctx context.Context, e env, args []string) error {
	const usage = "Usage: relais customer export [--out FILE] CUSTOMER_ID\n       relais customer erase CUSTOMER_ID\n\n" +
		"The customer id is the channel's identity of the customer: the customer_id of the API, a WhatsApp number, a web chat session.\n" +
		"export prints the customer's conversations, messages, handoffs, decisions and outbox entries as JSON, on every channel;\n" +
		"erase deletes them and prints the counts. Flags go before the id; each takes --data-dir or --database-url."
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, usage)
		if len(args) == 0 {
			return usagef("customer: no subcommand given: export or erase")
		}
		return flag.ErrHelp
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sub := args[0]
	fs := flag.NewFlagSet("customer "+sub, flag.ContinueOnError)
	cfg.storageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var out *string
	switch sub {
	case "export":
		out = fs.String("out", "", "write the JSON to this file (created readable by you alone) instead of stdout")
	case "erase":
	default:
		fmt.Fprintln(e.stderr, usage)
		return usagef("customer: unknown subcommand %q: want export or erase", sub)
	}
	if err := parseFlags(fs, e, args[1:]); err != nil {
		return err
	}
	// Flags after the id would be taken for more ids: refusing them keeps
	// "erase ID --database-url URL" from erasing in the default store.
	if fs.NArg() != 1 {
		return usagef("customer %s: give exactly one customer id, after the flags (got %d arguments)", sub, fs.NArg())
	}
	id := fs.Arg(0)
	if conversation.ValidateCustomerID(id) != nil {
		return usagef("customer %s: the customer id is empty", sub)
	}
	if _, err := cfg.validate(); err != nil {
		return err
	}
	st, closeStore, err := openStore(ctx, cfg, cfg.newLogger(e.stderr))
	if err != nil {
		return err
	}
	defer closeStore()

	switch sub {
	case "export":
		data, err := st.ExportCustomer(ctx, id)
		if err != nil {
			return err
		}
		if len(data.Conversations) == 0 {
			fmt.Fprintln(e.stderr, "Relais holds no conversation of this customer id")
		}
		if *out == "" {
			return writeExport(e.stdout, data)
		}
		if err := writeExportFile(*out, data); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %d conversations to %s\n", len(data.Conversations), *out)
	case "erase":
		erased, err := st.EraseCustomer(ctx, id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "erased %s\n", erased)
	}
	return nil
}

func writeExport(w io.Writer, data conversation.CustomerData) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // customers write '<', '>' and '&'; keep them readable
	return enc.Encode(data)
}

// writeExportFile writes the export to path, creating it private to the
// user: it holds a customer's personal data.
func writeExportFile(path string, data conversation.CustomerData) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("customer export: %w", err)
	}
	werr := writeExport(f, data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("customer export: write %s: %w", path, werr)
	}
	return nil
}
