package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAgentConsoleWorkingDay works the rest of an agent's day in a real
// browser: the customer panel with the customer's earlier questions, a
// claim seen from a second tab, a quick reply offered on "/", a label, a
// reassignment to a colleague chosen from the list, the colleague
// resolving with an article and a note, the resolved history searched, the
// console in French, the admins' team settings, and the count of new
// customers in the tab's title. RELAIS_CONSOLE_SCREENSHOTS=dir saves every
// screen at 1280 and 375 pixels.
func TestAgentConsoleWorkingDay(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	ingestFAQ(t, c)
	alice := apiClient{t: t, token: createToken(t, c, "agent", "alice")}
	bob := apiClient{t: t, token: createToken(t, c, "agent", "bob")}
	channel := apiClient{t: t, token: createToken(t, c, "editor", "ed")}
	base := startServe(t, c)
	admin := apiClient{t: t, token: testToken, base: base}
	alice.base, bob.base, channel.base = base, base, base

	// The admin prepares quick replies and labels.
	const hello = "Hello, this is the support team. How can I help?"
	for _, q := range []map[string]any{{"shortcut": "hello", "text": hello}, {"shortcut": "order", "text": "Could you give me your order number?"}} {
		if status, v := admin.json("POST", "/v1/quick-replies", q); status != http.StatusCreated {
			t.Fatalf("create quick reply: %d %v", status, v)
		}
	}
	if status, v := alice.json("POST", "/v1/quick-replies", map[string]any{"shortcut": "x", "text": "y"}); status != http.StatusForbidden {
		t.Errorf("an agent creating a quick reply: %d %v, want 403", status, v)
	}
	for _, name := range []string{"refund", "VIP"} {
		if status, v := admin.json("POST", "/v1/labels", map[string]any{"name": name}); status != http.StatusCreated {
			t.Fatalf("create label: %d %v", status, v)
		}
	}

	// The customer asked something the bot answered, then needs a person.
	const customer = "+33612345678"
	first := channel.say(customer, 0, "Where is my parcel?")
	conv := first["conversation_id"].(float64)
	v := channel.say(customer, conv, "How do I cancel my order?")
	for i := 0; v["action"] != "handoff"; i++ {
		if i == 4 {
			t.Fatalf("no handoff after %d unclear questions: %v", i, v)
		}
		v = channel.say(customer, conv, "the order thing, you know")
	}
	id := v["handoff_id"].(string)

	b := launchChromium(t)
	b.login(base, alice.token)
	b.waitFor("the queued ticket", `document.querySelector('#ticket-list li[data-id="`+id+`"] button')`, 15*time.Second)
	b.screens("01-queue")
	b.eval(`document.querySelector('#ticket-list li[data-id="` + id + `"] button').click(); true`)
	claimed := `document.getElementById("ticket") && document.getElementById("ticket").dataset.id === "` + id +
		`" && document.getElementById("ticket").dataset.state === "claimed"`
	b.waitFor("the claimed ticket", claimed, 10*time.Second)

	// The customer panel: the channel, the number, the earlier question
	// and how it ended.
	b.waitFor("the customer panel", `!document.getElementById("customer-panel").hidden &&
		document.getElementById("customer-id").textContent === "`+customer+`"`, 10*time.Second)
	if first["action"] == "answer" {
		b.waitFor("the earlier answered question", `document.getElementById("customer-history").textContent.includes("Where is my parcel?") &&
			document.querySelector("#customer-history .past-answered")`, 5*time.Second)
	}
	status, panel := alice.json("GET", "/v1/handoffs/"+id+"/customer", nil)
	if status != http.StatusOK || panel["channel"] != "api" || panel["id"] != customer || panel["masked"] != false {
		t.Errorf("customer panel: %d %v", status, panel)
	}

	// Claimed in one tab, shown in another.
	b2 := b.newPage()
	b2.login(base, alice.token)
	b2.waitFor("the first tab's ticket in the second", `document.querySelector('#mine li[data-id="`+id+`"]')`, 15*time.Second)

	// "/hel" offers /hello; Enter inserts its text.
	b.eval(`var r = document.getElementById("reply"); r.focus(); r.value = "/hel"; r.setSelectionRange(4, 4);
		r.dispatchEvent(new Event("input")); true`)
	b.waitFor("the quick reply menu", `!document.getElementById("qr-menu").hidden &&
		document.querySelector('#qr-menu li[data-shortcut="hello"]')`, 5*time.Second)
	b.screens("02-quick-reply")
	b.eval(`document.getElementById("reply").dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true})); true`)
	if got := string(b.eval(`document.getElementById("reply").value`)); got != strconv.Quote(hello) {
		t.Fatalf("reply box after choosing /hello: %s, want %q", got, hello)
	}
	b.eval(`document.getElementById("send").click(); true`)
	b.waitFor("the quick reply sent", `document.getElementById("transcript").textContent.includes(`+strconv.Quote(hello)+`)`, 10*time.Second)

	// A label on the conversation.
	b.eval(`document.getElementById("labels-edit").open = true; true`)
	b.waitFor("the label choices", `document.querySelectorAll("#labels-choices input").length === 2`, 5*time.Second)
	b.eval(`Array.prototype.find.call(document.querySelectorAll("#labels-choices label"), function (l) { return l.textContent.includes("refund"); }).querySelector("input").click(); true`)
	b.waitFor("the label on the ticket", `document.getElementById("ticket-labels").textContent.includes("refund")`, 5*time.Second)
	if _, v := alice.json("GET", "/v1/handoffs/"+id, nil); !strings.Contains(jsonText(v["labels"]), "refund") {
		t.Errorf("labels after the console set one: %v", v["labels"])
	}
	b.screens("03-ticket")

	// Reassigned to bob, chosen from the list.
	b.waitFor("bob in the reassign list", `document.querySelector('#reassign-to option[value="bob"]')`, 10*time.Second)
	b.eval(`var s = document.getElementById("reassign-to"); s.value = "bob"; document.getElementById("reassign").click(); true`)
	b.waitFor("the reassignment", `document.getElementById("status").textContent.includes("reassigned to bob")`, 10*time.Second)
	if _, v := alice.json("GET", "/v1/handoffs/"+id, nil); ticketOf(v)["agent"] != "bob" || ticketOf(v)["state"] != "claimed" {
		t.Fatalf("ticket after the reassignment: %v", ticketOf(v))
	}

	// Bob resolves it with the suggested article and a note.
	bp := b.newPage()
	bp.login(base, bob.token)
	bp.waitFor("bob's ticket opened", claimed, 15*time.Second)
	bp.waitFor("an article to resolve with", `document.querySelectorAll("#resolve-article option").length > 1`, 5*time.Second)
	article := strings.Trim(string(bp.eval(`var s = document.getElementById("resolve-article"); s.value = s.options[1].value; s.value`)), `"`)
	bp.eval(`document.getElementById("resolution").open = true; document.getElementById("resolve-note").value = "Cancelled order 42 for her."; true`)
	bp.screens("04-resolve")
	bp.eval(`document.getElementById("resolve").click(); true`)
	bp.waitFor("the resolution", `document.getElementById("status").textContent.includes("resolved")`, 10*time.Second)
	if got := string(bp.eval(`document.getElementById("status").textContent`)); !strings.Contains(got, "teaches the assistant") {
		t.Errorf("status after resolving with an article: %s, want the example added", got)
	}
	_, v = bob.json("GET", "/v1/handoffs/"+id, nil)
	if tk := ticketOf(v); tk["state"] != "resolved" || tk["article_id"] != article || tk["note"] != "Cancelled order 42 for her." {
		t.Fatalf("ticket after resolving with an article: %v (article %q)", tk, article)
	}

	// The resolved history finds it by the customer's number.
	bp.eval(`document.getElementById("resolved-q").value = "33612"; document.querySelector("#resolved-form button").click(); true`)
	bp.waitFor("the resolved ticket found", `document.querySelector('#resolved-list li[data-id="`+id+`"]') &&
		document.getElementById("resolved-list").textContent.includes("Cancelled order 42")`, 10*time.Second)
	bp.eval(`document.getElementById("resolved-q").value = "no such thing"; document.querySelector("#resolved-form button").click(); true`)
	bp.waitFor("no match", `!document.getElementById("resolved-empty").hidden && document.getElementById("resolved-list").children.length === 0`, 10*time.Second)
	bp.eval(`document.getElementById("resolved-q").value = ""; document.querySelector("#resolved-form button").click(); true`)
	bp.waitFor("the resolved list", `document.querySelector('#resolved-list li[data-id="`+id+`"]')`, 10*time.Second)
	bp.eval(`document.querySelector('#resolved-list li[data-id="` + id + `"] button').click(); true`)
	bp.waitFor("the resolved ticket shown", `document.getElementById("ticket").dataset.state === "resolved" &&
		!document.getElementById("ticket-note").hidden`, 10*time.Second)
	bp.screens("05-resolved")

	// In French, the choice kept across a reload.
	bp.eval(`var l = document.getElementById("lang"); l.value = "fr"; l.dispatchEvent(new Event("change")); true`)
	bp.waitFor("the console in French", `document.documentElement.lang === "fr" &&
		document.getElementById("claim-next").textContent === "Prendre le suivant" &&
		document.getElementById("resolve").textContent === "Résoudre" && document.title.includes("Console agent")`, 5*time.Second)
	bp.call("Page.reload", nil)
	bp.waitFor("French after a reload", `document.getElementById("claim-next") && document.getElementById("claim-next").textContent === "Prendre le suivant" &&
		document.getElementById("team").textContent.includes("en ligne")`, 15*time.Second)
	bp.screens("06-french")

	// The example bob's resolution added: the question that needed a
	// person is answered now.
	if v := channel.say("+33600000001", 0, "the order thing, you know"); v["action"] != "answer" {
		t.Errorf("the resolved question asked again: %v, want an answer from the example", v["action"])
	}
	// A new customer: the count shows in alice's title and on the list.
	if v2 := channel.say("+33700000000", 0, "I want to speak to a human please"); v2["action"] != "handoff" {
		t.Fatalf("no second handoff: %v", v2)
	}
	b.waitFor("the new-ticket count", `document.title.indexOf("(1) ") === 0 && !document.getElementById("waiting-new").hidden &&
		document.querySelector("#ticket-list .badge-new")`, 15*time.Second)
	b.screens("07-new-ticket")
	b.eval(`document.getElementById("waiting-card").click(); true`)
	b.waitFor("the count cleared once looked at", `document.title.indexOf("(") !== 0 && document.getElementById("waiting-new").hidden`, 5*time.Second)

	// The admin's team settings.
	a := b.newPage()
	a.login(base, testToken)
	a.waitFor("the team settings", `!document.getElementById("admin").hidden &&
		document.getElementById("qr-admin").textContent.includes("/hello") && document.getElementById("label-admin").textContent.includes("VIP")`, 15*time.Second)
	a.eval(`document.getElementById("label-name").value = "complaint"; document.querySelector("#label-form button").click(); true`)
	a.waitFor("the new label", `document.getElementById("label-admin").textContent.includes("complaint")`, 10*time.Second)
	a.eval(`document.getElementById("qr-shortcut").value = "hello"; document.getElementById("qr-text").value = "again"; document.querySelector("#qr-form button").click(); true`)
	a.waitFor("a clear error for a taken shortcut", `document.getElementById("qr-error").textContent.includes("exists already")`, 10*time.Second)
	a.eval(`document.querySelector('#qr-admin button[aria-label$="/order"]').click(); true`)
	a.waitFor("the edit form", `document.getElementById("qr-shortcut").value === "order" && !document.getElementById("qr-cancel").hidden`, 5*time.Second)
	a.eval(`document.getElementById("qr-text").value = "What is your order number?"; document.getElementById("qr-submit").click(); true`)
	a.waitFor("the edited quick reply", `document.getElementById("qr-admin").textContent.includes("What is your order number?") &&
		document.getElementById("qr-cancel").hidden`, 10*time.Second)
	a.screens("08-admin")
	if got := string(b.eval(`document.getElementById("admin").hidden`)); got != "true" {
		t.Errorf("an agent sees the team settings")
	}
}

func jsonText(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case string:
			b.WriteString(x + " ")
		}
	}
	walk(v)
	return b.String()
}
