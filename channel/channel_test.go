package channel_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
)

func TestPermanent(t *testing.T) {
	t.Parallel()
	base := errors.New("error 131026: recipient cannot receive")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"plain", base, false},
		{"permanent", channel.Permanent(base), true},
		{"wrapped permanent", fmt.Errorf("send: %w", channel.Permanent(base)), true},
		{"nil", channel.Permanent(nil), false},
	}
	for _, tt := range tests {
		if got := channel.IsPermanent(tt.err); got != tt.want {
			t.Errorf("%s: IsPermanent = %v, want %v", tt.name, got, tt.want)
		}
	}
	if err := channel.Permanent(base); !errors.Is(err, base) || err.Error() != base.Error() {
		t.Errorf("Permanent(err) = %v; want it to wrap err with the same text", err)
	}
}

func TestDispatcherValidates(t *testing.T) {
	t.Parallel()
	var outbox conversation.Outbox = nilOutbox{}
	tests := []struct {
		name string
		d    channel.Dispatcher
	}{
		{"no outbox", channel.Dispatcher{}},
		{"send timeout past the lease", channel.Dispatcher{Outbox: outbox, SendTimeout: conversation.OutboxLease}},
		{"negative concurrency", channel.Dispatcher{Outbox: outbox, Concurrency: -1}},
		{"nil sender", channel.Dispatcher{Outbox: outbox, Senders: map[string]channel.Sender{"whatsapp": nil}}},
	}
	for _, tt := range tests {
		if err := tt.d.Run(t.Context()); !errors.Is(err, relais.ErrInvalid) {
			t.Errorf("%s: Run = %v, want relais.ErrInvalid", tt.name, err)
		}
	}
}

// nilOutbox is an outbox that validation never reaches.
type nilOutbox struct{ conversation.Outbox }
