package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/channel/webchat"
)

// defaultKeyGrace is how long the web chat's previous session key still
// verifies after a rotation: customers who come back within it keep their
// conversation (their cookie is signed again with the new key); after it
// they start a new one.
const defaultKeyGrace = 7 * 24 * time.Hour

func runWebChat(ctx context.Context, e env, args []string) error {
	const usage = "Usage: relais webchat rotate-key [--grace 168h] [--data-dir|--database-url]\n\n" +
		"Signs new web chat sessions with a fresh key. Sessions signed with the old keys still work\n" +
		"for --grace (each is signed again with the new key on its next visit); --grace 0 signs every\n" +
		"customer out at once, for a key that leaked. Every serve process picks the new key up within a minute."
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(e.stderr, usage)
		if len(args) == 0 {
			return usagef("webchat: no subcommand given: rotate-key")
		}
		return flag.ErrHelp
	}
	if args[0] != "rotate-key" {
		fmt.Fprintln(e.stderr, usage)
		return usagef("webchat: unknown subcommand %q: want rotate-key", args[0])
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("webchat rotate-key", flag.ContinueOnError)
	cfg.storageFlags(fs)
	grace := fs.Duration("grace", defaultKeyGrace, "how long sessions signed with the old keys still work")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, e, args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("webchat rotate-key: unexpected argument %q", fs.Arg(0))
	}
	if *grace < 0 {
		return usagef("webchat rotate-key: --grace %v: must not be negative", *grace)
	}
	st, closeStore, err := openStoreOnly(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	k, err := st.RotateSigningKey(ctx, webchat.KeyPurpose, auth.NewSigningSecret(), *grace)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "web chat session key rotated: generation %d signs from now on; older keys verify until %s\n",
		k.Generation, k.CreatedAt.Add(*grace).UTC().Format(time.RFC3339))
	return nil
}
