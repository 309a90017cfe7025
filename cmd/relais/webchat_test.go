package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shot saves what the page shows in a viewport of width x height CSS
// pixels, as a customer's screen would: the chat is a fixed-height app,
// so a full-page capture would not show what they see.
func (c *cdp) shot(path string, width, height int) {
	c.t.Helper()
	c.call("Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600,
	})
	time.Sleep(400 * time.Millisecond) // relayout
	raw := c.call("Page.captureScreenshot", map[string]any{"format": "png"})
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
}

// TestWebChatInBrowser is a customer on the web chat in a real browser: they
// ask, get an answer with its source's title, say it helped with the
// button, ask for a person, and see the agent's reply (sent through the API)
// arrive without reloading; a reload keeps the conversation. Then the widget
// on a shop's page opens the chat in its frame.
// RELAIS_WEBCHAT_SCREENSHOTS=dir saves desktop (1280x800) and phone
// (390x844) screenshots.
func TestWebChatInBrowser(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	ingestFAQ(t, c)
	kb := t.TempDir()
	writeFile(t, kb, "kb.jsonl", markdownChatKB)
	c.mustRun("ingest", kb)
	alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}

	var base string
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, shopPage, base)
	}))
	t.Cleanup(shop.Close)
	c.env["RELAIS_WEBCHAT_ORIGINS"] = shop.URL
	base = startServe(t, c, "--webchat")
	alice.base = base

	shots := os.Getenv("RELAIS_WEBCHAT_SCREENSHOTS")
	b := launchChromium(t)
	b.call("Page.navigate", map[string]any{"url": base + "/chat?lang=en"})
	// Ready: its script has run, so a message is sent by it, not by a
	// plain form submission that reloads the page.
	b.waitFor("the chat page", `document.documentElement && document.documentElement.dataset.chat === "ready" && document.getElementById("status-text").textContent.includes("assistant")`, 15*time.Second)
	if shots != "" {
		b.shot(filepath.Join(shots, "chat-empty-desktop.png"), 1280, 800)
		b.shot(filepath.Join(shots, "chat-empty-phone.png"), 390, 844)
		b.call("Emulation.clearDeviceMetricsOverride", nil)
	}
	type_ := func(text string) {
		t.Helper()
		b.eval(`document.getElementById("text").value = ` + strconv.Quote(text) + `; document.getElementById("composer").requestSubmit(); true`)
	}

	// An answer, with the title of the article it cites.
	type_("How do I cancel my order?")
	b.waitFor("the answer", `document.querySelector(".msg.assistant[data-id] .bubble") &&
		document.querySelector(".msg.assistant[data-id] .bubble").textContent.includes("Cancel order")`, 15*time.Second)
	if got := string(b.eval(`document.querySelector(".msg.assistant[data-id] .source strong").textContent`)); got != `"How do I cancel my order?"` {
		t.Errorf("cited source shown as %s", got)
	}
	b.waitFor("the did-this-help buttons", `!document.getElementById("feedback").hidden`, 5*time.Second)
	if shots != "" {
		b.shot(filepath.Join(shots, "chat-answer-desktop.png"), 1280, 800)
		b.shot(filepath.Join(shots, "chat-answer-phone.png"), 390, 844)
		b.call("Emulation.clearDeviceMetricsOverride", nil)
	}
	b.eval(`document.querySelector('#feedback button[data-answer="Yes"]').click(); true`)
	b.waitFor("the thanks for the feedback", `document.getElementById("log").textContent.includes("Glad that helped")`, 15*time.Second)
	if got := string(b.eval(`document.getElementById("feedback").hidden`)); got != "true" {
		t.Errorf("feedback buttons still shown after the answer")
	}

	// A person, please: the page says the team will answer.
	type_("I want to talk to a human")
	b.waitFor("the handoff", `document.getElementById("status-text").textContent.includes("Waiting for a member of our team")`, 15*time.Second)

	status, v := alice.json("POST", "/v1/handoffs/claim", map[string]any{"queues": []string{}})
	if status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, v)
	}
	id := fmt.Sprint(v["id"])
	const reply = "Hello, Alice here. I have cancelled order 42 for you <b>now</b>."
	if status, v := alice.json("POST", "/v1/handoffs/"+id+"/messages", map[string]any{"text": reply}); status != http.StatusCreated {
		t.Fatalf("agent reply: %d %v", status, v)
	}
	// Live, over the event stream: no reload, no click.
	b.waitFor("the agent's reply, live", `[...document.querySelectorAll(".msg.agent .bubble")].some(e => e.textContent === `+strconv.Quote(reply)+`)`, 15*time.Second)
	if got := string(b.eval(`!document.querySelector("#log b")`)); got != "true" {
		t.Errorf("the agent's markup became markup in the page")
	}
	b.waitFor("the agent status", `document.getElementById("status-text").textContent.includes("talking with our team")`, 5*time.Second)
	if shots != "" {
		b.shot(filepath.Join(shots, "chat-agent-desktop.png"), 1280, 800)
		b.shot(filepath.Join(shots, "chat-agent-phone.png"), 390, 844)
		b.call("Emulation.clearDeviceMetricsOverride", nil)
	}

	// A reload keeps everything, the cited source included.
	b.call("Page.reload", nil)
	b.waitFor("the conversation after a reload", `[...document.querySelectorAll(".msg.agent .bubble")].some(e => e.textContent === `+strconv.Quote(reply)+`) &&
		document.querySelector(".msg.assistant[data-id] .source strong") &&
		document.querySelectorAll(".msg.customer").length === 3`, 15*time.Second)

	// In French, by the browser's language.
	b.call("Page.navigate", map[string]any{"url": base + "/chat?lang=fr"})
	b.waitFor("the French page", `document.documentElement && document.documentElement.lang === "fr" && document.getElementById("status-text") && document.getElementById("status-text").textContent.includes("équipe")`, 15*time.Second)

	// The widget on a shop's page: a bubble that opens the chat in a frame.
	b.call("Page.navigate", map[string]any{"url": shop.URL})
	b.waitFor("the chat bubble", `document.querySelector('button[aria-label="Chat with us"]')`, 15*time.Second)
	if shots != "" {
		b.shot(filepath.Join(shots, "widget-closed-desktop.png"), 1280, 800)
	}
	b.eval(`document.querySelector('button[aria-label="Chat with us"]').click(); true`)
	b.waitFor("the chat frame", `document.querySelector("iframe") && document.querySelector("iframe").src.startsWith(`+strconv.Quote(base+"/chat?embed=1")+`) &&
		document.querySelector('button[aria-expanded="true"]')`, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // the frame loads its transcript
	if shots != "" {
		b.shot(filepath.Join(shots, "widget-open-desktop.png"), 1280, 800)
		b.shot(filepath.Join(shots, "widget-open-phone.png"), 390, 844)
	}
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("base %s", base)
	}

	// An answer written in Markdown, for a new visitor: rendered as
	// paragraphs, bold and lists, its links opening apart, and the HTML and
	// script links in it left as the text they are.
	b.call("Network.clearBrowserCookies", nil)
	b.call("Page.navigate", map[string]any{"url": base + "/chat?lang=en"})
	b.waitFor("a fresh chat page", `document.documentElement && document.documentElement.dataset.chat === "ready" && document.querySelectorAll(".msg[data-id]").length === 0`, 15*time.Second)
	type_("How do I file a claim?")
	b.waitFor("the Markdown answer", `document.querySelector(".msg.assistant[data-id] .bubble li")`, 15*time.Second)
	// a is the answer's bubble (the page may greet first).
	checks := map[string]string{
		"bold":                 `a.querySelector("strong").textContent === "Claims > New claim"`,
		"wraps joined":         `a.querySelector("p").textContent.includes("attach your photos. Most claims get a first answer within two working days")`,
		"no marks left":        `!a.textContent.includes("**")`,
		"list":                 `[...a.querySelectorAll("ul li")].map(e => e.textContent).join("|") === "keep your receipts|note the date"`,
		"link":                 `(l => l.href === "https://example.com/claims" && l.rel === "noopener noreferrer" && l.target === "_blank" && l.textContent === "our guide")(a.querySelector("a"))`,
		"one link only":        `a.querySelectorAll("a").length === 1`,
		"HTML stays text":      `!document.querySelector("#log img") && a.textContent.includes("<img src=x onerror=")`,
		"page title untouched": `document.title !== "pwned"`,
	}
	for name, js := range checks {
		if got := string(b.eval(`(a => ` + js + `)([...document.querySelectorAll(".msg.assistant[data-id] .bubble")].pop())`)); got != "true" {
			t.Errorf("Markdown answer, %s: %s is %s", name, js, got)
		}
	}
}

// markdownChatKB is an answer in Markdown, hard-wrapped, with a link, a
// list, and HTML and a script link that must stay text.
const markdownChatKB = `{"id":"claims-new","title":"How do I file a claim?","body":"Open **Claims > New claim** in your account and\nattach your photos. Most claims get a first answer\nwithin two working days, see [our guide](https://example.com/claims).\n\n- keep your receipts\n- note the date\n\n<img src=x onerror=\"document.title='pwned'\"> [call us](javascript:document.title='pwned')","source":"kb"}
`

// shopPage is a shop's page with the widget's one script tag.
const shopPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Maison Lumière: lamps</title>
<style>
body { margin: 0; font-family: Georgia, serif; color: #2b2b2b; background: #faf7f2; }
header { padding: 18px 32px; background: #2b2b2b; color: #faf7f2; font-size: 22px; letter-spacing: .05em; }
main { max-width: 960px; margin: 32px auto; padding: 0 24px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 20px; }
.card { background: #fff; border-radius: 10px; padding: 16px; box-shadow: 0 2px 8px rgba(0,0,0,.06); }
.img { height: 140px; border-radius: 6px; background: linear-gradient(135deg, #f3d9a4, #d9a05b); margin-bottom: 10px; }
</style></head>
<body><header>MAISON LUMIÈRE</header>
<main><h1>Table lamps</h1><div class="grid">
<div class="card"><div class="img"></div>Atelier brass lamp<br><b>€129</b></div>
<div class="card"><div class="img"></div>Linen shade lamp<br><b>€89</b></div>
<div class="card"><div class="img"></div>Ceramic globe lamp<br><b>€149</b></div>
</div></main>
<script src="%s/chat/widget.js" async></script>
</body></html>`

func TestWebChatRotateKey(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	if out := c.mustRun("webchat", "rotate-key"); !strings.Contains(out, "generation 1 signs from now on") {
		t.Errorf("first rotation: %q", out)
	}
	if out := c.mustRun("webchat", "rotate-key", "--grace", "0"); !strings.Contains(out, "generation 2 signs from now on") {
		t.Errorf("second rotation: %q", out)
	}
	for _, args := range [][]string{
		{"webchat"},
		{"webchat", "rotate"},
		{"webchat", "rotate-key", "--grace", "-1h"},
		{"webchat", "rotate-key", "extra"},
	} {
		if _, _, err := c.run(t.Context(), args...); err == nil {
			t.Errorf("%q succeeded", args)
		}
	}
}

func TestWebChatOriginsConfig(t *testing.T) {
	t.Parallel()
	for origins, ok := range map[string]bool{
		"":                                   true,
		"https://shop.example":               true,
		"https://shop.example, http://a.b:8": true,
		"shop.example":                       false,
		"https://shop.example/page":          false,
		"ftp://shop.example":                 false,
		"https://shop.example?x=1":           false,
	} {
		cfg := defaultConfig()
		cfg.WebChatOrigins = origins
		if _, err := cfg.validate(); (err == nil) != ok {
			t.Errorf("RELAIS_WEBCHAT_ORIGINS=%q: validate error %v, want ok=%v", origins, err, ok)
		}
	}
}
