package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKnowledgeConsoleInBrowser: an editor logs in to the knowledge
// console, uploads a CSV (one good row, one reusing its id) and sees the
// file's result with the rejected row, then the new article in the list,
// which the filter hides and shows. Customers then ask what the assistant
// cannot answer: the editor sees the gap under its nearest article,
// answers it with that article (the questions become examples, which the
// calibration panel counts) and sees the day's messages on the dashboard.
// RELAIS_CONSOLE_SCREENSHOTS=dir also saves laptop and phone screenshots.
func TestKnowledgeConsoleInBrowser(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	token := createToken(t, c, "editor", "ed")
	base := startServe(t, c)

	b := launchChromium(t)
	b.call("Page.navigate", map[string]any{"url": base + "/console/knowledge"})
	b.waitFor("the login form", `document.getElementById("login-view") && !document.getElementById("login-view").hidden`, 15*time.Second)
	b.eval(`document.getElementById("token").value = ` + strconv.Quote(token) + `; document.querySelector("#login-form button").click(); true`)
	b.waitFor("the workspace", `!document.getElementById("app").hidden`, 10*time.Second)

	const csv = "id,title,body\nparking,Where can I park?,Park in the lot behind the station; it is free on Sundays.\nparking,Parking again,Twice the same id.\n"
	b.eval(`(function () {
		var dt = new DataTransfer();
		dt.items.add(new File([` + strconv.Quote(csv) + `], "faq.csv", {type: "text/csv"}));
		var input = document.getElementById("files");
		input.files = dt.files;
		input.dispatchEvent(new Event("change"));
		return true;
	})()`)
	b.waitFor("the file's result", `document.getElementById("results").textContent.includes("faq.csv")`, 15*time.Second)
	if got := string(b.eval(`document.querySelector("#results td:nth-child(2)").textContent`)); got != `"1"` {
		t.Errorf("articles added = %s, want 1", got)
	}
	if got := string(b.eval(`document.querySelector("#results td:nth-child(5)").textContent.includes("3")`)); got != "true" {
		t.Errorf("the rejected row's line is not shown: %s", b.eval(`document.getElementById("results").textContent`))
	}
	b.waitFor("the new article", `document.getElementById("articles").textContent.includes("Where can I park?")`, 10*time.Second)

	// The filter hides what does not match, title or id, in any case.
	filter := func(text string) string {
		return string(b.eval(`(function () {
			var f = document.getElementById("article-filter");
			f.value = ` + strconv.Quote(text) + `; f.dispatchEvent(new Event("input"));
			return Array.prototype.filter.call(document.querySelectorAll("#articles li"), function (li) { return !li.hidden; }).length;
		})()`))
	}
	if got := filter("no such article"); got != "0" {
		t.Errorf("articles shown for a filter nothing matches: %s", got)
	}
	if got := b.eval(`!document.getElementById("articles-none").hidden`); string(got) != "true" {
		t.Error("no 'No article matches' under an empty filtered list")
	}
	for _, q := range []string{"PARK", "parking", ""} {
		if got := filter(q); got != "1" {
			t.Errorf("articles shown for the filter %q: %s, want 1", q, got)
		}
	}

	// Questions the uncalibrated assistant (threshold 0.85) cannot answer:
	// asked to rephrase, the first customer asks again and is handed off.
	api := apiClient{t: t, base: base, token: testToken}
	for _, m := range []struct{ customer, text string }{
		{"ann", "is the car park near the station free on weekdays"},
		{"ann", "is the car park near the station free on weekdays"},
		{"bob", "do you sell gift cards"},
	} {
		if d := api.say(m.customer, 0, m.text); d["action"] == "answer" {
			t.Fatalf("%q was answered (%v): the gap the test needs is not there", m.text, d)
		}
	}
	text := func(expr string) string {
		t.Helper()
		var s string
		if err := json.Unmarshal(b.eval(expr), &s); err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return s
	}
	b.call("Page.reload", nil)
	b.waitFor("the gaps", `document.querySelectorAll("#gaps .gap").length > 0`, 15*time.Second)
	gap := `Array.prototype.filter.call(document.querySelectorAll("#gaps .gap"), function (g) { return g.textContent.includes("car park"); })[0]`
	if got := text(gap + `.querySelector(".gap-what").textContent`); !strings.Contains(got, "Where can I park?") {
		t.Errorf("the parking question's gap names %s, want the parking article", got)
	}
	if got := text(gap + `.querySelector(".samples").textContent`); !strings.Contains(got, "×2") {
		t.Errorf("the question asked twice is not counted twice: %s", got)
	}
	b.waitFor("the dashboard", `document.getElementById("dash-tiles").textContent.includes("messages decided")`, 10*time.Second)
	if got := string(b.eval(`document.querySelector("#dash-tiles .tile strong").textContent`)); got != `"3"` {
		t.Errorf("messages decided = %s, want 3", got)
	}
	if got := b.eval(`document.querySelectorAll("#chart-outcomes svg rect").length`); string(got) == "0" {
		t.Error("no bar in the chart of each day's messages")
	}
	if got := text(`document.getElementById("legend-reasons").textContent`); !strings.Contains(got, "Still unclear after rephrasing 1") {
		t.Errorf("the handoffs' legend says %q, want the repeated failure", got)
	}
	if shots := os.Getenv("RELAIS_CONSOLE_SCREENSHOTS"); shots != "" {
		b.screenshot(filepath.Join(shots, "knowledge-gaps-laptop.png"), 1280)
		b.screenshot(filepath.Join(shots, "knowledge-gaps-phone.png"), 390)
	}

	b.eval(gap + `.querySelector(".gap-actions button.primary").click(); true`)
	b.waitFor("the gap answered", gap+`.querySelector(".gap-result").textContent.includes("now point to “Where can I park?”")`, 10*time.Second)
	b.waitFor("the examples counted", `document.getElementById("calibration").textContent.includes("Examples"+`+
		`document.querySelectorAll("#gaps .gap.done .samples li").length)`, 10*time.Second)
	status, got := api.json("POST", "/v1/knowledge/examples", map[string]any{"examples": []map[string]string{
		{"text": "is the car park near the station free on weekdays", "article_id": "parking"}}})
	if status != http.StatusCreated || got["added"] != float64(0) {
		t.Errorf("labelling the gap's question again: %d %v, want it known already", status, got)
	}

	// Or write the missing article there: it is saved, and the gap's
	// questions point to it.
	b.call("Page.reload", nil)
	b.waitFor("the gaps again", `document.querySelectorAll("#gaps .gap").length > 0`, 15*time.Second)
	b.eval(`(function () {
		var g = document.querySelector("#gaps .gap");
		g.querySelector(".gap-actions button:not(.primary)").click();
		g.querySelector(".gap-form input").value = "Gift cards";
		g.querySelector(".gap-form textarea").value = "We sell gift cards of 10 to 100 euros in every shop.";
		g.querySelector(".gap-form button[type=submit]").click();
		return true;
	})()`)
	b.waitFor("the new article answering the gap", `document.querySelector("#gaps .gap .gap-result").textContent.includes("now point to “Gift cards”")`, 10*time.Second)
	b.waitFor("the new article in the list", `document.getElementById("articles").textContent.includes("Gift cards")`, 10*time.Second)
	if shots := os.Getenv("RELAIS_CONSOLE_SCREENSHOTS"); shots != "" {
		b.screenshot(filepath.Join(shots, "knowledge-laptop.png"), 1280)
		b.screenshot(filepath.Join(shots, "knowledge-phone.png"), 390)
	}
}
