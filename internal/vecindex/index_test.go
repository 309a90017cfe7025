package vecindex

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource is a store whose version the test moves; State waits on gate
// when it is set, so that a test can hold several version checks at once.
type fakeSource struct {
	version  atomic.Int64
	loads    atomic.Int32
	inState  atomic.Int32
	maxState atomic.Int32
	gate     chan struct{}
}

func (s *fakeSource) State(ctx context.Context) (State, error) {
	n := s.inState.Add(1)
	defer s.inState.Add(-1)
	for {
		m := s.maxState.Load()
		if n <= m || s.maxState.CompareAndSwap(m, n) {
			break
		}
	}
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return State{}, ctx.Err()
		}
	}
	return State{Version: s.version.Load(), Model: "m", Dims: 2}, nil
}

func (s *fakeSource) Load(ctx context.Context, opts LoadOptions) (*Snapshot, error) {
	s.loads.Add(1)
	snap := NewSnapshot(State{Version: s.version.Load(), Model: "m", Dims: 2}, 1, 0, opts)
	snap.Chunks.Add(1, []float32{1, 0})
	return snap, nil
}

// loadedIndex returns an index of a fakeSource, loaded once.
func loadedIndex(t *testing.T) (*fakeSource, *Index) {
	t.Helper()
	src := &fakeSource{}
	x := New(src, slog.New(slog.DiscardHandler))
	if _, err := x.Current(t.Context()); err != nil {
		t.Fatal(err)
	}
	return src, x
}

// Searches check the store's version side by side, not one at a time.
func TestIndexChecksTheVersionConcurrently(t *testing.T) {
	t.Parallel()
	src, x := loadedIndex(t)
	src.gate = make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := x.Current(t.Context()); err != nil {
				t.Error(err)
			}
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for src.inState.Load() < 4 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(src.gate)
	wg.Wait()
	if got := src.maxState.Load(); got != 4 {
		t.Errorf("at most %d version checks ran at once, want all 4", got)
	}
	if got := src.loads.Load(); got != 1 {
		t.Errorf("%d loads, want 1: the version did not move", got)
	}
}

// When the version moves under a small index, concurrent searches load it
// once between them, and every one of them sees the new version.
func TestIndexLoadsAMovedVersionOnce(t *testing.T) {
	t.Parallel()
	src, x := loadedIndex(t)
	src.version.Store(7)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			snap, err := x.Current(t.Context())
			if err != nil {
				t.Error(err)
				return
			}
			if snap.Version != 7 {
				t.Errorf("a search got version %d, want 7", snap.Version)
			}
		})
	}
	wg.Wait()
	if got := src.loads.Load(); got != 2 {
		t.Errorf("%d loads, want 2 (the first, then one for the moved version)", got)
	}
	x.Close()
	if _, err := x.Current(t.Context()); err == nil {
		t.Error("a search after Close succeeded")
	}
}

// A write of this process loads again only when it moved the version: a
// write that left the vectors as they were (Invalidate with the same
// state) costs a version check, not a load.
func TestIndexLoadsAfterALocalWriteOnlyWhenTheVersionMoved(t *testing.T) {
	t.Parallel()
	src, x := loadedIndex(t)
	x.Invalidate() // a title changed: no vector moved
	for range 3 {
		if _, err := x.Current(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.loads.Load(); got != 1 {
		t.Errorf("%d loads after a write that moved no vector, want the first one only", got)
	}
	src.version.Store(3)
	x.Invalidate() // an article saved: its vectors moved the version
	snap, err := x.Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := src.loads.Load(); got != 2 || snap.Version != 3 {
		t.Errorf("after a write that moved the version: %d loads, version %d; want 2 and 3", got, snap.Version)
	}
}
