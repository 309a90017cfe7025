package server

import (
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
