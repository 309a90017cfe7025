package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// On a terminal, finish ends the bar's line once however often it is
// called, and a bar drawn again after it gets its line ended again: ingest
// finishes its bar after each examples file, before printing the file's
// result.
func TestProgressFinishEndsTheLineOnce(t *testing.T) {
	var out bytes.Buffer
	p := &progress{w: &out, terminal: true, label: "ingest", now: time.Now}
	p.update(1, 2, "a.jsonl")
	p.finish()
	p.finish()
	if n := strings.Count(out.String(), "\n"); n != 1 {
		t.Errorf("%d line ends after one bar finished twice, want 1: %q", n, out.String())
	}
	p.update(2, 2, "b.jsonl")
	p.finish()
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Errorf("%d line ends after a second bar, want 2: %q", n, out.String())
	}
}
