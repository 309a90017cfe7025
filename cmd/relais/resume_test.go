package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
)

// fakePending hands out pending messages one at a time, then nothing.
type fakePending struct {
	mu      sync.Mutex
	pending []conversation.Received
	err     error
}

func (f *fakePending) ClaimPending(context.Context, int) ([]conversation.Received, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		err := f.err
		f.err = nil
		return nil, err
	}
	if len(f.pending) == 0 {
		return nil, nil
	}
	r := f.pending[0]
	f.pending = f.pending[1:]
	return []conversation.Received{r}, nil
}

type recordingResumer struct {
	mu  sync.Mutex
	ids []int64
}

func (r *recordingResumer) Resume(_ context.Context, rec conversation.Received) (assistant.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, rec.Message.ID)
	if rec.Message.ID == 2 {
		return assistant.Outcome{}, errors.New("store down")
	}
	return assistant.Outcome{}, nil
}

func (r *recordingResumer) seen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// The resumer takes over every pending message, one after the other in a
// round, and carries on after a failed round or message.
func TestResumePending(t *testing.T) {
	t.Parallel()
	const n = 5
	st := &fakePending{err: errors.New("database restarting")}
	for i := range n {
		st.pending = append(st.pending, conversation.Received{Message: conversation.Message{ID: int64(i + 1)}})
	}
	svc := &recordingResumer{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		resumePending(ctx, st, svc, 5*time.Millisecond, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	deadline := time.Now().Add(5 * time.Second)
	for svc.seen() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got := svc.seen(); got != n {
		t.Errorf("resumed %d messages, want %d", got, n)
	}
}
