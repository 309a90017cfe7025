package webchat

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais"
	"github.com/relais-ai/relais/assistant"
	"github.com/relais-ai/relais/auth"
	"github.com/relais-ai/relais/conversation"
	"github.com/relais-ai/relais/knowledge"
	"github.com/relais-ai/relais/sqlite"
)

// echo stands in for the assistant: it stores the message in the real
// store, as assistant.Service does, and answers "echo: <text>" citing the
// article "returns", once per channel message id.
type echo struct {
	st    *sqlite.DB
	mu    sync.Mutex
	calls int
}

func (e *echo) HandleMessage(ctx context.Context, in conversation.Inbound) (assistant.Outcome, error) {
	e.mu.Lock()
	e.calls++
	e.mu.Unlock()
	rec, err := e.st.Receive(ctx, in)
	if err != nil {
		return assistant.Outcome{}, err
	}
	out := assistant.Outcome{Conversation: rec.Conversation, Message: rec.Message, Duplicate: rec.Duplicate}
	if rec.Duplicate {
		return out, nil
	}
	reply, err := e.st.AppendMessage(ctx, conversation.Message{ConversationID: rec.Conversation.ID,
		Role: conversation.Assistant, Text: "echo: " + rec.Message.Text})
	if err != nil {
		return assistant.Outcome{}, err
	}
	if _, err := e.st.RecordDecision(ctx, conversation.DecisionRecord{ConversationID: rec.Conversation.ID,
		MessageID: rec.Message.ID, ReplyID: reply.ID, Action: string(assistant.Answer), Sources: []string{"returns"}}); err != nil {
		return assistant.Outcome{}, err
	}
	out.Reply = &reply
	out.Decision = assistant.Decision{Action: assistant.Answer, Text: reply.Text,
		Sources: []assistant.Source{{ArticleID: "returns", Title: "Returning an item"}}}
	return out, nil
}

type bundle struct {
	st   *sqlite.DB
	echo *echo
	h    *Handler
}

func setup(t *testing.T) bundle {
	t.Helper()
	st, err := sqlite.Open(t.Context(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &echo{st: st}
	h := &Handler{Messages: e, Transcripts: st, Articles: st, Keys: st,
		FrameAncestors: []string{"https://shop.example"}, PollInterval: 20 * time.Millisecond}
	return bundle{st: st, echo: e, h: h}
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	cookie *http.Cookie
}

func (b bundle) do(t *testing.T, method, target, body string, cookie *http.Cookie, hdr ...string) result {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.10:4321"
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	res := result{status: w.Code, header: w.Header()}
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(w.Body.Bytes(), &res.body); err != nil {
			t.Fatalf("%s %s: body %q: %v", method, target, w.Body.String(), err)
		}
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			res.cookie = c
		}
	}
	return res
}

func (b bundle) say(t *testing.T, text, id string, cookie *http.Cookie) result {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"text": text, "id": id})
	return b.do(t, "POST", "/chat/api/messages", string(body), cookie, "Content-Type", "application/json")
}

func textsOf(t *testing.T, body map[string]any) []string {
	t.Helper()
	var out []string
	ms, _ := body["messages"].([]any)
	for _, m := range ms {
		out = append(out, m.(map[string]any)["text"].(string))
	}
	return out
}

func TestConversationSurvivesReload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if _, err := b.st.SaveArticle(t.Context(), knowledge.Article{ExternalID: "returns", Title: "Returning an item", Body: "Use the returns form."}, nil); err != nil {
		t.Fatal(err)
	}
	r := b.say(t, "How do I return an item?", "msg-00001", nil)
	if r.status != http.StatusOK {
		t.Fatalf("POST: %d %v", r.status, r.body)
	}
	c := r.cookie
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/chat" || c.MaxAge <= 0 {
		t.Fatalf("session cookie = %+v", c)
	}
	if got := textsOf(t, r.body); len(got) != 2 || got[1] != "echo: How do I return an item?" {
		t.Errorf("POST messages = %q", got)
	}
	reply := r.body["messages"].([]any)[1].(map[string]any)
	if src, _ := reply["source"].(map[string]any); src["title"] != "Returning an item" {
		t.Errorf("reply source = %v", reply["source"])
	}
	// The page reloads: the same conversation, with the cited title read back.
	g := b.do(t, "GET", "/chat/api/messages", "", c)
	if g.status != http.StatusOK || g.body["conversation_id"] != r.body["conversation_id"] || len(textsOf(t, g.body)) != 2 {
		t.Fatalf("GET after reload: %d %v", g.status, g.body)
	}
	if src, _ := g.body["messages"].([]any)[1].(map[string]any)["source"].(map[string]any); src["title"] != "Returning an item" {
		t.Errorf("reloaded reply source = %v", src)
	}
	if g.cookie == nil {
		t.Errorf("a visit did not renew the session cookie")
	}
	// A retry of the same message (a lost response) is not answered twice.
	r2 := b.say(t, "How do I return an item?", "msg-00001", g.cookie)
	if r2.status != http.StatusOK || len(textsOf(t, r2.body)) != 1 {
		t.Errorf("retry: %d %v", r2.status, r2.body)
	}
	if ms, _ := b.st.Messages(t.Context(), int64(r.body["conversation_id"].(float64)), 10); len(ms) != 2 {
		t.Errorf("stored %d messages after a retry, want 2", len(ms))
	}
	// A visitor without a cookie sees nothing of it.
	if n := b.do(t, "GET", "/chat/api/messages", "", nil); n.status != http.StatusOK || len(textsOf(t, n.body)) != 0 {
		t.Errorf("GET without a session: %d %v", n.status, n.body)
	}
}

// TestTamperedCookies: a cookie changed in any field, or signed with a key
// Relais does not hold, is no session: the visitor sees an empty chat and
// their message starts a new conversation.
func TestTamperedCookies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	victim := b.say(t, "my secret order 123", "victim-01", nil)
	if victim.status != http.StatusOK {
		t.Fatal(victim.status)
	}
	parts := strings.Split(victim.cookie.Value, ".")
	other := b.say(t, "hello", "other-001", nil)
	otherParts := strings.Split(other.cookie.Value, ".")
	foreign := sign(auth.SigningKey{Generation: 1, Secret: auth.NewSigningSecret()},
		session{ID: parts[2], ConversationID: 1, Issued: time.Now()})
	swap := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, ".")
	}
	flip := func(s string) string {
		if s[0] == 'A' {
			return "B" + s[1:]
		}
		return "A" + s[1:]
	}
	for name, value := range map[string]string{
		"session id changed":      swap(2, otherParts[2]),
		"conversation id changed": swap(3, otherParts[3]),
		"issue time changed":      swap(4, strconv.FormatInt(time.Now().Unix()+5, 10)),
		"signature changed":       swap(5, flip(parts[5])),
		"signature of another":    swap(5, otherParts[5]),
		"unknown generation":      swap(1, "7"),
		"another key":             foreign,
		"truncated":               strings.Join(parts[:5], "."),
		"garbage":                 "v1.x.y.z",
		"empty":                   "",
	} {
		t.Run(name, func(t *testing.T) {
			c := &http.Cookie{Name: CookieName, Value: value}
			g := b.do(t, "GET", "/chat/api/messages", "", c)
			if g.status != http.StatusOK || len(textsOf(t, g.body)) != 0 {
				t.Errorf("GET with a tampered cookie: %d %v", g.status, g.body)
			}
			e := b.do(t, "GET", "/chat/api/events", "", c)
			if e.status != http.StatusNoContent {
				t.Errorf("events with a tampered cookie: %d", e.status)
			}
		})
	}
	// The forged conversation id with the attacker's own session is refused
	// by the signature; with the victim's session by the store check.
	r := b.say(t, "another message", "attack-01", &http.Cookie{Name: CookieName, Value: swap(2, otherParts[2])})
	if r.status != http.StatusOK || r.body["conversation_id"] == victim.body["conversation_id"] {
		t.Errorf("a tampered cookie wrote into the victim's conversation: %v", r.body)
	}
}

func TestVerifyAge(t *testing.T) {
	t.Parallel()
	k := auth.SigningKey{Generation: 3, Secret: auth.NewSigningSecret()}
	now := time.Now()
	s := session{ID: newSessionID(), ConversationID: 9, Issued: now.Add(-2 * time.Hour)}
	got, err := verify([]auth.SigningKey{k}, sign(k, s), now, 3*time.Hour)
	if err != nil || got.ID != s.ID || got.ConversationID != 9 || got.Generation != 3 {
		t.Fatalf("verify = %+v, %v", got, err)
	}
	if _, err := verify([]auth.SigningKey{k}, sign(k, s), now, time.Hour); err == nil {
		t.Errorf("a cookie older than the session's lifetime verified")
	}
	s.Issued = now.Add(time.Hour)
	if _, err := verify([]auth.SigningKey{k}, sign(k, s), now, 3*time.Hour); err == nil {
		t.Errorf("a cookie issued in the future verified")
	}
}

// TestKeyRotation: after a rotation, a session signed with the old key
// still works during the grace period and is signed again with the new
// key; a rotation without grace signs it out.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	var mu sync.Mutex
	clock := time.Now()
	b.h.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	if err := b.h.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r := b.say(t, "hello", "rotate-01", nil)
	old := r.cookie
	if !strings.HasPrefix(old.Value, "v1.1.") {
		t.Fatalf("first cookie %q not signed by generation 1", old.Value)
	}
	if _, err := b.st.RotateSigningKey(t.Context(), KeyPurpose, auth.NewSigningSecret(), time.Hour); err != nil {
		t.Fatal(err)
	}
	advance(2 * auth.KeyRefresh) // every replica reads the keys again within keyRefresh
	g := b.do(t, "GET", "/chat/api/messages", "", old)
	if len(textsOf(t, g.body)) != 2 {
		t.Fatalf("the old key's session lost its conversation in the grace period: %v", g.body)
	}
	if g.cookie == nil || !strings.HasPrefix(g.cookie.Value, "v1.2.") {
		t.Fatalf("the session was not signed again with the new key: %+v", g.cookie)
	}
	renewed := g.cookie
	if _, err := b.st.RotateSigningKey(t.Context(), KeyPurpose, auth.NewSigningSecret(), 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // past the expiry by the store's clock
	advance(2 * auth.KeyRefresh)
	for name, c := range map[string]*http.Cookie{"generation 1": old, "generation 2": renewed} {
		if g := b.do(t, "GET", "/chat/api/messages", "", c); len(textsOf(t, g.body)) != 0 {
			t.Errorf("a %s cookie still works after a rotation without grace: %v", name, g.body)
		}
	}
}

func TestInboundValidation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for name, body := range map[string]string{
		"empty text":         `{"text":"   ","id":"valid-id-1"}`,
		"control chars only": `{"text":"\u0000\u0007\u001b","id":"valid-id-1"}`,
		"too long":           `{"text":"` + strings.Repeat("é", conversation.MaxTextChars+1) + `","id":"valid-id-1"}`,
		"bad id":             `{"text":"hello","id":"a b"}`,
		"short id":           `{"text":"hello","id":"abc"}`,
		"unknown field":      `{"text":"hello","customer_id":"someone"}`,
		"not JSON":           `hello`,
		"two values":         `{"text":"a"}{"text":"b"}`,
		"text of wrong type": `{"text":42}`,
	} {
		t.Run(name, func(t *testing.T) {
			r := b.do(t, "POST", "/chat/api/messages", body, nil, "Content-Type", "application/json")
			if r.status != http.StatusBadRequest {
				t.Errorf("status %d, want 400: %v", r.status, r.body)
			}
		})
	}
	if r := b.do(t, "POST", "/chat/api/messages", `{"text":"`+strings.Repeat("a", maxBody)+`"}`, nil, "Content-Type", "application/json"); r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d, want 413", r.status)
	}
	// A form of another site posting JSON-looking text (text/plain) is no
	// message, whatever cookie comes with it.
	if r := b.do(t, "POST", "/chat/api/messages", `{"id":"abcdefgh","text":"hi="}`, nil, "Content-Type", "text/plain"); r.status != http.StatusBadRequest {
		t.Errorf("text/plain post: %d, want 400", r.status)
	}
	b.echo.mu.Lock()
	calls := b.echo.calls
	b.echo.mu.Unlock()
	if calls != 0 {
		t.Errorf("refused messages reached the assistant %d times", calls)
	}
	// What is kept is the domain's cleaned text, not the raw input.
	r := b.do(t, "POST", "/chat/api/messages", `{"text":"  line one\r\nline\u0000 two  ","id":"valid-id-2"}`, nil, "Content-Type", "application/json")
	if got := textsOf(t, r.body); r.status != http.StatusOK || got[0] != "line one\nline two" {
		t.Errorf("stored text %q (status %d), want the cleaned text", got, r.status)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.h.SessionMessages, b.h.IPMessages = 3, 5
	var c *http.Cookie
	for i := range 3 {
		r := b.say(t, "question "+strconv.Itoa(i), "", c)
		if r.status != http.StatusOK {
			t.Fatalf("message %d: %d %v", i, r.status, r.body)
		}
		c = r.cookie
	}
	r := b.say(t, "one too many", "", c)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" ||
		r.body["error"].(map[string]any)["code"] != "rate_limited" {
		t.Fatalf("4th message of a session: %d Retry-After %q %v", r.status, r.header.Get("Retry-After"), r.body)
	}
	// A new session from the same address gets the address's remainder:
	// 5 per minute, 4 used (the refused one counts towards the address).
	if r := b.say(t, "new visitor", "", nil); r.status != http.StatusOK {
		t.Fatalf("a new session from the same address: %d %v", r.status, r.body)
	}
	if r := b.say(t, "and another", "", nil); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Errorf("6th message from one address: %d", r.status)
	}
}

// TestEventsResume: a stream sends the messages after Last-Event-ID, each
// with its id, then the ones stored while it is open.
func TestEventsResume(t *testing.T) {
	t.Parallel()
	b := setup(t)
	r := b.say(t, "I want a person", "events-01", nil)
	convID := int64(r.body["conversation_id"].(float64))
	ms := r.body["messages"].([]any)
	lastSeen := int64(ms[0].(map[string]any)["id"].(float64)) // the page missed the reply
	srv := httptest.NewServer(b.h)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/chat/api/events?after=0", nil)
	req.AddCookie(r.cookie)
	req.Header.Set("Last-Event-ID", strconv.FormatInt(lastSeen, 10)) // wins over ?after=
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type ev struct {
		id   string
		text string
	}
	evs := make(chan ev, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var id string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				id = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && id != "" {
				var m messageJSON
				if json.Unmarshal([]byte(v), &m) == nil {
					evs <- ev{id, m.Text}
				}
				id = ""
			}
		}
		close(evs)
	}()
	next := func(want string) {
		t.Helper()
		select {
		case e := <-evs:
			if e.text != want {
				t.Fatalf("event %q, want %q", e.text, want)
			}
		case <-ctx.Done():
			t.Fatalf("no event %q", want)
		}
	}
	next("echo: I want a person")
	// An agent replies while the page listens.
	agent, err := b.st.AppendMessage(t.Context(), conversation.Message{ConversationID: convID, Role: conversation.HumanRole, AgentID: "alice", Text: "Hi, Alice here."})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-evs:
		if e.text != "Hi, Alice here." || e.id != strconv.FormatInt(agent.ID, 10) {
			t.Fatalf("event %+v, want the agent's reply with id %d", e, agent.ID)
		}
	case <-ctx.Done():
		t.Fatal("the agent's reply did not arrive on the stream")
	}
}

func TestEventsWithoutConversation(t *testing.T) {
	t.Parallel()
	b := setup(t)
	if r := b.do(t, "GET", "/chat/api/events", "", nil); r.status != http.StatusNoContent {
		t.Errorf("events without a session: %d, want 204", r.status)
	}
	if r := b.do(t, "GET", "/chat/api/events", "", nil, "Last-Event-ID", "x"); r.status != http.StatusNoContent {
		t.Errorf("events without a session: %d, want 204", r.status)
	}
	r := b.say(t, "hello", "", nil)
	if e := b.do(t, "GET", "/chat/api/events?after=abc", "", r.cookie); e.status != http.StatusBadRequest {
		t.Errorf("events after a malformed id: %d, want 400", e.status)
	}
}

func TestPageLanguageAndHeaders(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, c := range []struct {
		target, accept, lang, title string
	}{
		{"/chat", "", "en", "Customer service"},
		{"/chat", "fr-FR,fr;q=0.9,en;q=0.5", "fr", "Service client"},
		{"/chat", "de-DE,de;q=0.9", "en", "Customer service"},
		{"/chat?lang=fr", "en-US", "fr", "Service client"},
		{"/chat?lang=en", "fr-FR", "en", "Customer service"},
	} {
		req := httptest.NewRequest("GET", c.target, nil)
		if c.accept != "" {
			req.Header.Set("Accept-Language", c.accept)
		}
		w := httptest.NewRecorder()
		b.h.ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code != http.StatusOK || !strings.Contains(body, `<html lang="`+c.lang+`">`) || !strings.Contains(body, "<title>"+c.title+"</title>") {
			t.Errorf("%s (Accept-Language %q): %d, want lang %s and title %q", c.target, c.accept, w.Code, c.lang, c.title)
		}
		csp := w.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'self' https://shop.example") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP %q", csp)
		}
	}
	req := httptest.NewRequest("GET", "/chat/widget.js", nil)
	w := httptest.NewRecorder()
	b.h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || !strings.Contains(w.Body.String(), "RelaisChat") {
		t.Errorf("widget.js: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
	for _, f := range []string{"/chat/static/chat.js", "/chat/static/chat.css"} {
		w := httptest.NewRecorder()
		b.h.ServeHTTP(w, httptest.NewRequest("GET", f, nil))
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d", f, w.Code)
		}
	}
}

func TestSender(t *testing.T) {
	t.Parallel()
	if _, err := (Sender{}).Send(t.Context(), conversation.OutboxMessage{ID: 1}); err != nil {
		t.Errorf("Send: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := (Sender{}).Send(ctx, conversation.OutboxMessage{ID: 1}); err == nil {
		t.Errorf("Send after its context ended succeeded")
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for err, want := range map[error]int{
		relais.ErrInvalid: 400, relais.ErrTooLarge: 413, relais.ErrNotFound: 404, relais.ErrUnavailable: 503,
		assistant.ErrInProgress: 503, context.DeadlineExceeded: 503,
	} {
		if got, _ := statusOf(err); got != want {
			t.Errorf("statusOf(%v) = %d, want %d", err, got, want)
		}
	}
}

// A first visit gets its session from the transcript the page reads on
// load, so that the first message, sent again after its response was
// lost, is a repeat of the first and not a new visitor's.
func TestFirstMessageRetriedIsARepeat(t *testing.T) {
	t.Parallel()
	b := setup(t)
	g := b.do(t, "GET", "/chat/api/messages", "", nil)
	if g.status != http.StatusOK || g.cookie == nil {
		t.Fatalf("first visit: %d, cookie %v; want a session cookie", g.status, g.cookie)
	}
	first := b.say(t, "Where is my parcel?", "msg-first1", g.cookie)
	again := b.say(t, "Where is my parcel?", "msg-first1", g.cookie)
	if first.status != http.StatusOK || again.status != http.StatusOK || first.body["conversation_id"] != again.body["conversation_id"] {
		t.Fatalf("first %d %v, retry %d %v: want one conversation", first.status, first.body, again.status, again.body)
	}
	if b.echo.calls != 2 {
		t.Fatalf("HandleMessage called %d times, want 2", b.echo.calls)
	}
	if ms, _ := b.st.Messages(t.Context(), int64(first.body["conversation_id"].(float64)), 10); len(ms) != 2 {
		t.Errorf("stored %d messages, want the message and one reply", len(ms))
	}
}

// Over HTTPS the session cookie is partitioned and SameSite=None, so that
// the widget's frame on the shop's site keeps it; over plain HTTP (a
// developer's machine) it stays Lax.
func TestSessionCookieForTheWidgetFrame(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.do(t, "GET", "/chat/api/messages", "", nil, "X-Forwarded-Proto", "https").cookie
	if c == nil || !c.Secure || !c.Partitioned || c.SameSite != http.SameSiteNoneMode || !c.HttpOnly {
		t.Errorf("cookie over HTTPS = %+v, want Secure, Partitioned, SameSite=None, HttpOnly", c)
	}
	c = b.do(t, "GET", "/chat/api/messages", "", nil).cookie
	if c == nil || c.Secure || c.Partitioned || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie over HTTP = %+v, want Lax", c)
	}
}
