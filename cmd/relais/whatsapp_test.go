package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relais-ai/relais/channel/whatsapp"
)

// graphFake is a local stand-in for the Graph API's messages endpoint.
type graphFake struct {
	mu   sync.Mutex
	sent []map[string]any
}

func (g *graphFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var m map[string]any
	if r.URL.Path != "/v21.0/555/messages" || r.Header.Get("Authorization") != "Bearer wa-access" ||
		json.NewDecoder(r.Body).Decode(&m) != nil {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"type":"OAuthException","code":100}}`)
		return
	}
	g.mu.Lock()
	g.sent = append(g.sent, m)
	n := len(g.sent)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.out%d"}]}`, n)
}

func (g *graphFake) messages() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.sent...)
}

func whatsAppEnv(c *cli, graphURL string) {
	c.env["RELAIS_WHATSAPP_VERIFY_TOKEN"] = "wa-verify"
	c.env["RELAIS_WHATSAPP_APP_SECRET"] = "wa-secret"
	c.env["RELAIS_WHATSAPP_ACCESS_TOKEN"] = "wa-access"
	c.env["RELAIS_WHATSAPP_PHONE_NUMBER_ID"] = "555"
	c.env["RELAIS_WHATSAPP_API_BASE"] = graphURL + "/v21.0"
}

const whatsAppBatch = `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"555"},
 "contacts":[{"profile":{"name":"Ann"},"wa_id":"4911111"},{"profile":{"name":"Bob"},"wa_id":"4922222"}],
 "messages":[
  {"from":"4911111","id":"wamid.in1","timestamp":"1700000000","type":"text","text":{"body":"Where is my parcel?"}},
  {"from":"4922222","id":"wamid.in2","timestamp":"1700000001","type":"text","text":{"body":"How do I reset my password?"}}]}}]}]}`

func postWhatsApp(t *testing.T, base, body, secret string) int {
	t.Helper()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req, err := http.NewRequest("POST", base+"/webhooks/whatsapp", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestWhatsAppRepliesOnceToEachCustomer(t *testing.T) {
	eachStore(t, func(t *testing.T, c *cli) {
		ingestFAQ(t, c)
		graph := &graphFake{}
		gs := httptest.NewServer(graph)
		t.Cleanup(gs.Close)
		whatsAppEnv(c, gs.URL)
		c.env["RELAIS_LOG_LEVEL"] = "debug"
		var logs lockedBuffer
		base := startServeLogging(t, c, &logs)

		// A forged delivery is refused and nothing comes of it.
		if code := postWhatsApp(t, base, whatsAppBatch, "not-the-secret"); code != http.StatusUnauthorized {
			t.Fatalf("forged delivery: status %d, want 401", code)
		}
		// WhatsApp delivers at least once: the same batch five times.
		for i := range 5 {
			if code := postWhatsApp(t, base, whatsAppBatch, "wa-secret"); code != http.StatusOK {
				t.Fatalf("delivery %d: status %d, want 200", i+1, code)
			}
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(graph.messages()) < 2 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		// Give a second reply the dispatcher's next rounds to show up.
		time.Sleep(2500 * time.Millisecond)
		sent := graph.messages()
		if len(sent) != 2 {
			t.Fatalf("Graph API got %d messages, want 2 (one reply per customer): %v", len(sent), sent)
		}
		replies := map[string]string{}
		for _, m := range sent {
			// An answer asks "did this help?" with Yes/No reply buttons.
			body, buttons := interactiveBody(m)
			if m["messaging_product"] != "whatsapp" || m["type"] != "interactive" || len(buttons) != 2 ||
				!strings.HasSuffix(body, "Did this help?") {
				t.Errorf("sent %v, want a whatsapp answer with feedback buttons", m)
			}
			replies[m["to"].(string)] = body
		}
		if !strings.Contains(replies["4911111"], "Track your parcel") {
			t.Errorf("reply to 4911111 = %q, want the parcel answer", replies["4911111"])
		}
		if !strings.Contains(replies["4922222"], "Forgot password") {
			t.Errorf("reply to 4922222 = %q, want the password answer", replies["4922222"])
		}
		if strings.Contains(logs.String(), "a background service stopped before serve") {
			t.Errorf("a background service stopped on a default start:\n%s", logs.String())
		}
		if !strings.Contains(logs.String(), "WhatsApp channel on") {
			t.Errorf("serve's logs do not say the channel is on:\n%s", logs.String())
		}
		for _, secret := range []string{"wa-verify", "wa-secret", "wa-access"} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("serve's logs show %s", secret)
			}
		}
	})
}

// interactiveBody returns the body text and button titles of a sent
// interactive reply-button message.
func interactiveBody(m map[string]any) (string, []string) {
	in, _ := m["interactive"].(map[string]any)
	body, _ := in["body"].(map[string]any)
	text, _ := body["text"].(string)
	action, _ := in["action"].(map[string]any)
	bs, _ := action["buttons"].([]any)
	var titles []string
	for _, b := range bs {
		reply, _ := b.(map[string]any)["reply"].(map[string]any)
		title, _ := reply["title"].(string)
		titles = append(titles, title)
	}
	return text, titles
}

// A customer taps "No" under an answer: the assistant reads it as
// negative feedback and hands off; the entry points show the number the
// webhook reported; the metrics count the deliveries and webhook calls.
func TestWhatsAppFeedbackButtonsLinkAndMetrics(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	ingestFAQ(t, c)
	graph := &graphFake{}
	gs := httptest.NewServer(graph)
	t.Cleanup(gs.Close)
	whatsAppEnv(c, gs.URL)
	base := startServe(t, c)

	// Before any delivery the number is unknown.
	if code, body := get(t, base+"/v1/whatsapp/link?text=hi"); code != http.StatusServiceUnavailable ||
		!strings.Contains(body, "RELAIS_WHATSAPP_DISPLAY_NUMBER") {
		t.Errorf("link before a delivery: %d %s; want 503 naming the setting", code, body)
	}
	one := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"+1 555 000 0000","phone_number_id":"555"},
 "messages":[{"from":"4911111","id":"wamid.q1","timestamp":"1700000000","type":"text","text":{"body":"Where is my parcel?"}}]}}]}]}`
	if code := postWhatsApp(t, base, one, "wa-secret"); code != http.StatusOK {
		t.Fatalf("delivery: status %d", code)
	}
	waitSent(t, graph, 1)
	if _, buttons := interactiveBody(graph.messages()[0]); len(buttons) != 2 || buttons[1] != "No" {
		t.Fatalf("answer %v, want Yes/No buttons", graph.messages()[0])
	}
	tap := `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"+1 555 000 0000","phone_number_id":"555"},
 "messages":[{"from":"4911111","id":"wamid.q2","timestamp":"1700000010","type":"interactive",
   "interactive":{"type":"button_reply","button_reply":{"id":"relais.feedback.no","title":"No"}}}]}}]}]}`
	if code := postWhatsApp(t, base, tap, "wa-secret"); code != http.StatusOK {
		t.Fatalf("button tap: status %d", code)
	}
	waitSent(t, graph, 2)
	second := graph.messages()[1]
	text, _ := second["text"].(map[string]any)
	if body, _ := text["body"].(string); second["type"] != "text" || !strings.Contains(body, "member of our team") {
		t.Errorf("after No: sent %v, want the handoff notice", second)
	}

	code, body := get(t, base+"/v1/whatsapp/link?text=Bonjour%20!")
	if code != 200 || !strings.Contains(body, `"url":"https://wa.me/15550000000?text=Bonjour%20%21"`) {
		t.Errorf("link: %d %s", code, body)
	}
	if code, body := get(t, base+"/v1/whatsapp/qr.png?text=hi&size=200"); code != 200 || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("qr.png: %d, %d bytes", code, len(body))
	}
	// The Graph API has the second message before the dispatcher records
	// it as sent: give the record a moment.
	var metrics string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		_, metrics = get(t, base+"/metrics")
		if (strings.Contains(metrics, `relais_outbox_pending{channel="whatsapp"} 0`) &&
			strings.Contains(metrics, `relais_outbox_deliveries_total{channel="whatsapp",result="sent"} 2`)) || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{
		`relais_outbox_deliveries_total{channel="whatsapp",result="sent"} 2`,
		`relais_outbox_pending{channel="whatsapp"} 0`,
		`relais_whatsapp_webhook_duration_seconds_count{method="POST",status="2xx"} 2`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func waitSent(t *testing.T, g *graphFake, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(g.messages()) < n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := len(g.messages()); got != n {
		t.Fatalf("Graph API got %d messages, want %d", got, n)
	}
}

func TestWhatsAppHandshakeThroughServe(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	whatsAppEnv(c, "http://127.0.0.1:1")
	base := startServe(t, c)
	for _, tt := range []struct {
		token string
		code  int
	}{{"wa-verify", 200}, {"wrong", 403}} {
		resp, err := http.Get(base + "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=" + tt.token + "&hub.challenge=42")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || (tt.code == 200 && string(body) != "42") {
			t.Errorf("token %q: %d %q, want %d", tt.token, resp.StatusCode, body, tt.code)
		}
	}
}

func TestWhatsAppOffWhenUnset(t *testing.T) {
	t.Parallel()
	base := startServe(t, newCLI(t, "sqlite"))
	resp, err := http.Get(base + "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

func TestWhatsAppPartlyConfiguredStopsServe(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	c.env["RELAIS_WHATSAPP_APP_SECRET"] = "wa-secret-value"
	c.env["RELAIS_WHATSAPP_VERIFY_TOKEN"] = "wa-verify-value"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, stderr, err := c.run(ctx, "serve", "--addr", "127.0.0.1:0")
	if err == nil {
		t.Fatal("serve started with half a WhatsApp configuration")
	}
	msg := err.Error() + stderr
	for _, want := range []string{"RELAIS_WHATSAPP_ACCESS_TOKEN", "RELAIS_WHATSAPP_PHONE_NUMBER_ID"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %s", msg, want)
		}
	}
	for _, secret := range []string{"wa-secret-value", "wa-verify-value"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q shows a secret", msg)
		}
	}
}

func TestWhatsAppDisplayNumber(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	whatsAppEnv(c, "http://127.0.0.1:1")
	c.env["RELAIS_WHATSAPP_DISPLAY_NUMBER"] = "06 12 34 56 78"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, stderr, err := c.run(ctx, "serve", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error()+stderr, "RELAIS_WHATSAPP_DISPLAY_NUMBER") {
		t.Fatalf("serve with a number without country code: %v %s; want an error naming the setting", err, stderr)
	}

	c = newCLI(t, "sqlite")
	whatsAppEnv(c, "http://127.0.0.1:1")
	c.env["RELAIS_WHATSAPP_DISPLAY_NUMBER"] = "+33 6 12 34 56 78"
	base := startServe(t, c)
	if code, body := get(t, base+"/v1/whatsapp/link"); code != 200 || !strings.Contains(body, `"https://wa.me/33612345678"`) {
		t.Errorf("link: %d %s", code, body)
	}
}

// Two serve replicas on one PostgreSQL database receive the same delivery
// at the same moment, five times over: each customer gets one reply.
func TestWhatsAppTwoReplicasReplyOnce(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "postgres")
	ingestFAQ(t, c)
	graph := &graphFake{}
	gs := httptest.NewServer(graph)
	t.Cleanup(gs.Close)
	whatsAppEnv(c, gs.URL)
	other := &cli{t: t, env: maps.Clone(c.env)}
	replicas := []string{startServe(t, c), startServe(t, other)}

	mac := hmac.New(sha256.New, []byte("wa-secret"))
	mac.Write([]byte(whatsAppBatch))
	signature := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	start := make(chan struct{})
	codes := make(chan int, 10)
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", replicas[i%2]+"/webhooks/whatsapp", strings.NewReader(whatsAppBatch))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Hub-Signature-256", signature)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("a delivery got %d, want 200", code)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(graph.messages()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // a second reply would show up by now
	sent := graph.messages()
	to := map[string]int{}
	for _, m := range sent {
		recipient, _ := m["to"].(string)
		to[recipient]++
	}
	if len(sent) != 2 || to["4911111"] != 1 || to["4922222"] != 1 {
		t.Errorf("Graph API got %d messages (%v by recipient), want one reply to each of the two customers", len(sent), to)
	}
}

func TestWhatsAppWorkersSetting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		value   string
		want    int
		wantErr bool
	}{{"", 0, false}, {"4", 4, false}, {"-1", 0, true}, {"2000", 0, true}, {"many", 0, true}} {
		vars := map[string]string{
			"RELAIS_WHATSAPP_VERIFY_TOKEN": "v", "RELAIS_WHATSAPP_APP_SECRET": "s",
			"RELAIS_WHATSAPP_ACCESS_TOKEN": "a", "RELAIS_WHATSAPP_PHONE_NUMBER_ID": "1",
			"RELAIS_WHATSAPP_WORKERS": tt.value,
		}
		cfg, err := loadConfig(env{getenv: func(k string) string { return vars[k] }})
		if err == nil {
			_, err = cfg.validate()
		}
		switch {
		case tt.wantErr && (err == nil || !strings.Contains(err.Error(), "RELAIS_WHATSAPP_WORKERS")):
			t.Errorf("RELAIS_WHATSAPP_WORKERS=%q: error %v, want one naming the variable", tt.value, err)
		case !tt.wantErr && err != nil:
			t.Errorf("RELAIS_WHATSAPP_WORKERS=%q: %v", tt.value, err)
		case !tt.wantErr && cfg.WhatsApp.Workers != tt.want:
			t.Errorf("RELAIS_WHATSAPP_WORKERS=%q: workers %d, want %d", tt.value, cfg.WhatsApp.Workers, tt.want)
		}
	}
}

func TestWhatsAppWorkersDefault(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"offline pipeline: one per core", Config{}, runtime.GOMAXPROCS(0)},
		{"chat model: the turns wait on it", Config{ChatModel: "gpt"}, whatsapp.DefaultConcurrency},
		{"embedding model", Config{EmbeddingModel: "emb"}, whatsapp.DefaultConcurrency},
		{"set", Config{ChatModel: "gpt", WhatsApp: WhatsAppConfig{Workers: 3}}, 3},
	} {
		if got := tt.cfg.whatsAppWorkers(); got != tt.want {
			t.Errorf("%s: %d workers, want %d", tt.name, got, tt.want)
		}
	}
}
