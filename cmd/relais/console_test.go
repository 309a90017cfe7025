package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// The agent console's end-to-end test drives a real headless Chromium over
// the DevTools protocol (CDP): a dozen lines of JSON over a websocket, so
// no npm, no driver binary, no new module.

const chromiumHint = "install it with 'sudo bash scripts/install-chromium.sh' (make deps does), or point RELAIS_CHROMIUM at a Chromium binary"

// findChromium returns the browser to drive; the test fails without one.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("RELAIS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("chromium not found: %s", chromiumHint)
	return ""
}

// cdp is a minimal Chrome DevTools protocol client for one page: calls are
// synchronous and events are dropped.
type cdp struct {
	t      *testing.T
	ws     *websocket.Conn
	port   string // the browser's DevTools port, to open more pages
	mu     sync.Mutex
	nextID int
}

// launchChromium starts a headless Chromium with a throwaway profile, and
// connects to its first page. The browser is killed when the test ends.
func launchChromium(t *testing.T) *cdp {
	t.Helper()
	bin := findChromium(t)
	profile := t.TempDir()
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "--remote-allow-origins=http://127.0.0.1",
		"--hide-scrollbars", "--window-size=1280,900", "about:blank")
	// Its own process group: the renderers and helpers go with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v (%s)", bin, err, chromiumHint)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Error("chromium did not exit within 10s of SIGKILL")
		}
	})

	// Chromium writes the port it chose, then the browser target's path.
	var port string
	deadline := time.Now().Add(20 * time.Second)
	for port == "" {
		if raw, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			if lines := strings.SplitN(string(raw), "\n", 2); len(lines) == 2 && lines[0] != "" {
				port = lines[0]
				break
			}
		}
		select {
		case <-exited:
			t.Fatalf("chromium exited before it listened:\n%s", stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromium wrote no DevToolsActivePort within 20s:\n%s", stderr.String())
		}
	}

	client := &http.Client{Timeout: 5 * time.Second}
	var wsURL string
	for wsURL == "" {
		resp, err := client.Get("http://127.0.0.1:" + port + "/json/list")
		if err == nil {
			var targets []struct {
				Type                 string `json:"type"`
				WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
			}
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, tg := range targets {
				if tg.Type == "page" && wsURL == "" {
					wsURL = tg.WebSocketDebuggerURL
				}
			}
		}
		if wsURL == "" && time.Now().After(deadline) {
			t.Fatalf("no page target in chromium within 20s: %v", err)
		}
		if wsURL == "" {
			time.Sleep(100 * time.Millisecond)
		}
	}
	return dialPage(t, port, wsURL)
}

// dialPage connects to one page of the browser at DevTools port.
func dialPage(t *testing.T, port, wsURL string) *cdp {
	t.Helper()
	ws, err := websocket.Dial(wsURL, "", "http://127.0.0.1")
	if err != nil {
		t.Fatalf("connect to chromium's page: %v", err)
	}
	ws.MaxPayloadBytes = 64 << 20 // screenshots
	t.Cleanup(func() { ws.Close() })
	c := &cdp{t: t, ws: ws, port: port}
	c.call("Page.enable", nil)
	c.call("Runtime.enable", nil)
	return c
}

// newPage opens another page (a tab) in c's browser: same profile, its
// own sessionStorage, as when an agent opens the console twice.
func (c *cdp) newPage() *cdp {
	c.t.Helper()
	req, _ := http.NewRequest("PUT", "http://127.0.0.1:"+c.port+"/json/new?about:blank", nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		c.t.Fatalf("open a page in chromium: %v", err)
	}
	defer resp.Body.Close()
	var tg struct {
		WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tg); err != nil || tg.WebSocketDebuggerURL == "" {
		c.t.Fatalf("open a page in chromium: %d %v", resp.StatusCode, err)
	}
	return dialPage(c.t, c.port, tg.WebSocketDebuggerURL)
}

// login opens the console at base and logs in with token.
func (c *cdp) login(base, token string) {
	c.t.Helper()
	c.call("Page.navigate", map[string]any{"url": base + "/console"})
	c.waitFor("the login form", `document.getElementById("login-view") && !document.getElementById("login-view").hidden`, 15*time.Second)
	c.eval(`document.getElementById("token").value = ` + strconv.Quote(token) + `; document.getElementById("login").click(); true`)
}

// call sends one CDP command and returns its result.
func (c *cdp) call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nextID++
	id := c.nextID
	if params == nil {
		params = struct{}{}
	}
	if err := c.ws.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		c.t.Fatal(err)
	}
	if err := websocket.JSON.Send(c.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		c.t.Fatalf("cdp %s: send: %v", method, err)
	}
	for {
		var msg struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := websocket.JSON.Receive(c.ws, &msg); err != nil {
			c.t.Fatalf("cdp %s: receive: %v", method, err)
		}
		if msg.ID != id {
			continue // an event, or nothing we wait for
		}
		if msg.Error != nil {
			c.t.Fatalf("cdp %s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// eval runs a JavaScript expression in the page and returns its value as
// JSON; a thrown exception fails the test.
func (c *cdp) eval(expr string) json.RawMessage {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	raw := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err := json.Unmarshal(raw, &res); err != nil {
		c.t.Fatalf("evaluate %q: %v", expr, err)
	}
	if e := res.ExceptionDetails; e != nil {
		c.t.Fatalf("evaluate %q: %s %s", expr, e.Text, e.Exception.Description)
	}
	return res.Result.Value
}

// waitFor polls a boolean expression until it holds, or fails the test
// with what the page shows.
func (c *cdp) waitFor(what, expr string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if string(c.eval("!!("+expr+")")) == "true" {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: not within %v; page status %s, body:\n%s", what, timeout,
				c.eval(`document.getElementById("status") && document.getElementById("status").textContent`),
				c.eval(`document.body ? document.body.innerText.slice(0, 3000) : ""`))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot saves the page at width CSS pixels, its full height.
// screens saves the page as name-laptop.png (1280 px) and name-phone.png
// (375 px) in the folder RELAIS_CONSOLE_SCREENSHOTS names, when it names
// one: the console tests' screenshots, to look at.
func (c *cdp) screens(name string) {
	c.t.Helper()
	dir := os.Getenv("RELAIS_CONSOLE_SCREENSHOTS")
	if dir == "" {
		return
	}
	c.screenshot(filepath.Join(dir, name+"-laptop.png"), 1280)
	c.screenshot(filepath.Join(dir, name+"-phone.png"), 375)
}

func (c *cdp) screenshot(path string, width int) {
	c.t.Helper()
	c.screenshotAt(path, width, 900)
}

// screenshotAt saves the page in a width x height viewport, its full
// height.
func (c *cdp) screenshotAt(path string, width, height int) {
	c.t.Helper()
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
	})
	time.Sleep(300 * time.Millisecond) // relayout
	raw := c.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true})
	var res struct {
		Data string `json:"data"`
	}
	if err := json.Unmarshal(raw, &res); err != nil {
		c.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		c.t.Fatal(err)
	}
	c.call("Emulation.clearDeviceMetricsOverride", nil)
}

// sseEvents reads /v1/events with a ticket in the query, as the console's
// EventSource does, and returns a function listing the event names seen
// so far.
func sseEvents(t *testing.T, a apiClient) func() []string {
	t.Helper()
	status, v := a.json("POST", "/v1/events/ticket", nil)
	if status != http.StatusOK {
		t.Fatalf("POST /v1/events/ticket: %d %v", status, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", a.base+"/v1/events?ticket="+url.QueryEscape(v["ticket"].(string)), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("GET /v1/events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var mu sync.Mutex
	var seen []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				mu.Lock()
				seen = append(seen, name)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

func waitUntil(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestConsoleInBrowser works a handoff through the agent console in a real
// browser: log in with a token, claim, read the escaped transcript, insert
// a suggested article, reply, see the customer's answer arrive live, and
// resolve; the JSON API then shows the reply stored and the ticket closed.
// RELAIS_CONSOLE_SCREENSHOTS=dir also saves laptop and phone screenshots.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	ingestFAQ(t, c)
	alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
	editor := apiClient{t: t, token: createToken(t, c, "editor", "ed")}
	base := startServe(t, c)
	alice.base, editor.base = base, base
	// The customer's channel posts with the editor's token: any valid one may.
	say := func(conv float64, text string) map[string]any { return editor.say("c1", conv, text) }

	// The console's SSE auth: a ticket works, a bad one does not, and the
	// token itself is kept out of URLs.
	for _, query := range []string{"?ticket=nope", "?token=" + url.QueryEscape(alice.token)} {
		if resp, err := http.Get(base + "/v1/events" + query); err != nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("events with %s: %v %v", query, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	events := sseEvents(t, alice)
	time.Sleep(2500 * time.Millisecond) // the hub's first poll records the empty queue

	v := say(0, "How do I cancel my order?")
	conv := v["conversation_id"].(float64)
	// Unclear questions end in a handoff whose ticket suggests the articles
	// the assistant was unsure of.
	for i := 0; v["action"] != "handoff"; i++ {
		if i == 4 {
			t.Fatalf("no handoff after %d unclear questions: %v", i, v)
		}
		v = say(conv, "the order thing, you know")
	}
	id := v["handoff_id"].(string)
	status, v := alice.json("GET", "/v1/handoffs/stats", nil)
	if qs, _ := v["queues"].([]any); status != http.StatusOK || len(qs) != 1 || qs[0].(map[string]any)["waiting"] != 1.0 {
		t.Fatalf("stats: %d %v", status, v)
	}
	status, v = alice.json("GET", "/v1/handoffs/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("get handoff: %d %v", status, v)
	}
	suggestions, _ := v["suggested_articles"].([]any)
	waitUntil(t, "a ticket event on /v1/events", 10*time.Second, func() bool { return slices.Contains(events(), "ticket") })

	b := launchChromium(t)
	b.login(base, alice.token)
	b.waitFor("the queued ticket in the list", `document.querySelector('#ticket-list li[data-id="`+id+`"]')`, 15*time.Second)
	b.waitFor("the queue stats", `document.getElementById("queues").textContent.includes("general")`, 5*time.Second)
	b.waitFor("the live indicator", `document.getElementById("live").textContent === "live"`, 10*time.Second)
	// The open console reports alice online, and shows who is.
	b.waitFor("the presence selector", `!document.getElementById("presence").hidden && document.getElementById("team").textContent === "1 agent online"`, 10*time.Second)
	if status, v := alice.json("GET", "/v1/agents/presence", nil); status != http.StatusOK || v["online"] != 1.0 {
		t.Errorf("presence after the console opened: %d %v", status, v)
	}
	b.eval(`var p = document.getElementById("presence"); p.value = "away"; p.dispatchEvent(new Event("change")); true`)
	waitUntil(t, "alice away", 10*time.Second, func() bool {
		_, v := alice.json("GET", "/v1/agents/presence", nil)
		return v["online"] == 0.0
	})
	b.eval(`var p = document.getElementById("presence"); p.value = "online"; p.dispatchEvent(new Event("change")); true`)
	shots := os.Getenv("RELAIS_CONSOLE_SCREENSHOTS")
	if shots != "" {
		b.screenshot(filepath.Join(shots, "queue-laptop.png"), 1280)
		b.screenshot(filepath.Join(shots, "queue-phone.png"), 390)
	}

	b.eval(`document.getElementById("claim-next").click(); true`)
	b.waitFor("the claimed ticket", `document.getElementById("ticket").dataset.state === "claimed" &&
		document.getElementById("transcript").textContent.includes("the order thing, you know")`, 15*time.Second)
	if got := string(b.eval(`document.getElementById("summary").textContent.length > 0`)); got != "true" {
		t.Errorf("no summary shown")
	}
	if len(suggestions) == 0 {
		t.Errorf("the handoff has no suggested article: the insert button goes untested")
	} else {
		b.eval(`document.querySelector("#articles button").click(); true`)
		b.waitFor("the inserted article", `document.getElementById("reply").value.length > 10`, 10*time.Second)
	}
	if shots != "" {
		b.screenshot(filepath.Join(shots, "console-laptop.png"), 1280)
		b.screenshot(filepath.Join(shots, "console-phone.png"), 390)
	}

	// The same agent opens the console in a second tab: the ticket the
	// first claimed is listed there, from the server, and opened; a
	// reload keeps it.
	// Guarded: while a reload is under way there is no #ticket yet.
	shown := func(tid string) string {
		return `document.getElementById("ticket") && document.getElementById("ticket").dataset.id === "` + tid +
			`" && document.getElementById("ticket").dataset.state === "claimed"`
	}
	b2 := b.newPage()
	b2.login(base, alice.token)
	b2.waitFor("the first tab's ticket under my tickets", `document.querySelector('#mine li[data-id="`+id+`"]')`, 15*time.Second)
	b2.waitFor("the first tab's ticket opened in the second", shown(id), 10*time.Second)
	b2.call("Page.reload", nil)
	b2.waitFor("the ticket after a reload", shown(id)+` && document.querySelector('#mine li[data-id="`+id+`"]')`, 15*time.Second)

	// A second customer; the second tab claims them from the queue, and
	// the first tab lists both tickets and switches between them, keeping
	// each one's draft.
	v2 := editor.say("c2", 0, "How do I cancel my order?")
	for i := 0; v2["action"] != "handoff"; i++ {
		if i == 4 {
			t.Fatalf("no second handoff after %d unclear questions: %v", i, v2)
		}
		v2 = editor.say("c2", v2["conversation_id"].(float64), "the order thing, you know")
	}
	id2 := v2["handoff_id"].(string)
	b2.waitFor("the second customer waiting", `document.querySelector('#ticket-list li[data-id="`+id2+`"] button')`, 15*time.Second)
	b2.eval(`document.querySelector('#ticket-list li[data-id="` + id2 + `"] button').click(); true`)
	b2.waitFor("the second tab on its claim", shown(id2), 10*time.Second)
	b.waitFor("the other tab's claim under my tickets", `document.querySelector('#mine li[data-id="`+id2+`"] button')`, 15*time.Second)
	if got := string(b.eval(`document.getElementById("mine").children.length`)); got != "2" {
		t.Errorf("my tickets lists %s tickets, want 2", got)
	}
	b.eval(`document.querySelector('#mine li[data-id="` + id2 + `"] button').click(); true`)
	b.waitFor("the switch to the second ticket", shown(id2)+` && document.getElementById("reply").value === ""`, 10*time.Second)
	if shots != "" {
		b.screenshot(filepath.Join(shots, "mine-laptop.png"), 1280)
		b.screenshot(filepath.Join(shots, "mine-phone.png"), 390)
	}
	b.eval(`document.querySelector('#mine li[data-id="` + id + `"] button').click(); true`)
	b.waitFor("the switch back, the inserted article still drafted", shown(id)+` &&
		document.getElementById("transcript").textContent.includes("the order thing, you know") &&
		document.getElementById("reply").value.length > 10`, 10*time.Second)
	if status, v := alice.json("POST", "/v1/handoffs/"+id2+"/resolve", nil); status != http.StatusOK {
		t.Fatalf("resolve the second ticket: %d %v", status, v)
	}

	const reply = "Hello, Alice here from the console. Which order is it?"
	b.eval(`document.getElementById("reply").value = ` + strconv.Quote(reply) + `; document.getElementById("send").click(); true`)
	b.waitFor("the reply in the transcript", `document.getElementById("transcript").textContent.includes(`+strconv.Quote(reply)+`)`, 10*time.Second)

	// The customer answers: the console shows it without a click, within
	// the SSE path's few seconds (the 10 s poll is the fallback). Markup in
	// customer text shows as text, never as markup.
	const answer = `Order 42, please <img src=x onerror="document.title='pwned'"><b>bold</b>`
	say(conv, answer)
	b.waitFor("the customer's answer, live", `document.getElementById("transcript").textContent.includes(`+strconv.Quote(answer)+`)`, 12*time.Second)
	if got := string(b.eval(`!document.querySelector("#transcript img, #transcript b") && document.title !== "pwned"`)); got != "true" {
		t.Errorf("customer markup became markup in the transcript")
	}
	if shots != "" {
		b.screenshot(filepath.Join(shots, "reply-laptop.png"), 1280)
	}
	waitUntil(t, "a message event on /v1/events", 10*time.Second, func() bool { return slices.Contains(events(), "message") })

	b.eval(`document.getElementById("resolve").click(); true`)
	b.waitFor("the console back to no ticket", `!document.getElementById("no-ticket").hidden &&
		document.getElementById("status").textContent.includes("resolved")`, 10*time.Second)

	status, v = alice.json("GET", "/v1/handoffs/"+id, nil)
	if status != http.StatusOK || ticketOf(v)["state"] != "resolved" || ticketOf(v)["agent"] != "alice" {
		t.Fatalf("ticket after the console resolved it: %d %v", status, ticketOf(v))
	}
	if !transcriptHas(v, "agent", reply) {
		t.Errorf("the console's reply was not stored: %v", v["transcript"])
	}
}
