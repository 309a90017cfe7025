package whatsapp

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/conversation"
)

// Receiver stores an inbound message, idempotently on its channel message
// id (conversation.Store implements it). Its errors are the store's.
type Receiver interface {
	Receive(ctx context.Context, in conversation.Inbound) (conversation.Received, error)
}

// Resumer handles a stored pending message (assistant.Service implements it).
type Resumer interface {
	Resume(ctx context.Context, rec conversation.Received) (assistant.Outcome, error)
}

// Defaults of the Webhook's zero fields.
const (
	DefaultMaxBodyBytes = 1 << 20
	DefaultConcurrency  = 16
	DefaultMaxWaiting   = 10000
	// DefaultHandleTimeout bounds deciding about a message like an API
	// request's deadline: with the outcome stored after it, a turn ends
	// well inside the lease its handler holds on the message
	// (conversation.HandlingLease), so the resumer never takes over a
	// message that is still being answered.
	DefaultHandleTimeout = 30 * time.Second
)

// Webhook serves /webhooks/whatsapp: the verification handshake (GET) and
// deliveries (POST).
//
// A delivery's signature is checked on the raw body before anything is
// parsed. Its messages are stored in the request, so that a store failure
// answers 500 and WhatsApp delivers again; they are answered in the
// background, since WhatsApp wants its 200 well under a second. A message
// whose background handling fails, does not fit in Concurrency or is cut
// short by a crash stays pending: serve's resumer takes it over. A message
// delivered again is stored once and not answered twice.
type Webhook struct {
	VerifyToken string
	AppSecret   string
	Receiver    Receiver
	Resumer     Resumer
	// Number, when set, learns the business number deliveries report,
	// for the click-to-chat link (Entry).
	Number *BusinessNumber
	// Deliveries records the statuses of sent messages; optional.
	Deliveries conversation.Deliveries
	Logger     *slog.Logger // nil discards
	// MaxBodyBytes bounds a delivery's body; DefaultMaxBodyBytes when 0.
	MaxBodyBytes int64
	// Concurrency bounds the conversations answered at once in the
	// background, each one message at a time; DefaultConcurrency when 0.
	// The others wait their turn in memory, in the order they came.
	Concurrency int
	// MaxWaiting bounds the messages waiting in memory for a worker;
	// DefaultMaxWaiting when 0. Past it a message is left to serve's
	// resumer, which takes it once its lease has run out.
	MaxWaiting int
	// HandleTimeout bounds answering one message; DefaultHandleTimeout when 0.
	HandleTimeout time.Duration

	once   sync.Once
	mu     sync.Mutex
	queues map[int64][]conversation.Received // by conversation, while it has a worker or waits for one
	// waiting lists the conversations with messages and no worker yet,
	// first come first served; waited counts the messages not started.
	waiting []int64
	waited  int
	sem     chan struct{}
	wg      sync.WaitGroup
	closed  context.Context // done once Close is called
	close   context.CancelFunc
}

func (h *Webhook) init() {
	h.once.Do(func() {
		n := h.Concurrency
		if n <= 0 {
			n = DefaultConcurrency
		}
		h.sem = make(chan struct{}, n)
		h.queues = map[int64][]conversation.Received{}
		h.closed, h.close = context.WithCancel(context.Background())
	})
}

func (h *Webhook) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

// Wait returns when the messages being answered in the background are done.
func (h *Webhook) Wait() { h.wg.Wait() }

// Close cuts short the messages being answered in the background, which
// leaves them pending for the resumer, and returns when they have stopped.
// Call it once the server takes no more requests.
func (h *Webhook) Close() {
	h.init()
	h.close()
	h.wg.Wait()
}

// ServeHTTP answers GET with the handshake and POST with a delivery.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.verify(w, r)
	case http.MethodPost:
		h.deliver(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *Webhook) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token := q.Get("hub.verify_token")
	if h.VerifyToken == "" || q.Get("hub.mode") != "subscribe" ||
		subtle.ConstantTimeCompare([]byte(token), []byte(h.VerifyToken)) != 1 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	io.WriteString(w, q.Get("hub.challenge"))
}

func (h *Webhook) deliver(w http.ResponseWriter, r *http.Request) {
	h.init()
	ctx := r.Context()
	log := h.logger()
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if !validSignature(h.AppSecret, body, r.Header.Get("X-Hub-Signature-256")) {
		log.WarnContext(ctx, "whatsapp webhook: missing or wrong signature")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	p, err := Parse(body)
	if err != nil {
		// Signed by Meta, so sending it again would not mend it.
		log.ErrorContext(ctx, "whatsapp webhook: unreadable delivery", "error", err, "bytes", len(body))
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Number.Learn(p.DisplayPhoneNumber)
	for _, s := range p.Skipped {
		log.DebugContext(ctx, "whatsapp webhook: message not taken, skipped", "wamid", s.ID, "type", clip(s.Type, 32))
	}
	if err := h.recordStatuses(ctx, p.Statuses); err != nil {
		// WhatsApp delivers the batch again: messages already stored are
		// recognized as repeats, statuses recorded again change nothing.
		log.ErrorContext(ctx, "whatsapp webhook: record delivery statuses", "error", err)
		http.Error(w, "cannot store the statuses", http.StatusInternalServerError)
		return
	}
	var recs []conversation.Received
	for _, m := range p.Messages {
		rec, err := h.Receiver.Receive(ctx, conversation.Inbound{
			Channel: Channel, CustomerID: m.From, Phone: m.Phone, ChannelMessageID: m.ID, Text: m.Text, Media: m.Media,
		})
		if errors.Is(err, relais.ErrInvalid) {
			// Delivering it again would not mend it.
			log.WarnContext(ctx, "whatsapp webhook: message refused, skipped", "wamid", m.ID, "error", err)
			continue
		}
		if err != nil {
			// WhatsApp delivers the batch again; the messages already
			// stored are recognized as repeats then, so they are answered
			// now.
			log.ErrorContext(ctx, "whatsapp webhook: store message", "wamid", m.ID, "error", err)
			http.Error(w, "cannot store the message", http.StatusInternalServerError)
			h.answerAll(ctx, recs)
			return
		}
		if !rec.Duplicate {
			recs = append(recs, rec)
		}
	}
	w.WriteHeader(http.StatusOK)
	h.answerAll(ctx, recs)
}

// recordStatuses stores the delivery statuses of a batch. Without
// Deliveries they are only counted in the debug log.
func (h *Webhook) recordStatuses(ctx context.Context, statuses []Status) error {
	if h.Deliveries == nil {
		if len(statuses) > 0 {
			h.logger().DebugContext(ctx, "whatsapp webhook: delivery statuses not recorded", "count", len(statuses))
		}
		return nil
	}
	for _, st := range statuses {
		at := time.Now()
		if st.Timestamp > 0 {
			at = time.Unix(st.Timestamp, 0)
		}
		err := h.Deliveries.RecordDelivery(ctx, conversation.DeliveryStatus{
			Channel: Channel, ProviderMessageID: st.ID, Status: st.Status, ErrorCode: st.ErrorCode, At: at})
		if errors.Is(err, relais.ErrInvalid) {
			h.logger().WarnContext(ctx, "whatsapp webhook: delivery status refused, skipped", "wamid", clip(st.ID, 128), "error", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (h *Webhook) answerAll(ctx context.Context, recs []conversation.Received) {
	for _, rec := range recs {
		h.answer(ctx, rec)
	}
}

// answer queues a stored message for its conversation's worker: a
// conversation's messages are answered one at a time, in the order they
// were stored. A conversation without a worker gets one when one of
// Concurrency slots is free, else waits for the first worker that is done
// with its own. A message that finds MaxWaiting messages waiting already
// is left to the resumer.
func (h *Webhook) answer(ctx context.Context, rec conversation.Received) {
	id := rec.Conversation.ID
	h.mu.Lock()
	if h.waited >= cmp.Or(h.MaxWaiting, DefaultMaxWaiting) {
		h.mu.Unlock()
		h.logger().WarnContext(ctx, "whatsapp webhook: busy, message left to the resumer", "message", rec.Message.ID)
		return
	}
	q, queued := h.queues[id]
	h.queues[id] = append(q, rec)
	h.waited++
	if queued {
		h.mu.Unlock()
		return
	}
	select {
	case h.sem <- struct{}{}:
	default:
		h.waiting = append(h.waiting, id)
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	h.wg.Add(1)
	go h.work(context.WithoutCancel(ctx), id)
}

// work answers conversation id's queued messages until its queue is empty,
// then those of the conversations waiting for a worker, until none is left.
func (h *Webhook) work(ctx context.Context, id int64) {
	defer h.wg.Done()
	defer func() { <-h.sem }()
	for first := true; ; first = false {
		rec, ok := h.next(id, first)
		if ok {
			h.handle(ctx, rec)
			continue
		}
		h.mu.Lock()
		if len(h.waiting) == 0 || h.closed.Err() != nil {
			h.mu.Unlock()
			return
		}
		id, h.waiting = h.waiting[0], h.waiting[1:]
		h.mu.Unlock()
	}
}

// next takes the next message of conversation id's queue; false when it is
// empty, or serve is closing (what is left stays pending for the resumer)
// and the worker has handled one already, and the conversation then leaves
// the queues.
func (h *Webhook) next(id int64, first bool) (conversation.Received, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	q := h.queues[id]
	if len(q) == 0 || (!first && h.closed.Err() != nil) {
		h.waited -= len(q)
		delete(h.queues, id)
		return conversation.Received{}, false
	}
	h.queues[id] = q[1:]
	h.waited--
	return q[0], true
}

func (h *Webhook) handle(ctx context.Context, rec conversation.Received) {
	timeout := h.HandleTimeout
	if timeout <= 0 {
		timeout = DefaultHandleTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(h.closed, cancel)
	defer stop()
	// The store being away for a moment (a restart, a failover) is
	// waited out here, with backoff, within the timeout: left to the
	// resumer, the message would wait for its lease to run out first.
	wait := 250 * time.Millisecond
	for {
		_, err := h.Resumer.Resume(ctx, rec)
		if err == nil {
			return
		}
		if !errors.Is(err, relais.ErrUnavailable) || ctx.Err() != nil {
			h.logger().ErrorContext(ctx, "whatsapp webhook: answer message; the resumer will retry", "message", rec.Message.ID,
				"conversation", rec.Conversation.ID, "error", err)
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// validSignature checks header "sha256=<hex>" against the HMAC-SHA256 of
// body keyed with secret, in constant time.
func validSignature(secret string, body []byte, header string) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
