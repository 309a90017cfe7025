package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/handoff"
	"github.com/relais-ai/relais/sqlite"
)

// fakeMediaGraph serves the media API: metadata at /{id}, bytes at /files/{id}.
type fakeMediaGraph struct {
	srv       *httptest.Server
	failFirst atomic.Int32 // how many metadata calls answer 503
	calls     atomic.Int32
}

func newFakeMediaGraph(t *testing.T, content []byte) *fakeMediaGraph {
	g := &fakeMediaGraph{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v21.0/{id}", func(w http.ResponseWriter, r *http.Request) {
		g.calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer wa-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if g.failFirst.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, `{"url":%q,"mime_type":"image/jpeg","file_size":%d,"id":%q,"messaging_product":"whatsapp"}`,
			g.srv.URL+"/files/"+r.PathValue("id"), len(content), r.PathValue("id"))
	})
	mux.HandleFunc("GET /files/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer wa-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(content)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// noAssistant fails a test that reaches the assistant.
type noAssistant struct{ t *testing.T }

func (a noAssistant) Resume(_ context.Context, rec conversation.Received) (assistant.Outcome, error) {
	a.t.Errorf("message %d reached the assistant", rec.Message.ID)
	return assistant.Outcome{}, errors.New("no assistant here")
}

type handlerBundle struct {
	db      *sqlite.DB
	graph   *fakeMediaGraph
	handler *Handler
	hook    *Webhook
	clock   *testClock
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setupHandler(t *testing.T, content []byte) *handlerBundle {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := &testClock{now: time.Now().UTC()}
	db.Now = clock.Now
	g := newFakeMediaGraph(t, content)
	h := &Handler{Store: db, Assistant: noAssistant{t}, Escalator: &handoff.Escalator{Store: db, Messages: db},
		Media: &MediaClient{APIBase: g.srv.URL + "/v21.0", AccessToken: "wa-token"}, MaxBytes: 1 << 10}
	hook := &Webhook{VerifyToken: "v", AppSecret: testSecret, Receiver: db, Resumer: h, Deliveries: db}
	t.Cleanup(hook.Close)
	return &handlerBundle{db: db, graph: g, handler: h, hook: hook, clock: clock}
}

func (b *handlerBundle) received(t *testing.T, wamid string) conversation.Received {
	t.Helper()
	// A repeat returns the stored message and its conversation.
	rec, err := b.db.Receive(context.Background(), conversation.Inbound{Channel: Channel, CustomerID: "16315551181", ChannelMessageID: wamid, Text: "x"})
	if err != nil || !rec.Duplicate {
		t.Fatalf("message %s not stored: %+v, %v", wamid, rec, err)
	}
	return rec
}

func TestMediaIsDownloadedStoredAndHandedOffWithItsTicket(t *testing.T) {
	t.Parallel()
	photo := []byte("\xff\xd8\xff\xe0 a dented door")
	b := setupHandler(t, photo)
	b.graph.failFirst.Store(1) // the first download fails
	if code := post(t, b.hook, readFixture(t, "media.json")); code != 200 {
		t.Fatalf("status = %d", code)
	}
	b.hook.Wait()
	ctx := context.Background()
	img := b.received(t, "wamid.IMG1")
	md, err := b.db.MessageMedia(ctx, img.Message.ID)
	if err != nil || md.Status != conversation.MediaPending || md.Attempts != 1 {
		t.Fatalf("after a failed download: %+v, %v; want pending, 1 attempt", md, err)
	}
	if _, err := b.db.TurnOf(ctx, img.Message.ID); !errors.Is(err, relais.ErrNotFound) {
		t.Fatalf("the image has a turn after a failed download: %v; want it pending", err)
	}
	// The resumer takes it over when its lease ends.
	b.clock.Add(conversation.HandlingLease + time.Second)
	recs, err := b.db.ClaimPending(ctx, 10)
	if err != nil || len(recs) != 1 || recs[0].Message.ID != img.Message.ID {
		t.Fatalf("ClaimPending = %+v, %v; want the image", recs, err)
	}
	// Meanwhile the document of the same batch was downloaded and handed
	// the conversation off, with its ticket and notice.
	doc := b.received(t, "wamid.DOC1")
	if md, err := b.db.MessageMedia(ctx, doc.Message.ID); err != nil || md.Status != conversation.MediaStored || md.Filename != "quote.pdf" {
		t.Errorf("document media = %+v, %v", md, err)
	}
	turn, err := b.db.TurnOf(ctx, doc.Message.ID)
	if err != nil || turn.Decision.TicketID == 0 || turn.Decision.Reason != assistant.ReasonMediaReceived || turn.Reply == nil {
		t.Fatalf("turn of the document = %+v, %v; want a handoff with its ticket and notice", turn, err)
	}
	tk, err := b.db.Ticket(ctx, turn.Decision.TicketID)
	if err != nil || tk.ConversationID != doc.Conversation.ID || tk.Reason != assistant.ReasonMediaReceived {
		t.Errorf("ticket = %+v, %v", tk, err)
	}
	if _, err := b.handler.Resume(ctx, recs[0]); err != nil {
		t.Fatal(err)
	}
	md, content, err := b.db.MediaContent(ctx, img.Message.ID)
	if err != nil || md.Status != conversation.MediaStored || string(content) != string(photo) || md.MimeType != "image/jpeg" {
		t.Fatalf("stored media = %+v (%q), %v", md, content, err)
	}
	// The person who has the ticket sees the photo: no second ticket or
	// notice.
	turn, err = b.db.TurnOf(ctx, img.Message.ID)
	if err != nil || turn.Reply != nil || turn.Decision.TicketID != 0 {
		t.Errorf("turn of the image = %+v, %v; want handled silently", turn, err)
	}
}

func TestMediaHandsOffWithItsTicket(t *testing.T) {
	t.Parallel()
	b := setupHandler(t, []byte("%PDF-1.4 quote"))
	ctx := context.Background()
	rec, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33633333333", ChannelMessageID: "w1", Text: "devis",
		Media: &conversation.Media{Kind: conversation.MediaDocument, ProviderID: "77", MimeType: "application/pdf", Filename: "devis.pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.handler.Resume(ctx, rec)
	if err != nil || out.HandoffID == "" || out.Reply == nil {
		t.Fatalf("Resume = %+v, %v; want a handoff with a notice", out, err)
	}
	turn, err := b.db.TurnOf(ctx, rec.Message.ID)
	if err != nil || fmt.Sprint(turn.Decision.TicketID) != out.HandoffID || turn.Reply.ID != out.Reply.ID {
		t.Errorf("turn = %+v, %v; want the ticket %s and its notice stored with it", turn, err, out.HandoffID)
	}
	if c, err := b.db.Conversation(ctx, rec.Conversation.ID); err != nil || c.State != conversation.Queued {
		t.Errorf("conversation = %+v, %v; want queued", c, err)
	}
}

func TestMediaTooLargeIsRecordedAndHandedOff(t *testing.T) {
	t.Parallel()
	b := setupHandler(t, make([]byte, 4<<10)) // over MaxBytes
	if code := post(t, b.hook, readFixture(t, "media.json")); code != 200 {
		t.Fatalf("status = %d", code)
	}
	b.hook.Wait()
	ctx := context.Background()
	img := b.received(t, "wamid.IMG1")
	md, err := b.db.MessageMedia(ctx, img.Message.ID)
	if err != nil || md.Status != conversation.MediaTooLarge || md.Size != 4<<10 {
		t.Fatalf("media = %+v, %v; want too_large", md, err)
	}
	if turn, err := b.db.TurnOf(ctx, img.Message.ID); err != nil || turn.Decision.TicketID == 0 {
		t.Fatalf("turn = %+v, %v; want a handoff with its ticket", turn, err)
	}
}

func TestUnsupportedGetsOneReplyWhateverTheRedeliveries(t *testing.T) {
	t.Parallel()
	b := setupHandler(t, nil)
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
	 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},
	 "contacts":[{"profile":{"name":"K"},"wa_id":"16315551181"}],
	 "messages":[{"from":"16315551181","id":"wamid.LOC1","timestamp":"1749416413","type":"location","location":{"latitude":1,"longitude":2}}]}}]}]}`)
	for range 5 {
		if code := post(t, b.hook, body); code != 200 {
			t.Fatalf("status = %d", code)
		}
		b.hook.Wait()
	}
	rec := b.received(t, "wamid.LOC1")
	msgs, err := b.db.Messages(context.Background(), rec.Conversation.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	var replies []string
	for _, m := range msgs {
		if m.Role != conversation.Customer {
			replies = append(replies, m.Text)
		}
	}
	if len(replies) != 1 || replies[0] != text("", "unsupported") {
		t.Errorf("replies = %q; want the English request for text, once", replies)
	}
}

func TestUnsupportedInFrenchAndByHandoff(t *testing.T) {
	t.Parallel()
	b := setupHandler(t, nil)
	ctx := context.Background()
	first, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33600000000", ChannelMessageID: "w0", Text: "Bonjour"})
	if err != nil {
		t.Fatal(err)
	}
	// The assistant answered the text in French.
	if _, err := b.db.CompleteTurn(ctx, conversation.Turn{MessageID: first.Message.ID, Decision: conversation.DecisionRecord{Action: "reply"},
		Memory: &conversation.BotMemory{Language: "fr"}}); err != nil {
		t.Fatal(err)
	}
	voice, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33600000000", ChannelMessageID: "w1",
		Media: &conversation.Media{Kind: conversation.MediaVoice, ProviderID: "9"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.handler.Resume(ctx, voice)
	if err != nil || out.Reply == nil || out.Reply.Text != text("fr", "unsupported") {
		t.Fatalf("reply = %+v, %v; want the French request for text", out.Reply, err)
	}
	sticker, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33600000000", ChannelMessageID: "w2",
		Media: &conversation.Media{Kind: conversation.MediaSticker, ProviderID: "10"}})
	if err != nil {
		t.Fatal(err)
	}
	b.handler.Unsupported = UnsupportedHandoff
	if out, err := b.handler.Resume(ctx, sticker); err != nil || out.HandoffID == "" {
		t.Fatalf("Resume = %+v, %v; want a handoff", out, err)
	}
}

// sentBy records what a dispatcher delivered.
type sentBy struct {
	mu   sync.Mutex
	sent []string
}

func (s *sentBy) Send(_ context.Context, m conversation.OutboxMessage) (channel.Receipt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, m.Text)
	return channel.Receipt{ProviderMessageID: fmt.Sprintf("wamid.out%d", len(s.sent))}, nil
}

func TestOptOutStopsSendsAndOptInResumes(t *testing.T) {
	t.Parallel()
	b := setupHandler(t, nil)
	ctx := context.Background()
	send := &sentBy{}
	d := &channel.Dispatcher{Outbox: b.db, Senders: map[string]channel.Sender{Channel: send},
		Gate: conversation.FreeFormGate{Contacts: b.db, Now: b.clock.Now}}
	dispatch := func() {
		t.Helper()
		if _, err := d.Dispatch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	hello, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33611111111", ChannelMessageID: "w1", Text: "Bonjour"})
	if err != nil {
		t.Fatal(err)
	}
	queued, err := b.db.AppendMessage(ctx, conversation.Message{ConversationID: hello.Conversation.ID, Role: conversation.Assistant, Text: "queued before"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"w2", "w3"} { // ARRÊT, then delivered again
		stop, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33611111111", ChannelMessageID: id, Text: "arrêt."})
		if err != nil {
			t.Fatal(err)
		}
		if !stop.Duplicate {
			if _, err := b.handler.Resume(ctx, stop); err != nil {
				t.Fatal(err)
			}
		}
	}
	after, err := b.db.AppendMessage(ctx, conversation.Message{ConversationID: hello.Conversation.ID, Role: conversation.Assistant, Text: "after"})
	if err != nil {
		t.Fatal(err)
	}
	dispatch()
	if len(send.sent) != 1 || send.sent[0] != text("fr", "opt_out") {
		t.Fatalf("sent %q; want only the French acknowledgment, once", send.sent)
	}
	for _, m := range []conversation.Message{queued, after} {
		o, err := b.db.OutboxMessage(ctx, m.ID)
		if err != nil || o.Status != conversation.OutboxFailed || o.LastError != conversation.ErrOptedOut.Error() {
			t.Errorf("outbox of %q = %+v, %v; want failed as opted out", m.Text, o, err)
		}
	}
	// The customer writes again: opted in.
	if _, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33611111111", ChannelMessageID: "w4", Text: "en fait, une question"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.AppendMessage(ctx, conversation.Message{ConversationID: hello.Conversation.ID, Role: conversation.Assistant, Text: "welcome back"}); err != nil {
		t.Fatal(err)
	}
	dispatch()
	if len(send.sent) != 2 || send.sent[1] != "welcome back" {
		t.Errorf("sent %q; want the reply after the opt-in", send.sent)
	}
}

func TestSenderRefusesOutsideTheServiceWindow(t *testing.T) {
	t.Parallel()
	b := setupHandler(t, nil)
	ctx := context.Background()
	send := &sentBy{}
	d := &channel.Dispatcher{Outbox: b.db, Senders: map[string]channel.Sender{Channel: send},
		Gate: conversation.FreeFormGate{Contacts: b.db, Now: b.clock.Now}}
	rec, err := b.db.Receive(ctx, conversation.Inbound{Channel: Channel, CustomerID: "33622222222", ChannelMessageID: "w1", Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	b.clock.Add(23 * time.Hour)
	inside, _ := b.db.AppendMessage(ctx, conversation.Message{ConversationID: rec.Conversation.ID, Role: conversation.Assistant, Text: "inside"})
	if _, err := d.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(2 * time.Hour) // 25 h after the customer's message
	outside, _ := b.db.AppendMessage(ctx, conversation.Message{ConversationID: rec.Conversation.ID, Role: conversation.Assistant, Text: "outside"})
	if _, err := d.Dispatch(ctx); err != nil {
		t.Fatal(err)
	}
	if len(send.sent) != 1 || send.sent[0] != "inside" {
		t.Errorf("sent %q; want only the message inside the window", send.sent)
	}
	o, err := b.db.OutboxMessage(ctx, outside.ID)
	if err != nil || o.Status != conversation.OutboxFailed || o.LastError != conversation.ErrWindowClosed.Error() {
		t.Errorf("outbox outside the window = %+v, %v; want failed, window closed", o, err)
	}
	if o, _ := b.db.OutboxMessage(ctx, inside.ID); o.ProviderMessageID != "wamid.out1" {
		t.Errorf("sent message's provider id = %q, want wamid.out1", o.ProviderMessageID)
	}
}

// orderResumer records the order of answers per conversation and whether
// two of one conversation ever overlapped.
type orderResumer struct {
	mu      sync.Mutex
	busy    map[int64]bool
	order   map[int64][]string
	overlap bool
}

func (o *orderResumer) Resume(_ context.Context, rec conversation.Received) (assistant.Outcome, error) {
	o.mu.Lock()
	if o.busy[rec.Conversation.ID] {
		o.overlap = true
	}
	o.busy[rec.Conversation.ID] = true
	o.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	o.mu.Lock()
	o.busy[rec.Conversation.ID] = false
	o.order[rec.Conversation.ID] = append(o.order[rec.Conversation.ID], rec.Message.ChannelMessageID)
	o.mu.Unlock()
	return assistant.Outcome{}, nil
}

func TestConversationMessagesAreAnsweredOneAtATimeInOrder(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	or := &orderResumer{busy: map[int64]bool{}, order: map[int64][]string{}}
	h := newWebhook(st)
	h.Resumer = or
	var msgs string
	for i := 9; i >= 0; i-- { // listed newest first: timestamps decide
		if msgs != "" {
			msgs += ","
		}
		msgs += fmt.Sprintf(`{"from":"4911111","id":"wamid.%d","timestamp":"%d","type":"text","text":{"body":"m%d"}}`, i, 1700000000+i, i)
	}
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[` + msgs + `]}}]}]}`)
	if code := post(t, h, body); code != 200 {
		t.Fatalf("status = %d", code)
	}
	h.Wait()
	if or.overlap {
		t.Error("two messages of one conversation were answered at once")
	}
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("wamid.%d", i))
	}
	if got := or.order[1]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answered %v, want %v", got, want)
	}
}

// With one worker, a second conversation waits for it in memory and is
// answered after the first, not left to the resumer (which would take it
// only once its lease runs out).
func TestWaitingConversationsGetTheNextFreeWorker(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	or := &orderResumer{busy: map[int64]bool{}, order: map[int64][]string{}}
	h := newWebhook(st)
	h.Resumer = or
	h.Concurrency = 1
	if code := post(t, h, textBatch()); code != 200 {
		t.Fatalf("status = %d", code)
	}
	h.Wait()
	got := map[string]int{}
	for _, ids := range or.order {
		for _, id := range ids {
			got[id]++
		}
	}
	for _, id := range []string{"wamid.A", "wamid.B", "wamid.C", "wamid.D"} {
		if got[id] != 1 {
			t.Errorf("%s answered %d times, want 1 (answered: %v)", id, got[id], or.order)
		}
	}
}

// Past MaxWaiting, messages are left pending for the resumer.
func TestWaitingLineIsBounded(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	br := &blockingResumer{ended: make(chan error, 10)}
	h := newWebhook(st)
	h.Resumer = br
	h.Concurrency = 1
	h.MaxWaiting = 2
	if code := post(t, h, textBatch()); code != 200 {
		t.Fatalf("status = %d", code)
	}
	if got := st.count(); got != 4 {
		t.Errorf("stored %d messages, want 4", got)
	}
	h.mu.Lock()
	waited := h.waited
	h.mu.Unlock()
	// Two taken in memory (one of them started), two left to the resumer.
	if waited > 2 {
		t.Errorf("%d messages waiting in memory, want at most MaxWaiting = 2", waited)
	}
	h.Close()
	if got := len(br.ended); got != 1 {
		t.Errorf("%d answers were started, want 1", got)
	}
}

// flakyResumer fails its first failures calls as a store that is
// restarting does, then answers.
type flakyResumer struct {
	mu       sync.Mutex
	failures int
	calls    int
}

func (f *flakyResumer) Resume(context.Context, conversation.Received) (assistant.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls <= f.failures {
		return assistant.Outcome{}, fmt.Errorf("read the conversation: %w", relais.ErrUnavailable)
	}
	return assistant.Outcome{}, nil
}

// A store away for a moment is waited out by the worker, so the message
// does not wait for its lease to run out and the resumer.
func TestWorkerWaitsOutAStoreThatIsAway(t *testing.T) {
	t.Parallel()
	fr := &flakyResumer{failures: 2}
	h := newWebhook(newFakeStore())
	h.Resumer = fr
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[
	 {"from":"4911111","id":"wamid.1","timestamp":"1700000000","type":"text","text":{"body":"hello"}}]}}]}]}`)
	if code := post(t, h, body); code != 200 {
		t.Fatalf("status = %d", code)
	}
	h.Wait()
	if fr.calls != 3 {
		t.Errorf("Resume called %d times, want 3 (two failures waited out, then the answer)", fr.calls)
	}
}
