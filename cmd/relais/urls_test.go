package main

import (
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestServiceURLs(t *testing.T) {
	t.Parallel()
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	names := func(urls []serviceURL) []string {
		var out []string
		for _, u := range urls {
			out = append(out, u.name+" "+u.url)
		}
		return out
	}
	tests := []struct {
		name              string
		addr, metrics     net.Addr
		webChat, whatsApp bool
		want              []string
	}{
		{"every interface, defaults", tcp(":8080"), nil, false, false, []string{
			"console http://localhost:8080/console/", "API http://localhost:8080/v1/", "metrics http://localhost:8080/metrics"}},
		{"IPv6 any, channels on", tcp("[::]:8080"), nil, true, true, []string{
			"console http://localhost:8080/console/", "API http://localhost:8080/v1/", "web chat http://localhost:8080/chat",
			"WhatsApp http://localhost:8080/webhooks/whatsapp", "metrics http://localhost:8080/metrics"}},
		{"one interface, metrics apart", tcp("127.0.0.1:9000"), tcp("127.0.0.1:9090"), true, false, []string{
			"console http://127.0.0.1:9000/console/", "API http://127.0.0.1:9000/v1/", "web chat http://127.0.0.1:9000/chat",
			"metrics http://127.0.0.1:9090/metrics"}},
		{"IPv6 loopback", tcp("[::1]:8080"), nil, false, false, []string{
			"console http://[::1]:8080/console/", "API http://[::1]:8080/v1/", "metrics http://[::1]:8080/metrics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := names(serviceURLs(tt.addr, tt.metrics, tt.webChat, tt.whatsApp))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("serviceURLs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestServePrintsURLs: serve --demo prints the URLs a newcomer needs, and
// each one answers; the bare address leads to the console.
func TestServePrintsURLs(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	var logs lockedBuffer
	c.logs = &logs
	base := startServe(t, c, "--demo")
	printed := logs.String()
	want := map[string]string{}
	line := regexp.MustCompile(`(?m)^  (console|API|web chat|metrics)\s+(http://\S+)`)
	for _, m := range line.FindAllStringSubmatch(printed, -1) {
		want[m[1]] = m[2]
	}
	if len(want) != 4 {
		t.Fatalf("serve printed %d of the 4 URLs (console, API, web chat, metrics):\n%s", len(want), printed)
	}
	port := base[strings.LastIndex(base, ":"):]
	for name, u := range want {
		if !strings.HasSuffix(strings.SplitN(strings.TrimPrefix(u, "http://"), "/", 2)[0], port) {
			t.Errorf("%s URL %s is not on serve's port %s", name, u, port)
		}
		if name == "API" {
			continue // every API route needs a token; its root is no page
		}
		resp, err := http.Get(strings.Replace(u, "localhost", "127.0.0.1", 1))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s at %s: status %d", name, u, resp.StatusCode)
		}
	}
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/console/" {
		t.Errorf("GET / ended at %s with %d, want the console", resp.Request.URL.Path, resp.StatusCode)
	}
}
