package openai

import (
	"context"
	"testing"
	"time"
)

func TestBackoffCeilings(t *testing.T) {
	t.Parallel()
	c, err := New(Config{BaseURL: "http://localhost/v1", EmbeddingModel: "m",
		RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rand        float64
		retry       int
		serverAsked time.Duration
		want        time.Duration
	}{
		{0, 1, 0, 0},
		{0.5, 1, 0, 50 * time.Millisecond},
		{0.5, 2, 0, 100 * time.Millisecond},
		{0.5, 3, 0, 200 * time.Millisecond},
		{0.5, 4, 0, 400 * time.Millisecond},
		{0.5, 5, 0, 500 * time.Millisecond},  // ceiling capped at RetryMaxDelay
		{0.5, 60, 0, 500 * time.Millisecond}, // no overflow on long runs
		{0.5, 1, 300 * time.Millisecond, 300 * time.Millisecond},
		{0.5, 4, 300 * time.Millisecond, 400 * time.Millisecond}, // jitter already longer
		{0.5, 1, time.Hour, time.Second},
	}
	for _, tt := range tests {
		c.randFloat = func() float64 { return tt.rand }
		if got := c.backoff(tt.retry, tt.serverAsked); got != tt.want {
			t.Errorf("backoff(retry %d, rand %v, server asked %v) = %v, want %v",
				tt.retry, tt.rand, tt.serverAsked, got, tt.want)
		}
	}
}

func TestSleepContext(t *testing.T) {
	t.Parallel()
	if err := sleepContext(t.Context(), time.Millisecond); err != nil {
		t.Errorf("sleep 1ms: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- sleepContext(ctx, time.Hour) }()
	cancel()
	select {
	case err := <-done:
		if err != context.Canceled {
			t.Errorf("sleep interrupted: error = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sleep did not return when its context was cancelled")
	}
	if err := sleepContext(ctx, 0); err != context.Canceled {
		t.Errorf("zero sleep on a cancelled context: error = %v, want context.Canceled", err)
	}
}
