package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relais-ai/relais/sqlite"
)

// mediaGraph is the fake Graph API of a WhatsApp customer who sends
// evidence: the messages endpoint of graphFake, and the media API
// (metadata at /v21.0/{id}, bytes at /files/{id}).
type mediaGraph struct {
	*graphFake
	srv   *httptest.Server
	files map[string]mediaFile
}

type mediaFile struct {
	mime    string
	content []byte
	size    int64 // announced size, when it differs from len(content)
}

func newMediaGraph(t *testing.T, files map[string]mediaFile) *mediaGraph {
	t.Helper()
	g := &mediaGraph{graphFake: &graphFake{}, files: files}
	mux := http.NewServeMux()
	mux.Handle("POST /v21.0/555/messages", g.graphFake)
	mux.HandleFunc("GET /v21.0/{id}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := g.files[r.PathValue("id")]
		if !ok || r.Header.Get("Authorization") != "Bearer wa-access" {
			http.NotFound(w, r)
			return
		}
		size := f.size
		if size == 0 {
			size = int64(len(f.content))
		}
		fmt.Fprintf(w, `{"url":%q,"mime_type":%q,"file_size":%d,"id":%q,"messaging_product":"whatsapp"}`,
			g.srv.URL+"/files/"+r.PathValue("id"), f.mime, size, r.PathValue("id"))
	})
	mux.HandleFunc("GET /files/{id}", func(w http.ResponseWriter, r *http.Request) {
		f, ok := g.files[r.PathValue("id")]
		if !ok || r.Header.Get("Authorization") != "Bearer wa-access" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", f.mime)
		w.Write(f.content)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

// damagePhoto is a PNG a customer might send: a car door with a dent.
func damagePhoto(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 480, 320))
	for y := range 320 {
		for x := range 480 {
			c := color.RGBA{R: 170, G: 200, B: 230, A: 255} // sky
			switch {
			case y > 120 && y < 280 && x > 40 && x < 440:
				c = color.RGBA{R: 160, G: 30, B: 40, A: 255} // the door
				if dx, dy := x-250, y-200; dx*dx+2*dy*dy < 2500 {
					c = color.RGBA{R: 90, G: 15, B: 20, A: 255} // the dent
				}
			case y >= 280:
				c = color.RGBA{R: 80, G: 80, B: 85, A: 255} // the road
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func whatsAppMessages(messages string) string {
	return `{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"555"},
 "contacts":[{"profile":{"name":"Ann"},"wa_id":"4911111"}],"messages":[` + messages + `]}}]}]}`
}

func whatsAppStatus(wamid, status, extra string) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
 "messaging_product":"whatsapp","metadata":{"display_phone_number":"15550000000","phone_number_id":"555"},
 "statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"4911111"%s}]}}]}]}`, wamid, status, time.Now().Unix(), extra)
}

// TestConsoleWhatsAppInBrowser: a WhatsApp customer sends a photo of the
// damage and documents; the conversation is handed off, and in the
// console the agent sees the photo as a thumbnail, downloads the document,
// sees the one too large to keep, the delivery of the messages sent and
// until when the customer can receive a reply. Once the customer's 24-hour
// window has closed, a reply is refused next to the reply box with the
// draft kept, and the reply box says why it is off.
// RELAIS_CONSOLE_SCREENSHOTS=dir saves desktop screenshots.
func TestConsoleWhatsAppInBrowser(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	photo := damagePhoto(t)
	pdf := []byte("%PDF-1.4\n% a repair quote\n" + strings.Repeat("0", 3000) + "\n%%EOF\n")
	graph := newMediaGraph(t, map[string]mediaFile{
		"photo1": {mime: "image/png", content: photo},
		"quote1": {mime: "application/pdf", content: pdf},
		"video1": {mime: "application/pdf", content: []byte("never fetched"), size: 64 << 20},
	})
	whatsAppEnv(c, graph.srv.URL)
	alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
	base := startServe(t, c)
	alice.base = base

	batch := whatsAppMessages(`
  {"from":"4911111","id":"wamid.p1","timestamp":"1700000000","type":"image","image":{"caption":"The dent on the door","mime_type":"image/png","id":"photo1"}},
  {"from":"4911111","id":"wamid.p2","timestamp":"1700000001","type":"document","document":{"filename":"repair-quote.pdf","mime_type":"application/pdf","id":"quote1"}},
  {"from":"4911111","id":"wamid.p3","timestamp":"1700000002","type":"document","document":{"caption":"The scan","filename":"scan.pdf","mime_type":"application/pdf","id":"video1"}}`)
	if code := postWhatsApp(t, base, batch, "wa-secret"); code != http.StatusOK {
		t.Fatalf("delivery: status %d", code)
	}
	// The photo hands the conversation off; once the documents are fetched
	// (or refused) the ticket shows all three.
	var id string
	waitUntil(t, "the handoff with its media fetched", 30*time.Second, func() bool {
		_, v := alice.json("GET", "/v1/handoffs?state=queued", nil)
		hs, _ := v["handoffs"].([]any)
		if len(hs) != 1 {
			return false
		}
		id = strconv.FormatFloat(hs[0].(map[string]any)["id"].(float64), 'f', -1, 64)
		_, v = alice.json("GET", "/v1/handoffs/"+id, nil)
		final := 0
		for _, m := range v["transcript"].([]any) {
			if md, ok := m.(map[string]any)["media"].(map[string]any); ok && md["status"] != "pending" {
				final++
			}
		}
		return final == 3
	})
	// The customer was told a person will answer, and read it.
	waitSent(t, graph.graphFake, 1)
	if code := postWhatsApp(t, base, whatsAppStatus("wamid.out1", "read", ""), "wa-secret"); code != http.StatusOK {
		t.Fatalf("status delivery: %d", code)
	}
	waitUntil(t, "the read status recorded", 10*time.Second, func() bool {
		_, v := alice.json("GET", "/v1/handoffs/"+id, nil)
		for _, m := range v["transcript"].([]any) {
			if d, ok := m.(map[string]any)["delivery"].(map[string]any); ok && d["status"] == "read" {
				return true
			}
		}
		return false
	})

	b := launchChromium(t)
	downloads := t.TempDir()
	b.call("Page.setDownloadBehavior", map[string]any{"behavior": "allow", "downloadPath": downloads})
	b.call("Page.navigate", map[string]any{"url": base + "/console"})
	b.waitFor("the login form", `document.getElementById("login-view") && !document.getElementById("login-view").hidden`, 15*time.Second)
	b.eval(`document.getElementById("token").value = ` + strconv.Quote(alice.token) + `; document.getElementById("login").click(); true`)
	b.waitFor("the queued ticket", `document.querySelector('#ticket-list li[data-id="`+id+`"]')`, 15*time.Second)
	b.eval(`document.getElementById("claim-next").click(); true`)
	b.waitFor("the claimed ticket", `document.getElementById("ticket").dataset.state === "claimed"`, 15*time.Second)

	// The photo, fetched with the token and shown from memory.
	b.waitFor("the photo's thumbnail", `(function () {
		var img = document.querySelector("#transcript img.thumb");
		return img && img.src.indexOf("blob:") === 0 && img.complete && img.naturalWidth === 480;
	})()`, 15*time.Second)
	checks := []struct{ what, expr string }{
		{"the photo's caption", `document.getElementById("transcript").textContent.includes("The dent on the door")`},
		{"the document with its name, type and size",
			`(function () { var d = document.querySelector("#transcript button.doc");
			  return d && d.textContent.includes("repair-quote.pdf") && d.textContent.includes("PDF") && d.textContent.includes("3 KB"); })()`},
		{"the file too large to keep",
			`document.querySelector("#transcript .media-note.bad").textContent.includes("scan.pdf") &&
			 document.querySelector("#transcript .media-note.bad").textContent.includes("64 MB): too large to keep")`},
		{"the notice read by the customer", `document.querySelector("#transcript .delivery-read").textContent.includes("Read")`},
		{"the reply window", `/^WhatsApp · Customer can receive replies until .* \(2[34] h \d+ min left\)\.$/.test(document.getElementById("reach").textContent) &&
			!document.getElementById("reach").hidden`},
		{"the reply box open", `!document.getElementById("reply").readOnly && !document.getElementById("send").disabled &&
			document.getElementById("reply-blocked").hidden`},
	}
	for _, ch := range checks {
		if got := string(b.eval(ch.expr)); got != "true" {
			t.Errorf("console does not show %s; transcript:\n%s", ch.what, b.eval(`document.getElementById("work").innerText`))
		}
	}

	// The document downloads under its name, with its content.
	b.eval(`document.querySelector("#transcript button.doc").click(); true`)
	waitUntil(t, "the downloaded document", 15*time.Second, func() bool {
		got, err := os.ReadFile(filepath.Join(downloads, "repair-quote.pdf"))
		return err == nil && bytes.Equal(got, pdf)
	})

	// The agent replies; WhatsApp reports it failed for good.
	b.eval(`document.getElementById("reply").value = "Thank you, we have your photo."; document.getElementById("send").click(); true`)
	waitSent(t, graph.graphFake, 2)
	failed := `,"errors":[{"code":131026,"title":"Message undeliverable"}]`
	if code := postWhatsApp(t, base, whatsAppStatus("wamid.out2", "failed", failed), "wa-secret"); code != http.StatusOK {
		t.Fatalf("status delivery: %d", code)
	}
	b.waitFor("the failed delivery and its reason", `(function () {
		var f = document.querySelector("#transcript .delivery-failed");
		return f && f.textContent.includes("Not delivered") && f.textContent.includes("131026");
	})()`, 20*time.Second)
	shots := os.Getenv("RELAIS_CONSOLE_SCREENSHOTS")
	if shots != "" {
		b.screenshotAt(filepath.Join(shots, "whatsapp-open-desktop.png"), 1280, 800)
	}

	// The agent writes a draft; meanwhile the customer's window closes
	// (the customer last wrote 25 hours ago, as the store now records).
	const draft = "Our expert can come on Monday at 10:00. Does that suit you?"
	b.eval(`document.getElementById("reply").value = ` + strconv.Quote(draft) + `; true`)
	closeWindow(t, c, "4911111", time.Now().Add(-25*time.Hour))
	b.eval(`document.getElementById("send").click(); true`)
	b.waitFor("the refusal next to the reply box", `!document.getElementById("reply-error").hidden &&
		document.getElementById("reply-error").textContent.includes("Not sent: WhatsApp's 24-hour window has closed") &&
		document.getElementById("reply-error").textContent.includes("Your draft is kept")`, 10*time.Second)
	b.waitFor("the reply box off, with its reason", `document.getElementById("reply").readOnly &&
		document.getElementById("send").disabled && !document.getElementById("reply-blocked").hidden &&
		document.getElementById("reply-blocked").textContent.includes("more than 24 hours ago") &&
		document.getElementById("reach").textContent.includes("Window closed: WhatsApp only allows templates now")`, 10*time.Second)
	if got := string(b.eval(`document.getElementById("reply").value`)); got != strconv.Quote(draft) {
		t.Errorf("the draft after the refusal is %s, want it kept", got)
	}
	if shots != "" {
		b.screenshotAt(filepath.Join(shots, "whatsapp-closed-desktop.png"), 1280, 800)
		b.screenshot(filepath.Join(shots, "whatsapp-closed-phone.png"), 390)
	}
	// Nothing was stored or sent of the refused reply.
	_, v := alice.json("GET", "/v1/handoffs/"+id, nil)
	if transcriptHas(v, "agent", draft) {
		t.Errorf("the refused reply was stored")
	}
	if n := len(graph.messages()); n != 2 {
		t.Errorf("Graph API got %d messages, want 2", n)
	}
}

// closeWindow records, in the embedded store of c, that customer last
// wrote at when: how a test moves a customer past the 24-hour window.
func closeWindow(t *testing.T, c *cli, customer string, when time.Time) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.env["RELAIS_DATA_DIR"], sqlite.FileName)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(`UPDATE customers SET last_inbound_at = ? WHERE channel = 'whatsapp' AND customer_id = ?`,
		when.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), customer)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("update the customer: %d rows, %v", n, err)
	}
}
