package server

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWhatsAppWebhookIsMountedOutsideAuth(t *testing.T) {
	t.Parallel()
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tt := range []struct {
		name string
		h    http.Handler
		want int
	}{{"off", nil, http.StatusNotFound}, {"on", hook, http.StatusTeapot}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := New(Config{WhatsApp: tt.h})
			for _, method := range []string{"GET", "POST"} {
				rr := httptest.NewRecorder()
				srv.ServeHTTP(rr, httptest.NewRequest(method, "/webhooks/whatsapp", nil))
				if rr.Code != tt.want {
					t.Errorf("%s: status %d, want %d", method, rr.Code, tt.want)
				}
			}
		})
	}
}

func TestWhatsAppEntryIsPublicAndOptional(t *testing.T) {
	t.Parallel()
	entry := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tt := range []struct {
		name string
		h    http.Handler
		want int
	}{{"off", nil, http.StatusNotFound}, {"on", entry, http.StatusTeapot}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := New(Config{WhatsAppEntry: tt.h, Auth: NewStaticToken("secret-admin-token")})
			for _, path := range []string{"/v1/whatsapp/link?text=hi", "/v1/whatsapp/qr.png"} {
				rr := httptest.NewRecorder()
				srv.ServeHTTP(rr, httptest.NewRequest("GET", path, nil)) // no token
				if rr.Code != tt.want {
					t.Errorf("%s: status %d, want %d", path, rr.Code, tt.want)
				}
			}
		})
	}
}

func TestWhatsAppWebhookLatencyIsMeasured(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	hook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	srv := New(Config{WhatsApp: hook, Metrics: m})
	for _, method := range []string{"GET", "GET", "POST"} {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/webhooks/whatsapp", nil))
	}
	if got := m.webhook.Count("GET", "2xx"); got != 2 {
		t.Errorf("GET 2xx observed %d times, want 2", got)
	}
	if got := m.webhook.Count("POST", "4xx"); got != 1 {
		t.Errorf("POST 4xx observed %d times, want 1", got)
	}
	var b strings.Builder
	if err := m.Registry.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE relais_whatsapp_webhook_duration_seconds histogram",
		`relais_whatsapp_webhook_duration_seconds_count{method="GET",status="2xx"} 2`,
		`relais_whatsapp_webhook_duration_seconds_bucket{method="POST",status="4xx",le="+Inf"} 1`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// pendingCounts is a fixed conversation.OutboxDepth.
type pendingCounts struct {
	counts map[string]int
	err    error
}

func (p pendingCounts) PendingByChannel(context.Context) (map[string]int, error) {
	return p.counts, p.err
}

func TestOutboxMetrics(t *testing.T) {
	t.Parallel()
	m := NewMetrics()
	m.WatchOutbox(pendingCounts{counts: map[string]int{"webchat": 3}}, []string{"whatsapp"}, nil)
	m.ObserveDelivery("whatsapp", "sent")
	m.ObserveDelivery("whatsapp", "sent")
	m.ObserveDelivery("whatsapp", "retry")
	m.ObserveDelivery("whatsapp", "failed")
	var b strings.Builder
	if err := m.Registry.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"# TYPE relais_outbox_deliveries_total counter",
		`relais_outbox_deliveries_total{channel="whatsapp",result="sent"} 2`,
		`relais_outbox_deliveries_total{channel="whatsapp",result="retry"} 1`,
		`relais_outbox_deliveries_total{channel="whatsapp",result="failed"} 1`,
		"# TYPE relais_outbox_pending gauge",
		`relais_outbox_pending{channel="whatsapp"} 0`, // configured, none waiting
		`relais_outbox_pending{channel="webchat"} 3`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
	// A count that fails leaves the gauge without samples.
	m2 := NewMetrics()
	m2.WatchOutbox(pendingCounts{err: errors.New("database is down")}, []string{"whatsapp"}, nil)
	b.Reset()
	if err := m2.Registry.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "relais_outbox_pending{") {
		t.Errorf("a failed count was shown:\n%s", b.String())
	}
}

func TestWebChatIsMountedOutsideAuth(t *testing.T) {
	t.Parallel()
	chat := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	for _, tt := range []struct {
		name string
		h    http.Handler
		want int
	}{{"off", nil, http.StatusNotFound}, {"on", chat, http.StatusTeapot}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := New(Config{WebChat: tt.h})
			for _, target := range []string{"GET /chat", "GET /chat/widget.js", "POST /chat/api/messages", "GET /chat/api/events"} {
				method, path, _ := strings.Cut(target, " ")
				rr := httptest.NewRecorder()
				srv.ServeHTTP(rr, httptest.NewRequest(method, path, nil))
				if rr.Code != tt.want {
					t.Errorf("%s: status %d, want %d", target, rr.Code, tt.want)
				}
			}
		})
	}
}
