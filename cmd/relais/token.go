package main

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/relais-ai/relais/auth"
)

// runToken manages API tokens: create (the secret is printed once and only
// its digest stored), list and revoke.
func runToken(ctx context.Context, e env, args []string) error {
	const usage = "Usage: relais token create --role agent|editor|admin --name NAME\n       relais token list\n       relais token revoke ID\n\n" +
		"Each takes --data-dir or --database-url. An agent token's name is the agent's id in the handoff queue."
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, usage)
		if len(args) == 0 {
			return usagef("token: no subcommand given: create, list or revoke")
		}
		return flag.ErrHelp
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	sub := args[0]
	fs := flag.NewFlagSet("token "+sub, flag.ContinueOnError)
	cfg.storageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	var role, name *string
	switch sub {
	case "create":
		role = fs.String("role", "", "what the token may do: agent (handoffs), editor (knowledge) or admin (everything)")
		name = fs.String("name", "", "who holds it; for an agent, the agent id")
	case "list", "revoke":
	default:
		fmt.Fprintln(e.stderr, usage)
		return usagef("token: unknown subcommand %q: want create, list or revoke", sub)
	}
	if err := parseFlags(fs, e, args[1:]); err != nil {
		return err
	}
	var revokeID int64
	switch sub {
	case "create":
		if fs.NArg() > 0 {
			return usagef("token create: unexpected argument %q", fs.Arg(0))
		}
		if _, err := auth.ParseRole(*role); err != nil {
			return usagef("token create: --role %q: want agent, editor or admin", *role)
		}
		if strings.TrimSpace(*name) == "" {
			return usagef("token create: --name is required (for an agent, the agent id)")
		}
	case "list":
		if fs.NArg() > 0 {
			return usagef("token list: unexpected argument %q", fs.Arg(0))
		}
	case "revoke":
		if fs.NArg() != 1 {
			return usagef("token revoke: give exactly one token id (see 'relais token list')")
		}
		if revokeID, err = strconv.ParseInt(fs.Arg(0), 10, 64); err != nil || revokeID <= 0 {
			return usagef("token revoke: %q is not a token id (see 'relais token list')", fs.Arg(0))
		}
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
	case "create":
		secret, t, err := auth.Issue(ctx, st, strings.TrimSpace(*name), auth.Role(*role))
		if err != nil {
			return err
		}
		// The secret alone on stdout, so that TOKEN=$(relais token create ...)
		// works; the rest goes to stderr.
		fmt.Fprintln(e.stdout, secret)
		fmt.Fprintf(e.stderr, "created %s token %d for %q: keep it now, it is not shown again\n", t.Role, t.ID, t.Name)
	case "list":
		ts, err := st.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tCREATED\tSTATE")
		for _, t := range ts {
			state := "active"
			if t.Revoked() {
				state = "revoked " + t.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.CreatedAt.Format(time.RFC3339), state)
		}
		return tw.Flush()
	case "revoke":
		t, err := st.RevokeToken(ctx, revokeID)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked %s token %d of %q\n", t.Role, t.ID, t.Name)
	}
	return nil
}
