package channel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/conversation"
)

// Dispatcher delivers the outbox's pending messages through their
// channel's Sender: MarkSent on success, MarkFailed (retried after
// backoff) on a transient error, MarkFailedPermanently on a Permanent one.
//
// Each channel has its own loop, so a slow or failing channel never holds
// back another. A round claims at most Concurrency messages of its channel
// and sends them all at once, each bounded by SendTimeout, which is shorter
// than conversation.OutboxLease: every claimed message is sent and recorded
// while its lease still keeps other dispatchers, in this process or
// another, from claiming it. Messages of a channel with no sender are not
// claimed at all (conversation.Outbox.Pending is given the senders'
// channels): they stay pending and due until a sender is configured.
type Dispatcher struct {
	Outbox  conversation.Outbox
	Senders map[string]Sender // by channel name, as in conversation.OutboxMessage.Channel
	Logger  *slog.Logger      // nil discards
	// Observer, when set, is told the outcome of every recorded delivery
	// attempt (metrics).
	Observer Observer
	// Every is how long a channel's loop waits after a round that found
	// fewer messages than Concurrency; after a full round it goes on at
	// once. DefaultEvery when zero.
	Every time.Duration
	// Concurrency bounds the sends in flight per channel.
	// DefaultConcurrency when zero.
	Concurrency int
	// SendTimeout bounds one Send; it must be shorter than
	// conversation.OutboxLease. DefaultSendTimeout when zero.
	SendTimeout time.Duration
	// Gate, when set, says whether a claimed message may still be sent
	// (conversation.FreeFormGate: consent and the service window). A
	// conversation.IsRefusal error fails the message for good with its
	// reason; any other is a transient failure.
	Gate Gate
}

// Gate decides whether a claimed message may be sent now.
type Gate interface {
	Allow(ctx context.Context, m conversation.OutboxMessage) error
}

// Observer is told the outcome of each delivery attempt once it is
// recorded: result is DeliverySent, DeliveryRetry or DeliveryFailed.
type Observer interface {
	ObserveDelivery(channel, result string)
}

// Delivery results, as an Observer is told them.
const (
	DeliverySent   = "sent"   // delivered to the channel
	DeliveryRetry  = "retry"  // failed, to be tried again after a backoff
	DeliveryFailed = "failed" // given up: refused for good, or out of attempts
)

// Defaults of the Dispatcher's zero fields.
const (
	DefaultEvery       = time.Second
	DefaultConcurrency = 4
	DefaultSendTimeout = 20 * time.Second
)

// recordTimeout bounds one attempt at recording a send's outcome, which
// goes on after Run's context ends: a store that hangs must not hold up
// shutdown.
const recordTimeout = 10 * time.Second

// leaseMargin is how long before a claimed message's lease runs out the
// Dispatcher stops trying to record its outcome: past it another
// dispatcher may claim the message, and recording would race it.
const leaseMargin = 5 * time.Second

// maxReason bounds the failure reason stored in the outbox.
const maxReason = 500

func (d *Dispatcher) validate() error {
	switch {
	case d.Outbox == nil:
		return fmt.Errorf("dispatcher: no outbox: %w", relais.ErrInvalid)
	case d.Every < 0:
		return fmt.Errorf("dispatcher: Every %v: must not be negative: %w", d.Every, relais.ErrInvalid)
	case d.Concurrency < 0:
		return fmt.Errorf("dispatcher: Concurrency %d: must not be negative: %w", d.Concurrency, relais.ErrInvalid)
	case d.SendTimeout < 0 || d.SendTimeout >= conversation.OutboxLease:
		return fmt.Errorf("dispatcher: SendTimeout %v: must be below the outbox lease %v: %w", d.SendTimeout, conversation.OutboxLease, relais.ErrInvalid)
	}
	for name, s := range d.Senders {
		if s == nil {
			return fmt.Errorf("dispatcher: channel %q has a nil sender: %w", name, relais.ErrInvalid)
		}
	}
	return nil
}

// Run delivers until ctx ends, then finishes and records the sends in
// flight (each bounded by SendTimeout, recording its outcome by 10 s) and returns nil. With no senders it
// only waits for ctx. A round's errors are logged and the round retried
// after Every; Run returns an error at once only for an invalid Dispatcher.
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := d.validate(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, name := range slices.Sorted(maps.Keys(d.Senders)) {
		wg.Go(func() { d.runChannel(ctx, name) })
	}
	wg.Wait()
	<-ctx.Done()
	return nil
}

func (d *Dispatcher) runChannel(ctx context.Context, name string) {
	every := cmp.Or(d.Every, DefaultEvery)
	for ctx.Err() == nil {
		n, err := d.dispatchChannel(ctx, name)
		if err != nil && ctx.Err() == nil {
			d.logger().ErrorContext(ctx, "outbox: claim pending messages", "channel", name, "error", err)
		}
		if err == nil && n == d.concurrency() {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

// Dispatch runs one round on every channel that has a sender, one channel
// after the other, and returns how many messages it claimed. Run is the
// loop of it; Dispatch is for callers that pace delivery themselves.
func (d *Dispatcher) Dispatch(ctx context.Context) (int, error) {
	if err := d.validate(); err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(d.Senders)) {
		n, err := d.dispatchChannel(ctx, name)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

// dispatchChannel claims up to Concurrency due messages of one channel and
// sends them all, waiting for every send to be recorded.
func (d *Dispatcher) dispatchChannel(ctx context.Context, name string) (int, error) {
	leaseEnd := time.Now().Add(conversation.OutboxLease)
	ms, err := d.Outbox.Pending(ctx, []string{name}, d.concurrency())
	if err != nil {
		return 0, err
	}
	sender := d.Senders[name]
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Go(func() { d.deliver(ctx, sender, m, leaseEnd) })
	}
	wg.Wait()
	return len(ms), nil
}

// deliver sends one claimed message, whose lease ends at leaseEnd, and
// records the outcome. A send once started is finished and recorded even
// when ctx ends meanwhile: stopping half way would leave a message that may
// have reached the customer to be sent again when its lease ends.
func (d *Dispatcher) deliver(ctx context.Context, s Sender, m conversation.OutboxMessage, leaseEnd time.Time) {
	log := d.logger().With("outbox_id", m.ID, "channel", m.Channel, "attempt", m.Attempts+1)
	run := ctx
	ctx = context.WithoutCancel(ctx)
	sendCtx, cancel := context.WithTimeout(ctx, cmp.Or(d.SendTimeout, DefaultSendTimeout))
	var receipt Receipt
	var err error
	if d.Gate != nil {
		err = d.Gate.Allow(sendCtx, m)
		if conversation.IsRefusal(err) {
			err = Permanent(err)
		}
	}
	if err == nil {
		receipt, err = s.Send(sendCtx, m)
	}
	cancel()
	record := func(mark func(context.Context) error) error {
		return recordOutcome(run, ctx, leaseEnd.Add(-leaseMargin), mark)
	}
	switch {
	case err == nil:
		if err := record(func(ctx context.Context) error { return d.Outbox.MarkSent(ctx, m.ID, receipt.ProviderMessageID) }); err != nil {
			// Sent but not recorded: it will be sent again after its lease.
			log.ErrorContext(ctx, "outbox: record a sent message", "error", err)
			return
		}
		d.observe(m.Channel, DeliverySent)
		log.DebugContext(ctx, "outbox: sent", "provider_message_id", receipt.ProviderMessageID)
	case IsPermanent(err):
		if err := record(func(ctx context.Context) error { return d.Outbox.MarkFailedPermanently(ctx, m.ID, reason(err)) }); err != nil {
			log.ErrorContext(ctx, "outbox: record a refused message", "error", err)
			return
		}
		d.observe(m.Channel, DeliveryFailed)
		log.WarnContext(ctx, "outbox: the channel refused a message for good", "error", err)
	default:
		if err := record(func(ctx context.Context) error { return d.Outbox.MarkFailed(ctx, m.ID, reason(err)) }); err != nil {
			log.ErrorContext(ctx, "outbox: record a failed send", "error", err)
			return
		}
		if conversation.OutboxStatusAfter(m.Attempts+1) == conversation.OutboxFailed {
			d.observe(m.Channel, DeliveryFailed)
			log.WarnContext(ctx, "outbox: send failed; no attempt left, the message is failed", "error", err)
			return
		}
		d.observe(m.Channel, DeliveryRetry)
		log.WarnContext(ctx, "outbox: send failed, will retry", "error", err)
	}
}

func (d *Dispatcher) observe(channel, result string) {
	if d.Observer != nil {
		d.Observer.ObserveDelivery(channel, result)
	}
}

// recordOutcome runs mark, each attempt bounded by recordTimeout, and
// tries again with backoff while it fails for a reason that may pass (the
// database restarting), until until, or until run ends: a message that was
// sent but not recorded is sent again once its lease runs out, so a
// recording is worth retrying as long as the lease holds. An answer of the
// store (the message is not pending any more, unknown) is final.
func recordOutcome(run, ctx context.Context, until time.Time, mark func(context.Context) error) error {
	wait := 100 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, recordTimeout)
		err := mark(attempt)
		cancel()
		if err == nil || errors.Is(err, relais.ErrConflict) || errors.Is(err, relais.ErrNotFound) ||
			errors.Is(err, relais.ErrInvalid) || time.Now().Add(wait).After(until) {
			return err
		}
		select {
		case <-run.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// reason is err's text bounded for the outbox's last error.
func reason(err error) string {
	s := err.Error()
	if r := []rune(s); len(r) > maxReason {
		s = string(r[:maxReason-1]) + "…"
	}
	return s
}

func (d *Dispatcher) concurrency() int { return cmp.Or(d.Concurrency, DefaultConcurrency) }

func (d *Dispatcher) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}
