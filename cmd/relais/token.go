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
	cfg, cmd, err := parseTokenArgs(e, args, usage)
	if err != nil {
		return err
	}
	st, closeStore, err := openStoreOnly(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	switch cmd.sub {
	case "create":
		return issueToken(ctx, e, st, cmd.name, cmd.role)
	case "list":
		return listTokens(ctx, e, st)
	case "revoke":
		return revokeToken(ctx, e, st, cmd.revokeID)
	}
	return nil
}

// tokenCommand is a token subcommand and its arguments.
type tokenCommand struct {
	sub        string // create, list or revoke
	role, name string // create's
	revokeID   int64  // revoke's
}

// parseTokenArgs reads the config from the environment and the subcommand
// and its flags from args, whose first is the subcommand.
func parseTokenArgs(e env, args []string, usage string) (Config, tokenCommand, error) {
	cmd := tokenCommand{sub: args[0]}
	cfg, err := loadConfig(e)
	if err != nil {
		return Config{}, cmd, err
	}
	fs := flag.NewFlagSet("token "+cmd.sub, flag.ContinueOnError)
	cfg.storageFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	switch cmd.sub {
	case "create":
		fs.StringVar(&cmd.role, "role", "", "what the token may do: agent (handoffs), editor (knowledge) or admin (everything)")
		fs.StringVar(&cmd.name, "name", "", "who holds it; for an agent, the agent id")
	case "list", "revoke":
	default:
		fmt.Fprintln(e.stderr, usage)
		return Config{}, cmd, usagef("token: unknown subcommand %q: want create, list or revoke", cmd.sub)
	}
	if err := parseFlags(fs, e, args[1:]); err != nil {
		return Config{}, cmd, err
	}
	err = cmd.checkArgs(fs)
	return cfg, cmd, err
}

// checkArgs checks the subcommand's flags and arguments, and reads the id
// of the token to revoke.
func (cmd *tokenCommand) checkArgs(fs *flag.FlagSet) error {
	switch cmd.sub {
	case "create":
		if fs.NArg() > 0 {
			return usagef("token create: unexpected argument %q", fs.Arg(0))
		}
		if _, err := auth.ParseRole(cmd.role); err != nil {
			return usagef("token create: --role %q: want agent, editor or admin", cmd.role)
		}
		if strings.TrimSpace(cmd.name) == "" {
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
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil || id <= 0 {
			return usagef("token revoke: %q is not a token id (see 'relais token list')", fs.Arg(0))
		}
		cmd.revokeID = id
	}
	return nil
}

// issueToken issues a token and prints its secret alone on stdout, so
// that TOKEN=$(relais token create ...) works; the rest goes to stderr.
func issueToken(ctx context.Context, e env, st auth.Store, name, role string) error {
	secret, t, err := auth.Issue(ctx, st, strings.TrimSpace(name), auth.Role(role))
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, secret)
	fmt.Fprintf(e.stderr, "created %s token %d for %q: keep it now, it is not shown again\n", t.Role, t.ID, t.Name)
	return nil
}

func listTokens(ctx context.Context, e env, st auth.Store) error {
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
}

func revokeToken(ctx context.Context, e env, st auth.Store, id int64) error {
	t, err := st.RevokeToken(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "revoked %s token %d of %q\n", t.Role, t.ID, t.Name)
	return nil
}
