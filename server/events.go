package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
)

// EventPollInterval is how often the event hub looks at the open tickets
// while somebody listens: fast enough that an agent sees a new customer
// line before they wonder, slow enough that an idle console costs two
// small queries every tick.
const EventPollInterval = 2 * time.Second

// eventStreamLifetime bounds one /v1/events response. EventSource
// reconnects on its own, so a bounded stream costs nothing and keeps a
// forgotten tab from holding a connection (and its token) for ever.
const eventStreamLifetime = 5 * time.Minute

// Notifier is the fast path of live updates a store may offer (PostgreSQL
// LISTEN/NOTIFY on relais_handoffs): Listen calls changed with a ticket id
// whenever a ticket changes, until ctx ends, and returns ctx's error or
// the failure that stopped it. ticketID may be 0 for a hint that names no
// ticket (a customer message in a queued or claimed conversation, or a
// reconnection that may have lost notifications). The hub polls with or
// without it; a notification only makes the next poll happen at once.
type Notifier interface {
	ListenHandoffs(ctx context.Context, changed func(ticketID int64)) error
}

// event is one Server-Sent Event. agent, when set, limits a message event
// to the agent holding the ticket (and admins): it carries customer text.
type event struct {
	name  string
	data  any
	agent string
}

// eventHub turns store changes into events for the console. It polls the
// open tickets and the latest messages of the claimed ones, which works on
// every store; it runs only while at least one client listens.
type eventHub struct {
	handoffs    handoff.Store
	transcripts Transcripts
	every       time.Duration

	mu     sync.Mutex
	subs   map[chan event]struct{}
	cancel context.CancelFunc
	done   chan struct{}

	// Touched only by the polling goroutine.
	tickets  map[int64]handoff.Ticket // open tickets of the last poll
	lastMsgs map[int64]int64          // conversation id -> last message id seen
	primed   bool
	wake     chan struct{}
	shutdown sync.Map // *http.Server -> chan struct{} closed on its shutdown
}

func newEventHub(h handoff.Store, tr Transcripts, every time.Duration) *eventHub {
	return &eventHub{handoffs: h, transcripts: tr, every: every, subs: map[chan event]struct{}{}, wake: make(chan struct{}, 1)}
}

// subscribe adds a listener and starts polling for the first one.
func (h *eventHub) subscribe() chan event {
	ch := make(chan event, 64)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[ch] = struct{}{}
	if h.cancel == nil {
		ctx, cancel := context.WithCancel(context.Background())
		prev, done := h.done, make(chan struct{})
		h.cancel, h.done = cancel, done
		go func() {
			if prev != nil {
				<-prev // the poller's state is one goroutine's at a time
			}
			h.run(ctx, done)
		}()
	}
	return ch
}

// unsubscribe removes a listener and stops polling after the last one.
func (h *eventHub) unsubscribe(ch chan event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs, ch)
	if len(h.subs) == 0 && h.cancel != nil {
		h.cancel()
		h.cancel = nil
	}
}

func (h *eventHub) publish(e event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default: // a slow client misses an event; its 10 s refresh catches up
		}
	}
}

func (h *eventHub) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	if n, ok := h.handoffs.(Notifier); ok {
		go func() {
			_ = n.ListenHandoffs(ctx, func(int64) {
				select {
				case h.wake <- struct{}{}:
				default:
				}
			})
		}()
	}
	h.primed = false
	tick := time.NewTicker(h.every)
	defer tick.Stop()
	for {
		h.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-h.wake:
		}
	}
}

// poll compares the open tickets and the claimed conversations' latest
// messages with the last poll. The first poll only records what is there:
// a client that connects loads the state itself.
func (h *eventHub) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	open := map[int64]handoff.Ticket{}
	for _, st := range []handoff.State{handoff.Queued, handoff.Claimed} {
		ts, err := h.handoffs.Tickets(ctx, handoff.Filter{State: st, Limit: handoff.MaxLimit})
		if err != nil {
			return // transient: the next tick tries again
		}
		for _, t := range ts {
			open[t.ID] = t
		}
	}
	msgs := map[int64]int64{}
	for _, t := range open {
		if t.State != handoff.Claimed {
			continue
		}
		ms, err := h.transcripts.Messages(ctx, t.ConversationID, 20)
		if err != nil {
			return
		}
		last := h.lastMsgs[t.ConversationID]
		newest := last
		for _, m := range ms {
			if h.primed && m.ID > last && m.Role == conversation.Customer {
				h.publish(event{name: "message", agent: t.AgentID, data: map[string]any{
					"handoff_id": t.ID, "conversation_id": t.ConversationID, "message": toMessageJSON(m),
				}})
			}
			newest = max(newest, m.ID)
		}
		msgs[t.ConversationID] = newest
	}
	if h.primed {
		for id, t := range open {
			if old, ok := h.tickets[id]; !ok || old.State != t.State || !old.UpdatedAt.Equal(t.UpdatedAt) || old.AgentID != t.AgentID {
				h.publish(event{name: "ticket", data: toTicketJSON(t)})
			}
		}
		for id := range h.tickets {
			if _, ok := open[id]; ok {
				continue
			}
			if t, err := h.handoffs.Ticket(ctx, id); err == nil {
				h.publish(event{name: "ticket", data: toTicketJSON(t)})
			}
		}
	}
	h.tickets, h.lastMsgs, h.primed = open, msgs, true
}

// shutdownOf returns a channel closed when the server serving r shuts
// down: http.Server waits for handlers to return, and a stream would
// otherwise hold the shutdown until its lifetime ends. One hook per server,
// registered the first time a stream opens on it.
func (h *eventHub) shutdownOf(r *http.Request) <-chan struct{} {
	hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if !ok {
		return nil // not under net/http's server (httptest recorder): never
	}
	down := make(chan struct{})
	v, loaded := h.shutdown.LoadOrStore(hs, down)
	if !loaded {
		hs.RegisterOnShutdown(func() { close(down) })
	}
	return v.(chan struct{})
}

// streamEvents serves GET /v1/events as Server-Sent Events: "ticket" when a
// ticket is filed, claimed, released, resolved or expires, and "message"
// when a customer writes in a conversation an agent holds (only to that
// agent and admins). EventSource cannot send an Authorization header, so
// this endpoint also takes a one-time ticket as ?ticket= (see eventAuth);
// the console uses that.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	p, _ := PrincipalFrom(r.Context())
	ctx, cancel := context.WithTimeout(r.Context(), eventStreamLifetime)
	defer cancel()
	down := s.events.shutdownOf(r)
	ch := s.events.subscribe()
	defer s.events.unsubscribe(ch)

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// retry: reconnect after 2 s when the stream ends.
	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	if err := rc.Flush(); err != nil {
		return
	}
	keepalive := time.NewTicker(s.cfg.EventKeepalive)
	defer keepalive.Stop()
	for {
		var msg string
		select {
		case <-ctx.Done():
			return
		case <-down:
			return
		case <-keepalive.C:
			msg = ": keepalive\n\n"
		case e := <-ch:
			if e.agent != "" && e.agent != p.Name && p.Role != RoleAdmin {
				continue
			}
			b, err := json.Marshal(e.data)
			if err != nil {
				continue
			}
			msg = fmt.Sprintf("event: %s\ndata: %s\n\n", e.name, b)
		}
		// Each write gets a request's time to go out: the deadline set
		// when the stream opened (see deadlines) would otherwise cut the
		// stream, and a client that stopped reading is let go.
		_ = rc.SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout))
		if _, err := io.WriteString(w, msg); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

type queueStatJSON struct {
	Queue   string `json:"queue"`
	Waiting int    `json:"waiting"`
	Claimed int    `json:"claimed"`
	Overdue int    `json:"overdue"`
}

// handoffStats serves GET /v1/handoffs/stats: per queue with an open
// ticket, how many wait, how many an agent holds and how many are overdue.
func (s *Server) handoffStats(w http.ResponseWriter, r *http.Request) {
	stats, err := s.cfg.Handoffs.QueueStats(r.Context(), time.Now())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]queueStatJSON, len(stats))
	for i, q := range stats {
		out[i] = queueStatJSON{Queue: q.Queue, Waiting: q.Waiting, Claimed: q.Claimed, Overdue: q.Overdue}
	}
	writeJSON(w, http.StatusOK, map[string]any{"queues": out})
}
