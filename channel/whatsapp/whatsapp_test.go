package whatsapp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/channel"
	"github.com/relais-ai/relais/conversation"
)

const testSecret = "app-secret"

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// fakeStore stores messages idempotently on their channel message id and
// records what was resumed.
type fakeStore struct {
	mu      sync.Mutex
	convs   map[string]int64 // conversation id by customer
	stored  map[string]conversation.Inbound
	resumed chan conversation.Received
	fail    error
	failOn  func(conversation.Inbound) bool // which messages fail with fail
}

func newFakeStore() *fakeStore {
	return &fakeStore{stored: map[string]conversation.Inbound{}, convs: map[string]int64{}, resumed: make(chan conversation.Received, 100)}
}

func (f *fakeStore) Receive(_ context.Context, in conversation.Inbound) (conversation.Received, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil && f.failOn(in) {
		return conversation.Received{}, f.fail
	}
	_, dup := f.stored[in.ChannelMessageID]
	if !dup {
		f.stored[in.ChannelMessageID] = in
	}
	if f.convs[in.CustomerID] == 0 {
		f.convs[in.CustomerID] = int64(len(f.convs) + 1)
	}
	conv := conversation.Conversation{ID: f.convs[in.CustomerID], Channel: in.Channel, CustomerID: in.CustomerID}
	return conversation.Received{Conversation: conv, Message: conversation.Message{Text: in.Text, ChannelMessageID: in.ChannelMessageID},
		Duplicate: dup, Pending: true}, nil
}

func (f *fakeStore) Resume(_ context.Context, rec conversation.Received) (assistant.Outcome, error) {
	f.resumed <- rec
	return assistant.Outcome{}, nil
}

func (f *fakeStore) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.stored)
}

func newWebhook(st *fakeStore) *Webhook {
	return &Webhook{VerifyToken: "verify-me", AppSecret: testSecret, Receiver: st, Resumer: st}
}

func textBatch() []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[
	 {"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp",
	  "metadata":{"display_phone_number":"15550000000","phone_number_id":"123"},
	  "contacts":[{"profile":{"name":"Ann"},"wa_id":"4911111"}],
	  "messages":[{"from":"4911111","id":"wamid.A","timestamp":"1700000000","type":"text","text":{"body":"Where is my parcel?"}}]}}]},
	 {"id":"1","changes":[{"field":"messages","value":{
	  "messages":[{"from":"4922222","id":"wamid.B","timestamp":"1700000001","type":"text","text":{"body":"How do I reset my password?"}},
	   {"from":"4922222","id":"wamid.C","timestamp":"1700000002","type":"image","image":{"id":"m1","mime_type":"image/jpeg"}},
	   {"from":"4922222","id":"wamid.D","timestamp":"1700000003","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes, thanks"}}}],
	  "statuses":[{"id":"wamid.X","status":"delivered","timestamp":"1700000004","recipient_id":"4911111"}]}}]}]}`)
}

func TestVerifyHandshake(t *testing.T) {
	t.Parallel()
	h := newWebhook(newFakeStore())
	tests := []struct {
		name  string
		query string
		code  int
		body  string
	}{
		{"good token", "hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444", 200, "1158201444"},
		{"wrong token", "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", 403, ""},
		{"no token", "hub.mode=subscribe&hub.challenge=1", 403, ""},
		{"wrong mode", "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1", 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, httptest.NewRequest("GET", "/webhooks/whatsapp?"+tt.query, nil))
			if rr.Code != tt.code {
				t.Fatalf("status = %d, want %d", rr.Code, tt.code)
			}
			if tt.code == 200 {
				if got := rr.Body.String(); got != tt.body {
					t.Errorf("body = %q, want %q", got, tt.body)
				}
				if ct := rr.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q, want text/plain", ct)
				}
			}
		})
	}
}

func TestDeliverySignature(t *testing.T) {
	t.Parallel()
	body := textBatch()
	altered := []byte(strings.Replace(string(body), "parcel", "parcels", 1))
	tests := []struct {
		name   string
		body   []byte
		header string
		code   int
		stored int
	}{
		{"good", body, sign(testSecret, body), 200, 4},
		{"missing", body, "", 401, 0},
		{"wrong secret", body, sign("other", body), 401, 0},
		{"not hex", body, "sha256=zz", 401, 0},
		{"no prefix", body, strings.TrimPrefix(sign(testSecret, body), "sha256="), 401, 0},
		{"body altered", altered, sign(testSecret, body), 401, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := newFakeStore()
			h := newWebhook(st)
			req := httptest.NewRequest("POST", "/webhooks/whatsapp", strings.NewReader(string(tt.body)))
			if tt.header != "" {
				req.Header.Set("X-Hub-Signature-256", tt.header)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			h.Wait()
			if rr.Code != tt.code {
				t.Fatalf("status = %d, want %d", rr.Code, tt.code)
			}
			if got := st.count(); got != tt.stored {
				t.Errorf("stored %d messages, want %d", got, tt.stored)
			}
		})
	}
}

func post(t *testing.T, h http.Handler, body []byte) int {
	t.Helper()
	req := httptest.NewRequest("POST", "/webhooks/whatsapp", strings.NewReader(string(body)))
	req.Header.Set("X-Hub-Signature-256", sign(testSecret, body))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr.Code
}

func TestDeliveryStoresAndAnswersEachMessageOnce(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	h := newWebhook(st)
	for range 5 {
		if code := post(t, h, textBatch()); code != 200 {
			t.Fatalf("status = %d, want 200", code)
		}
	}
	h.Wait()
	want := map[string]conversation.Inbound{
		"wamid.A": {Channel: "whatsapp", CustomerID: "4911111", ChannelMessageID: "wamid.A", Text: "Where is my parcel?"},
		"wamid.B": {Channel: "whatsapp", CustomerID: "4922222", ChannelMessageID: "wamid.B", Text: "How do I reset my password?"},
		"wamid.C": {Channel: "whatsapp", CustomerID: "4922222", ChannelMessageID: "wamid.C",
			Media: &conversation.Media{Kind: conversation.MediaImage, ProviderID: "m1", MimeType: "image/jpeg"}},
		"wamid.D": {Channel: "whatsapp", CustomerID: "4922222", ChannelMessageID: "wamid.D", Text: "Yes, thanks"},
	}
	if diff := cmp.Diff(want, st.stored); diff != "" {
		t.Errorf("stored messages (-want +got):\n%s", diff)
	}
	if got := len(st.resumed); got != 4 {
		t.Errorf("answered %d messages, want 4 (once each)", got)
	}
}

func TestDeliveryMalformedJSONIsAcknowledged(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	for _, body := range []string{`{"entry":`, `[1,2]`, `{"entry":[{"changes":"x"}]}`} {
		if code := post(t, newWebhook(st), []byte(body)); code != 200 {
			t.Errorf("%s: status = %d, want 200", body, code)
		}
	}
	if st.count() != 0 {
		t.Errorf("stored %d messages, want 0", st.count())
	}
}

func TestDeliveryStoreFailureAsksForRedelivery(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	st.fail = errors.New("database is down")
	st.failOn = func(in conversation.Inbound) bool { return in.ChannelMessageID == "wamid.B" }
	h := newWebhook(st)
	if code := post(t, h, textBatch()); code != 500 {
		t.Fatalf("status = %d, want 500", code)
	}
	h.Wait()
	// wamid.A was stored before the failure: it is answered now, since
	// the redelivery will find it a repeat.
	if len(st.resumed) != 1 {
		t.Errorf("answered %d messages, want 1", len(st.resumed))
	}
}

func TestDeliverySkipsRefusedMessages(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	st.fail = fmt.Errorf("customer id: %w", relais.ErrInvalid)
	st.failOn = func(in conversation.Inbound) bool { return in.CustomerID == "4911111" }
	h := newWebhook(st)
	if code := post(t, h, textBatch()); code != 200 {
		t.Fatalf("status = %d, want 200", code)
	}
	h.Wait()
	if got := st.count(); got != 3 {
		t.Errorf("stored %d messages, want 3", got)
	}
}

func TestDeliveryBodyLimit(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	h := newWebhook(st)
	h.MaxBodyBytes = 100
	if code := post(t, h, textBatch()); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", code)
	}
	if st.count() != 0 {
		t.Errorf("stored %d messages, want 0", st.count())
	}
}

// fakeGraph answers /{phone}/messages with the given status and body, and
// records the requests' decoded bodies.
func fakeGraph(t *testing.T, status int, body string) (*httptest.Server, *[]map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var got []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v21.0/123/messages" || r.Header.Get("Authorization") != "Bearer token" {
			t.Errorf("request %s %s auth %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		raw, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Errorf("request body: %v", err)
		}
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestSendText(t *testing.T) {
	t.Parallel()
	srv, got := fakeGraph(t, 200, `{"messaging_product":"whatsapp","contacts":[{"input":"4911111","wa_id":"4911111"}],"messages":[{"id":"wamid.OUT"}]}`)
	s := &Sender{APIBase: srv.URL + "/v21.0", AccessToken: "token", PhoneNumberID: "123"}
	rc, err := s.Send(t.Context(), conversation.OutboxMessage{Channel: "whatsapp", Recipient: "4911111", Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	if rc.ProviderMessageID != "wamid.OUT" {
		t.Errorf("receipt = %q, want wamid.OUT", rc.ProviderMessageID)
	}
	want := map[string]any{"messaging_product": "whatsapp", "to": "4911111", "type": "text", "text": map[string]any{"body": "Hello"}}
	if len(*got) != 1 || !jsonEqual((*got)[0], want) {
		t.Errorf("sent %v, want %v", *got, want)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestSendSplitsLongText(t *testing.T) {
	t.Parallel()
	srv, got := fakeGraph(t, 200, `{"messages":[{"id":"wamid.OUT"}]}`)
	s := &Sender{APIBase: srv.URL + "/v21.0", AccessToken: "token", PhoneNumberID: "123"}
	text := strings.Repeat("é", 5000) + " end"
	if _, err := s.Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: text}); err != nil {
		t.Fatal(err)
	}
	var joined strings.Builder
	for _, m := range *got {
		body := m["text"].(map[string]any)["body"].(string)
		if n := utf8.RuneCountInString(body); n > MaxTextChars {
			t.Errorf("part of %d characters, want at most %d", n, MaxTextChars)
		}
		joined.WriteString(body)
	}
	if len(*got) != 2 || joined.String() != text {
		t.Errorf("sent %d parts that join to %d characters, want 2 parts joining to the text", len(*got), utf8.RuneCountInString(joined.String()))
	}
}

func TestSplitText(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		max  int
		want []string
	}{
		{"", 5, []string{""}},
		{"abc", 5, []string{"abc"}},
		{"abcdefgh", 4, []string{"abcd", "efgh"}},
		{"hello world again", 12, []string{"hello world ", "again"}},
	} {
		got := splitText(tt.in, tt.max)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("splitText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func TestSendErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		body      string
		permanent bool
		code      string
	}{
		{"rate limited", 429, `{"error":{"message":"too many","type":"OAuthException","code":130429}}`, false, "130429"},
		{"server error", 503, `oops`, false, "HTTP 503"},
		{"outside 24h window", 400, `{"error":{"message":"Re-engagement message","type":"OAuthException","code":131047}}`, true, "131047"},
		{"bad token", 401, `{"error":{"message":"Invalid OAuth access token","type":"OAuthException","code":190}}`, true, "190"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := fakeGraph(t, tt.status, tt.body)
			s := &Sender{APIBase: srv.URL + "/v21.0", AccessToken: "token", PhoneNumberID: "123"}
			_, err := s.Send(t.Context(), conversation.OutboxMessage{Recipient: "4911111", Text: "secret customer text"})
			if err == nil {
				t.Fatal("Send succeeded, want an error")
			}
			if got := channel.IsPermanent(err); got != tt.permanent {
				t.Errorf("IsPermanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.code) {
				t.Errorf("error %q does not name %q", err, tt.code)
			}
			if strings.Contains(err.Error(), "secret customer text") || strings.Contains(err.Error(), "token") {
				t.Errorf("error %q carries the text or the token", err)
			}
		})
	}
}

func TestSendTimeoutIsTransient(t *testing.T) {
	t.Parallel()
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(block); srv.Close() })
	s := &Sender{APIBase: srv.URL, AccessToken: "token", PhoneNumberID: "123"}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, conversation.OutboxMessage{Recipient: "4911111", Text: "hi"})
	if err == nil || channel.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient error", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(textBatch())
	for _, name := range []string{"text.json", "interactive.json", "media.json", "other.json", "statuses.json", "bsuid.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"entry":[{"changes":[{"value":{"messages":[{"from":"1","id":"w","type":"text"}]}}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			if len(p.Messages)+len(p.Skipped)+len(p.Statuses) != 0 {
				t.Fatalf("error %v with messages", err)
			}
			return
		}
		for _, st := range p.Statuses {
			if st.ID == "" || conversation.DeliveryRank(st.Status) == 0 {
				t.Fatalf("status Relais cannot record: %+v", st)
			}
		}
		for _, m := range p.Messages {
			if m.ID == "" || m.From == "" {
				t.Fatalf("message without id or sender: %+v", m)
			}
			if m.Media != nil && conversation.ValidateMedia(*m.Media) != nil && conversation.Fetchable(m.Media.Kind) {
				t.Fatalf("fetchable media without an id: %+v", m)
			}
		}
	})
}

// blockingResumer answers nothing until its context ends.
type blockingResumer struct{ ended chan error }

func (b *blockingResumer) Resume(ctx context.Context, _ conversation.Received) (assistant.Outcome, error) {
	<-ctx.Done()
	b.ended <- ctx.Err()
	return assistant.Outcome{}, ctx.Err()
}

func TestCloseCutsShortBackgroundAnswers(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	br := &blockingResumer{ended: make(chan error, 10)}
	h := newWebhook(st)
	h.Resumer = br
	if code := post(t, h, textBatch()); code != 200 {
		t.Fatalf("status = %d, want 200", code)
	}
	done := make(chan struct{})
	go func() { h.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	// One message of each conversation was being answered; the others of
	// the second stay pending for the resumer.
	if got := len(br.ended); got != 2 {
		t.Errorf("%d answers were cut short, want 2", got)
	}
}

func TestCloseLeavesWaitingMessagesToTheResumer(t *testing.T) {
	t.Parallel()
	st := newFakeStore()
	br := &blockingResumer{ended: make(chan error, 10)}
	h := newWebhook(st)
	h.Resumer = br
	h.Concurrency = 1
	if code := post(t, h, textBatch()); code != 200 {
		t.Fatalf("status = %d, want 200", code)
	}
	if got := st.count(); got != 4 {
		t.Errorf("stored %d messages, want 4", got)
	}
	h.Close()
	if got := len(br.ended); got != 1 {
		t.Errorf("%d answers were started, want 1 (the rest left pending)", got)
	}
}
