package main

import (
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/relais-ai/relais/server"
)

// serviceURL is one address a person needs, printed when serve starts.
type serviceURL struct {
	name string
	url  string
	note string
}

// serviceURLs lists what serve answers on: the console, the API and its
// description, the web chat and the WhatsApp webhook when they are on,
// and the metrics, on their own address when metrics is not nil.
func serviceURLs(addr, metrics net.Addr, webChat, whatsApp bool) []serviceURL {
	base := baseURL(addr)
	urls := []serviceURL{
		{"console", base + server.ConsolePath, "agents and knowledge managers; sign in with a token"},
		{"API", base + "/v1/", "bearer token; described at " + base + "/openapi.json"},
	}
	if webChat {
		urls = append(urls, serviceURL{"web chat", base + "/chat", "embed with <script src=\"" + base + "/chat/widget.js\">"})
	}
	if whatsApp {
		urls = append(urls, serviceURL{"WhatsApp", base + "/webhooks/whatsapp", "the webhook to give Meta, behind your public HTTPS address"})
	}
	if metrics != nil {
		urls = append(urls, serviceURL{"metrics", baseURL(metrics) + "/metrics", ""})
	} else {
		urls = append(urls, serviceURL{"metrics", base + "/metrics", ""})
	}
	return urls
}

// baseURL is the URL of a listening address as a person on this machine
// would type it: an address listening on every interface (":8080") is
// reached at localhost.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printURLs writes the URLs as an aligned list.
func printURLs(w io.Writer, urls []serviceURL) {
	var b strings.Builder
	b.WriteString("Relais is ready:\n")
	for _, u := range urls {
		fmt.Fprintf(&b, "  %-9s %s", u.name, u.url)
		if u.note != "" {
			fmt.Fprintf(&b, "  (%s)", u.note)
		}
		b.WriteByte('\n')
	}
	io.WriteString(w, b.String())
}
