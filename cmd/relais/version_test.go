package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"released", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.0"}},
			"relais v0.3.0 go1.26.0"},
		{"checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "4db8948c1a2e55aa0011223344556677889900aa"},
				{Key: "vcs.time", Value: "2026-11-20T10:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			}},
			"relais (devel) (revision 4db8948c1a2e, 2026-11-20T10:00:00Z, modified) go1.26.0"},
		{"clean checkout", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.3.1-0.20261120100000-4db8948c1a2e"},
			Settings: []debug.BuildSetting{
				{Key: "vcs.revision", Value: "4db8948"},
				{Key: "vcs.modified", Value: "false"},
			}},
			"relais v0.3.1-0.20261120100000-4db8948c1a2e (revision 4db8948) go1.26.0"},
		{"no version", &debug.BuildInfo{GoVersion: "go1.26.0"}, "relais (devel) go1.26.0"},
		{"no build info", nil, "relais (unknown version: built without module information)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionLine(tt.info); got != tt.want {
				t.Errorf("versionLine = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	c := &cli{t: t, env: map[string]string{}}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out := c.mustRun(args...)
		if !strings.HasPrefix(out, "relais ") || !strings.Contains(out, runtime.Version()) {
			t.Errorf("relais %s printed %q, want the version line with %s", args[0], out, runtime.Version())
		}
	}
	if _, _, err := c.run(context.Background(), "version", "extra"); err == nil {
		t.Error("relais version extra: no error")
	}
}
