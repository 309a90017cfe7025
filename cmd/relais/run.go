package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// usageError is a mistake in the command line; main exits 2 on it.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// env is how commands read the environment; tests pass their own.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	stdin  io.Reader
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP server (API, webhooks, consoles)", runServe},
		{"ingest", "import FAQs and documents into the knowledge base", runIngest},
		{"ask", "search the knowledge base for a question", runAsk},
		{"demo", "chat in the terminal with the assistant on the bundled demo knowledge (demo chat)", runDemo},
		{"eval", "measure resolution, wrong answers and escalations on a labelled set", runEval},
		{"migrate", "create or upgrade the database schema", runMigrate},
		{"migrate-store", "move everything from one store to another (embedded to PostgreSQL, or back)", runMigrateStore},
		{"token", "create, list and revoke API tokens", runToken},
		{"customer", "export or erase everything Relais holds about one customer", runCustomer},
		{"webchat", "rotate the web chat's session key", runWebChat},
		{"version", "print the version and build this binary comes from", runVersion},
	}
}

// Run runs the relais command line with args (without the program name).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return run(ctx, env{getenv: os.Getenv, stdout: stdout, stderr: stderr, stdin: os.Stdin}, args)
}

func run(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(e.stdout)
		if len(args) == 0 {
			return usagef("no command given")
		}
		return nil
	}
	if args[0] == "--version" || args[0] == "-version" {
		return runVersion(ctx, e, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, e, args[1:])
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return err
		}
	}
	printUsage(e.stderr)
	return usagef("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("Relais answers customer questions from a knowledge base and hands the rest to people.\n\nUsage:\n  relais <command> [flags] [arguments]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-8s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'relais <command> -h' for a command's flags. Every flag can also be set by its RELAIS_* variable.\n")
	io.WriteString(w, b.String())
}

// parseFlags parses a command's flags, reporting mistakes as usage errors.
func parseFlags(fs *flag.FlagSet, e env, args []string) error {
	fs.SetOutput(e.stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// loadConfig reads the environment into a config; the command's flags are
// then bound on top of it.
func loadConfig(e env) (Config, error) {
	cfg := defaultConfig()
	if err := cfg.fromEnv(e.getenv); err != nil {
		return cfg, fmt.Errorf("invalid environment: %w", err)
	}
	return cfg, nil
}
