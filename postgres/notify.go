package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// messageNotifyChannel is the LISTEN channel of customer messages in
// conversations that wait for or are held by an agent (migration 0007's
// trigger); the payload is the conversation id in decimal, never the text.
const messageNotifyChannel = "relais_messages"

// Backoff between reconnections of the listener: from listenBackoffMin,
// doubled on every failed attempt up to listenBackoffMax, and back to the
// minimum once a connection is listening again.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// Notification is one wake-up hint: the channel it came on and the id in
// its payload (a ticket id on relais_handoffs, a conversation id on
// relais_messages; 0 when the payload was not a number, or after a
// reconnection, when notifications may have been lost in between).
type Notification struct {
	Channel string
	ID      int64
}

// ListenHandoffs implements server.Notifier: it calls changed with a
// ticket id whenever a ticket changes, and with 0 when a customer writes in
// a queued or agent-held conversation (that payload is a conversation id,
// not a ticket id) or when the listener has reconnected and may have missed
// notifications. It runs until ctx ends and returns ctx's error.
func (d *DB) ListenHandoffs(ctx context.Context, changed func(ticketID int64)) error {
	return d.Listen(ctx, func(n Notification) {
		if n.Channel == handoffNotifyChannel {
			changed(n.ID)
			return
		}
		changed(0)
	})
}

// Listen receives the notifications of relais_handoffs and relais_messages
// on a dedicated connection (not one of the pool's), and calls fn for each,
// from one goroutine, until ctx ends; it then returns ctx's error. A lost
// connection is reopened with backoff; once listening again, fn gets a
// Notification with ID 0 on each channel, since anything sent in between is
// gone. Notifications are hints, delivered at commit and lost while nobody
// listens: callers must poll as well.
func (d *DB) Listen(ctx context.Context, fn func(Notification)) error {
	backoff := listenBackoffMin
	reconnected := false
	for {
		listening, err := d.listenOnce(ctx, fn, reconnected)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listening {
			backoff = listenBackoffMin
			reconnected = true
		}
		// The error comes from the driver and never holds a payload.
		d.logger.WarnContext(ctx, "notification listener lost its connection; reconnecting",
			"err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		if !listening {
			backoff = min(2*backoff, listenBackoffMax)
		}
	}
}

// listenOnce connects, listens and delivers notifications until the
// connection fails or ctx ends. listening reports whether it got as far as
// listening, which resets the caller's backoff.
func (d *DB) listenOnce(ctx context.Context, fn func(Notification), catchUp bool) (listening bool, err error) {
	// A connection of its own, with the pool's settings: a LISTEN on a
	// pooled connection would go back to the pool and hear nothing.
	conn, err := pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, dbError("connect notification listener", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	for _, ch := range []string{handoffNotifyChannel, messageNotifyChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return false, dbError("listen on "+ch, err)
		}
	}
	if catchUp {
		fn(Notification{Channel: handoffNotifyChannel})
		fn(Notification{Channel: messageNotifyChannel})
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return true, err
			}
			return true, dbError("wait for notification", err)
		}
		id, perr := strconv.ParseInt(n.Payload, 10, 64)
		if perr != nil {
			id = 0
		}
		fn(Notification{Channel: n.Channel, ID: id})
	}
}
