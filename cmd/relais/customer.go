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
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, customerUsage)
		if len(args) == 0 {
			return usagef("customer: no subcommand given: export or erase")
		}
		return flag.ErrHelp
	}
	cfg, req, err := parseCustomerFlags(e, args[0], args[1:])
	if err != nil {
		return err
	}
	st, closeStore, err := openStoreOnly(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer closeStore()

	switch req.sub {
	case "export":
		return exportCustomer(ctx, e, st, req.id, req.out)
	case "erase":
		return eraseCustomer(ctx, e, st, req.id)
	}
	return nil
}

const customerUsage = "Usage: relais customer export [--out FILE] CUSTOMER_ID\n       relais customer erase CUSTOMER_ID\n\n" +
	"The customer id is the channel's identity of the customer: the customer_id of the API, a WhatsApp number, a web chat session.\n" +
	"export prints the customer's conversations, messages, handoffs, decisions and outbox entries as JSON, on every channel;\n" +
	"erase deletes them and prints the counts. Flags go before the id; each takes --data-dir or --database-url."

// customerRequest is one customer command: the subcommand, the customer id
// and, for export, the file to write ("" for stdout).
type customerRequest struct {
	sub, id, out string
}

// parseCustomerFlags reads the configuration and the flags of the
// subcommand sub, and checks that exactly one non-blank customer id follows
// them.
func parseCustomerFlags(e env, sub string, args []string) (Config, customerRequest, error) {
	req := customerRequest{sub: sub}
	cfg, err := loadConfig(e)
	if err != nil {
		return cfg, req, err
	}
	fs := flag.NewFlagSet("customer "+sub, flag.ContinueOnError)
	cfg.storageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), customerUsage)
		fs.PrintDefaults()
	}
	switch sub {
	case "export":
		fs.StringVar(&req.out, "out", "", "write the JSON to this file (created readable by you alone) instead of stdout")
	case "erase":
	default:
		fmt.Fprintln(e.stderr, customerUsage)
		return cfg, req, usagef("customer: unknown subcommand %q: want export or erase", sub)
	}
	if err := parseFlags(fs, e, args); err != nil {
		return cfg, req, err
	}
	// Flags after the id would be taken for more ids: refusing them keeps
	// "erase ID --database-url URL" from erasing in the default store.
	if fs.NArg() != 1 {
		return cfg, req, usagef("customer %s: give exactly one customer id, after the flags (got %d arguments)", sub, fs.NArg())
	}
	req.id = fs.Arg(0)
	if conversation.ValidateCustomerID(req.id) != nil {
		return cfg, req, usagef("customer %s: the customer id is empty", sub)
	}
	return cfg, req, nil
}

// exportCustomer writes everything st holds about the customer to out, or
// to stdout when out is "".
func exportCustomer(ctx context.Context, e env, st conversation.PersonalData, id, out string) error {
	data, err := st.ExportCustomer(ctx, id)
	if err != nil {
		return err
	}
	if len(data.Conversations) == 0 {
		fmt.Fprintln(e.stderr, "Relais holds no conversation of this customer id")
	}
	if out == "" {
		return writeExport(e.stdout, data)
	}
	if err := writeExportFile(out, data); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %d conversations to %s\n", len(data.Conversations), out)
	return nil
}

// eraseCustomer deletes everything st holds about the customer and prints
// what went.
func eraseCustomer(ctx context.Context, e env, st conversation.PersonalData, id string) error {
	erased, err := st.EraseCustomer(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "erased %s\n", erased)
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
