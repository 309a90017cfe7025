package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/ingest"
)

// runDemo is `relais demo SUBCOMMAND`; chat is the only one.
func runDemo(ctx context.Context, e env, args []string) error {
	if len(args) == 0 || args[0] != "chat" {
		fmt.Fprintln(e.stderr, "Usage: relais demo chat [flags]\n\nChats with the assistant on the bundled demo knowledge base, in the terminal.")
		if len(args) == 0 {
			return usagef("demo: no subcommand given (chat)")
		}
		return usagef("demo: unknown subcommand %q (chat)", args[0])
	}
	return runDemoChat(ctx, e, args[1:])
}

// runDemoChat reads customer messages from stdin, one a line, until EOF or
// "/quit", and prints each decision: the reply, then a secondary line with
// its action, reason, confidence and cited source.
func runDemoChat(ctx context.Context, e env, args []string) error {
	cfg, verbose, given, err := parseDemoChatFlags(e, args)
	if err != nil {
		return err
	}
	if !given["data-dir"] && cfg.DatabaseURL == "" {
		dir, err := os.MkdirTemp("", "relais-demo-")
		if err != nil {
			return fmt.Errorf("demo chat: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	if cfg.LogLevel == defaultConfig().LogLevel && !given["log-level"] {
		cfg.LogLevel = "warn" // the chat is the output; progress logs would drown it
	}
	cfg.demo = true
	ap, err := openApp(ctx, e, cfg, appOptions{})
	if err != nil {
		return err
	}
	defer ap.close()
	a, err := demoAssistant(ctx, cfg, ap)
	if err != nil {
		return err
	}
	c := chat{w: e.stdout, dim: isTerminal(e.stdout), verbose: verbose}
	fmt.Fprintln(e.stdout, "Relais demo: ask what an insurer's or a shop's customer would ask (English or French). /quit ends.")
	return c.converse(ctx, a, e.stdin)
}

// parseDemoChatFlags reads the configuration and the flags of demo chat. It
// returns the configuration, --verbose, and the names of the flags given on
// the command line.
func parseDemoChatFlags(e env, args []string) (Config, bool, map[string]bool, error) {
	cfg, err := loadConfig(e)
	if err != nil {
		return cfg, false, nil, err
	}
	fs := flag.NewFlagSet("demo chat", flag.ContinueOnError)
	cfg.storageFlags(fs)
	cfg.providerFlags(fs)
	verbose := fs.Bool("verbose", false, "also print the candidate articles of each decision")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais demo chat [flags]\n\nChats with the assistant on the bundled demo knowledge base: type a customer message, read the\nreply and why it was given. Ends at end of input or on /quit. Without --data-dir (or\n--database-url) the demo runs in a temporary embedded store, removed at the end.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args); err != nil {
		return cfg, false, nil, err
	}
	if fs.NArg() > 0 {
		return cfg, false, nil, usagef("demo chat: unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return cfg, *verbose, given, nil
}

// demoAssistant loads the demo knowledge base into the app's store and
// returns the assistant that answers from it.
func demoAssistant(ctx context.Context, cfg Config, ap *app) (*assistant.Assistant, error) {
	if err := checkEmbedderSpace(ctx, ap.store, ap.providers.embedder); err != nil {
		return nil, err
	}
	im := &ingest.Importer{Store: ap.store, Embedder: ap.providers.embedder, Logger: ap.log}
	if err := loadDemo(ctx, cfg, ap.store, im, ap.log); err != nil {
		return nil, err
	}
	return newAssistant(cfg, ap.store, ap.providers, ap.log)
}

// converse reads customer messages from r, one a line, until end of input
// or "/quit", and prints each of a's decisions, carrying the conversation's
// state from one message to the next.
func (c chat) converse(ctx context.Context, a *assistant.Assistant, r io.Reader) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 0, 4096), 64*1024)
	var state assistant.Input
	for {
		fmt.Fprint(c.w, "> ")
		if !in.Scan() {
			fmt.Fprintln(c.w)
			break
		}
		text := strings.TrimSpace(in.Text())
		if text == "/quit" || text == "/exit" {
			break
		}
		if text == "" {
			continue
		}
		state.Text = text
		d := a.Decide(ctx, state)
		c.print(d)
		state = nextInput(state, d)
		if ctx.Err() != nil {
			return nil
		}
	}
	if err := in.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("demo chat: read input: %w", err)
	}
	return nil
}

// nextInput is what the assistant remembers for the next message: the
// conversation's language, whether it asked "did this help?", and how many
// turns in a row it could not answer.
func nextInput(prev assistant.Input, d assistant.Decision) assistant.Input {
	next := assistant.Input{Language: d.Language, AwaitingFeedback: d.AskFeedback}
	if next.Language == "" {
		next.Language = prev.Language
	}
	if d.Action == assistant.Handoff {
		// A person takes over the conversation; the next message starts
		// afresh, as after the agent returns it to the bot.
		return next
	}
	if d.Action == assistant.Reply && d.Intent == assistant.IntentQuestion {
		next.Failures = prev.Failures + 1 // asked to rephrase
	}
	next.History = append(prev.History, assistant.Turn{Role: "customer", Text: prev.Text}, assistant.Turn{Role: "assistant", Text: d.Text})
	return next
}

// chat prints decisions for a person reading a terminal.
type chat struct {
	w       io.Writer
	dim     bool // grey out the secondary lines (a terminal)
	verbose bool
}

func (c chat) print(d assistant.Decision) {
	fmt.Fprintf(c.w, "%s\n", strings.TrimSpace(conversation.FormatText(d.Text, conversation.PlainText)))
	info := []string{string(d.Action)}
	if d.Action == assistant.Handoff {
		info[0] = fmt.Sprintf("handoff (%s, %s priority)", d.Reason, handoff.PriorityFor(d))
	}
	if d.Intent != "" && d.Intent != assistant.IntentQuestion {
		intent := "intent " + d.Intent
		if d.Topic != "" {
			intent += ":" + d.Topic
		}
		info = append(info, intent)
	}
	if d.Action != assistant.Reply && d.Trace.Threshold > 0 { // 0: decided by intent, before retrieval
		info = append(info, fmt.Sprintf("confidence %.2f (threshold %.2f)", d.Confidence, d.Trace.Threshold))
	}
	if d.Action == assistant.Answer && len(d.Sources) > 0 {
		info = append(info, fmt.Sprintf("source %s %q", d.Sources[0].ArticleID, d.Sources[0].Title))
	}
	c.secondary("  · " + strings.Join(info, " · "))
	if c.verbose {
		for i, cand := range d.Trace.Candidates {
			c.secondary(fmt.Sprintf("    %d. %.3f %s %q", i+1, cand.Score, cand.ArticleID, clip(cand.Title, 60)))
		}
	}
}

func (c chat) secondary(line string) {
	if c.dim {
		line = "\x1b[2m" + line + "\x1b[0m"
	}
	fmt.Fprintln(c.w, line)
}
