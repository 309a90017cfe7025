package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// progress shows how far a long job is: a redrawn bar on a terminal, a plain
// line every few seconds otherwise (CI logs, pipes), so neither floods.
type progress struct {
	w        io.Writer
	terminal bool
	label    string
	every    time.Duration
	now      func() time.Time

	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, label string) *progress {
	p := &progress{w: w, terminal: isTerminal(w), label: label, now: time.Now}
	p.every = 5 * time.Second
	if p.terminal {
		p.every = 100 * time.Millisecond
	}
	return p
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// update reports done of total (total < 0 when unknown) while working on item.
func (p *progress) update(done, total int, item string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	final := total >= 0 && done >= total
	if !final && now.Sub(p.last) < p.every {
		return
	}
	p.last = now
	item = filepath.Base(item)
	if !p.terminal {
		if total >= 0 {
			fmt.Fprintf(p.w, "%s: %d/%d %s\n", p.label, done, total, item)
		} else {
			fmt.Fprintf(p.w, "%s: %d %s\n", p.label, done, item)
		}
		return
	}
	const width = 30
	var bar string
	if total > 0 {
		filled := done * width / total
		bar = "[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "]"
		fmt.Fprintf(p.w, "\r\033[K%s %s %d/%d %s", p.label, bar, done, total, item)
	} else {
		fmt.Fprintf(p.w, "\r\033[K%s %d %s", p.label, done, item)
	}
	p.drawn = true
}

// finish ends the bar's line so that later output starts clean. The bar
// may go on afterwards, on a line of its own.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}
