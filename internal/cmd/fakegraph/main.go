// Command fakegraph is a stand-in for the WhatsApp Cloud API's messages
// endpoint, for trying the WhatsApp channel without a Meta account: point
// RELAIS_WHATSAPP_API_BASE at it and it prints every message serve sends,
// answering as the Graph API does (a wamid per message).
//
//	go run ./internal/cmd/fakegraph -addr 127.0.0.1:9090
//
// It checks the request the way the Graph API would (the path names the
// phone number id, a bearer token, a WhatsApp message body) and refuses
// anything else with a Graph error. It is for a developer's machine only.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync/atomic"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "address to listen on")
	flag.Parse()
	var n atomic.Int64
	http.HandleFunc("POST /{version}/{phone}/messages", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Product string `json:"messaging_product"`
			To      string `json:"to"`
			Type    string `json:"type"`
			Text    struct {
				Body string `json:"body"`
			} `json:"text"`
			Interactive struct {
				Body struct {
					Text string `json:"text"`
				} `json:"body"`
				Action struct {
					Buttons []struct {
						Reply struct {
							Title string `json:"title"`
						} `json:"reply"`
					} `json:"buttons"`
				} `json:"action"`
			} `json:"interactive"`
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err == nil {
			err = json.Unmarshal(body, &m)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") || err != nil || m.Product != "whatsapp" || m.To == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}`)
			log.Printf("refused a request to %s: not a WhatsApp message with a bearer token", r.URL.Path)
			return
		}
		id := n.Add(1)
		switch m.Type {
		case "interactive":
			var titles []string
			for _, b := range m.Interactive.Action.Buttons {
				titles = append(titles, "["+b.Reply.Title+"]")
			}
			log.Printf("to %s (phone number id %s): %s %s", m.To, r.PathValue("phone"), m.Interactive.Body.Text, strings.Join(titles, " "))
		default:
			log.Printf("to %s (phone number id %s): %s", m.To, r.PathValue("phone"), m.Text.Body)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.fake%d"}]}`, m.To, m.To, id)
	})
	log.Printf("fake Graph API on http://%s: set RELAIS_WHATSAPP_API_BASE=http://%s/v21.0", *addr, *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
