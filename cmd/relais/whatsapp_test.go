package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
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
			text, _ := m["text"].(map[string]any)
			body, _ := text["body"].(string)
			if m["messaging_product"] != "whatsapp" || m["type"] != "text" {
				t.Errorf("sent %v, want a whatsapp text message", m)
			}
			replies[m["to"].(string)] = body
		}
		if !strings.Contains(replies["4911111"], "Track your parcel") {
			t.Errorf("reply to 4911111 = %q, want the parcel answer", replies["4911111"])
		}
		if !strings.Contains(replies["4922222"], "Forgot password") {
			t.Errorf("reply to 4922222 = %q, want the password answer", replies["4922222"])
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
