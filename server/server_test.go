package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/handoff"
)

const testToken = "test-token"

// noTickets is a handoff store with no ticket, for the event stream.
type noTickets struct{ handoff.Store }

func (noTickets) Tickets(ctx context.Context, f handoff.Filter) ([]handoff.Ticket, error) {
	return nil, nil
}

// TestSlowBodyIsCut: a client that trickles its body (slowloris) has its
// connection closed once the request's time is up, instead of holding it,
// and a goroutine, for as long as it keeps sending.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	srv := httptest.NewServer(New(Config{Auth: NewStaticToken(testToken), RequestTimeout: timeout}))
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /v1/messages HTTP/1.1\r\nHost: relais\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n", testToken)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response to a trickled body after %v: %v", time.Since(start), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("status %d, want 408", resp.StatusCode)
	}
	if took > timeout+2*time.Second {
		t.Errorf("answered after %v, want about %v", took, timeout)
	}
	// The connection is closed: the rest of the body is not waited for.
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open")
	}
}

// TestEventStreamOutlivesDeadlines: the event stream extends its write
// deadline as it goes, so it is not cut when an ordinary request's time
// is up.
func TestEventStreamOutlivesDeadlines(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Config{
		Auth: NewStaticToken(testToken), Handoffs: noTickets{},
		RequestTimeout: 100 * time.Millisecond, EventKeepalive: 50 * time.Millisecond,
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	lines := bufio.NewScanner(resp.Body)
	keepalives := 0
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && lines.Scan() {
		if strings.HasPrefix(lines.Text(), ": keepalive") {
			keepalives++
		}
	}
	if err := lines.Err(); err != nil || time.Now().Before(deadline) {
		t.Fatalf("the stream ended after %d keepalives: %v", keepalives, err)
	}
	if keepalives < 5 {
		t.Errorf("%d keepalives in 1s, want them every 50ms", keepalives)
	}
}

// TestRootRedirectsToConsole: a person opening the bare address is sent
// to the console, which is served there.
func TestRootRedirectsToConsole(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Config{Auth: NewStaticToken(testToken)}))
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != ConsolePath {
		t.Fatalf("GET / = %d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), ConsolePath)
	}
	resp, err = http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/console/console.js") {
		t.Errorf("following the redirect: status %d, body %.200q; want the console's page", resp.StatusCode, body)
	}
}

// TestKnowledgeConsolePage: the knowledge console is served at its own
// path, with the console's strict CSP.
func TestKnowledgeConsolePage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(New(Config{Auth: NewStaticToken(testToken)}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/console/knowledge")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/console/knowledge.js") {
		t.Fatalf("GET /console/knowledge: status %d, body %.200q; want the knowledge console's page", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Content-Security-Policy"); got != consoleCSP {
		t.Errorf("CSP = %q, want %q", got, consoleCSP)
	}
}
