package main

import (
	"context"
	"flag"
	"fmt"
	"runtime/debug"
	"strings"
)

// runVersion prints what this binary was built from: the module version
// (set by `go install relais/cmd/relais@vX`), the VCS revision and its
// time (set by `go build` inside a checkout), and the Go toolchain.
func runVersion(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: relais version\n\nPrints the version, VCS revision and Go toolchain this binary was built from.")
	}
	if err := parseFlags(fs, e, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("version: unexpected argument %q", fs.Arg(0))
	}
	// Nil only for a binary built without module support.
	info, _ := debug.ReadBuildInfo()
	_, err := fmt.Fprintln(e.stdout, versionLine(info))
	return err
}

// versionLine formats build info as one line, e.g.
// "relais v0.3.0 (revision 4db8948c1a2e, 2026-11-20T10:00:00Z, modified) go1.26.0".
func versionLine(info *debug.BuildInfo) string {
	if info == nil {
		return "relais (unknown version: built without module information)"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var vcs []string
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		vcs = append(vcs, "revision "+rev)
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	line := "relais " + version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + info.GoVersion
}
