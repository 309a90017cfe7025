package main

import (
	"encoding/json"
	"fmt"
	"net/http"
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

	b := openKnowledgeConsole(t, base)
	signInKnowledgeConsole(b, token)

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
	b.screens("knowledge-gaps")

	b.eval(gap + `.querySelector(".gap-actions button.primary").click(); true`)
	b.waitFor("the gap answered", gap+`.querySelector(".gap-result").textContent.includes("now point to “Where can I park?”")`, 10*time.Second)
	b.waitFor("the examples counted", `document.getElementById("calibration").textContent.includes("Examples"+`+
		`document.querySelectorAll("#gaps .gap.done .samples li").length)`, 10*time.Second)
	status, got := api.json("POST", "/v1/knowledge/examples", map[string]any{"examples": []map[string]string{
		{"text": "is the car park near the station free on weekdays", "article_id": "parking"}}})
	if status != http.StatusCreated || got["added"] != float64(0) {
		t.Errorf("labelling the gap's question again: %d %v, want it known already", status, got)
	}

	// Answered, the gap leaves the list: all its questions point to the
	// parking article now.
	b.call("Page.reload", nil)
	b.waitFor("the gaps again", `document.getElementById("gaps-empty") && !document.getElementById("app").hidden && !document.getElementById("gaps-empty").hidden`, 15*time.Second)
	if got := text(`document.getElementById("gaps").textContent`); got != "" {
		t.Errorf("gaps after answering the only one: %q, want none", got)
	}

	// Or write the missing article there: it is saved, the gap's
	// questions point to it, and it leaves the list too.
	if d := api.say("dan", 0, "can I bring my dog on the train"); d["action"] == "answer" {
		t.Fatalf("the dog question was answered (%v): the gap the test needs is not there", d)
	}
	b.call("Page.reload", nil)
	b.waitFor("the dog's gap", `document.getElementById("gaps") && document.getElementById("gaps").textContent.includes("my dog")`, 15*time.Second)
	b.eval(`(function () {
		var g = document.querySelector("#gaps .gap");
		g.querySelector(".gap-actions button:not(.primary)").click();
		g.querySelector(".gap-form input").value = "Dogs on board";
		g.querySelector(".gap-form textarea").value = "Dogs travel free on a leash; bigger ones need a ticket at half price.";
		g.querySelector(".gap-form button[type=submit]").click();
		return true;
	})()`)
	b.waitFor("the new article answering the gap", `document.querySelector("#gaps .gap .gap-result").textContent.includes("1 question now points to “Dogs on board”")`, 10*time.Second)
	b.waitFor("the new article in the list", `document.getElementById("articles").textContent.includes("Dogs on board")`, 10*time.Second)
	b.screens("knowledge-gap-answered")
	b.call("Page.reload", nil)
	b.waitFor("no gap left", `document.getElementById("gaps-empty") && !document.getElementById("app").hidden && !document.getElementById("gaps-empty").hidden`, 15*time.Second)
	b.screens("knowledge")
}

// TestKnowledgeConsoleArticlesAndDrafts: a knowledge manager drops a
// folder's files (one in a format Relais cannot read, which is rejected on
// its own row while the others import), opens an article and sees what
// became of the questions it was the best match for, edits it, deletes
// another after confirming, and approves a draft an agent wrote after
// editing it. RELAIS_CONSOLE_SCREENSHOTS=dir saves each screen at laptop
// and phone widths.
func TestKnowledgeConsoleArticlesAndDrafts(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	token := createToken(t, c, "editor", "ed")
	agent := createToken(t, c, "agent", "alice")
	base := startServe(t, c)

	b := openKnowledgeConsole(t, base)
	b.screens("knowledge-login")
	signInKnowledgeConsole(b, token)
	b.screens("knowledge-empty")

	// A folder dropped on the zone: its files import one by one, and the
	// picture is reported as a file Relais cannot read.
	const csv = "id,title,body\nparking,Where can I park?,Park in the lot behind the station; it is free on Sundays.\nopening,Opening hours,We open from 9 to 18 every day but Sunday.\nparking,Parking again,Twice the same id.\n"
	const md = "# Lost property\n\nAsk at the ticket office: we keep what we find for a month.\n"
	b.eval(`(function () {
		var dt = new DataTransfer();
		dt.items.add(new File([` + strconv.Quote(csv) + `], "faq.csv", {type: "text/csv"}));
		dt.items.add(new File([` + strconv.Quote(md) + `], "lost.md", {type: "text/markdown"}));
		dt.items.add(new File(["\x89PNG"], "map.png", {type: "image/png"}));
		dt.items.add(new File(["x"], ".DS_Store"));
		var drop = document.getElementById("drop");
		drop.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return true;
	})()`)
	b.waitFor("the folder's results", `document.getElementById("upload-summary").textContent.includes("3 files read")`, 30*time.Second)
	rows := text(t, b, `Array.prototype.map.call(document.querySelectorAll("#results tr"), function (tr) {
		return Array.prototype.map.call(tr.children, function (td) { return td.textContent; }).join(" | ");
	}).join("\n")`)
	for _, want := range []string{`faq.csv | 2 | 0 | 0 | faq.csv:4:`, `lost.md | 1 | 0 | 0 | none`, `map.png | – | – | – | Whole file rejected:`,
		`3 articles added, 0 changed`, `1 row rejected`, `1 file rejected`, `1 hidden file skipped`} {
		if !strings.Contains(rows+text(t, b, `document.getElementById("upload-summary").textContent`), want) {
			t.Errorf("upload results lack %q:\n%s", want, rows)
		}
	}
	if got := b.eval(`document.querySelector("#results tr.failed td.problems").textContent.includes("unsupported")`); string(got) != "true" {
		t.Errorf("the picture's row does not say its format is unsupported: %s", rows)
	}
	b.waitFor("the new articles", `document.querySelectorAll("#articles li.article").length === 3`, 10*time.Second)
	b.screens("knowledge-upload")

	// Customers ask about parking: one answer, one handoff while the
	// parking article was the best match.
	api := apiClient{t: t, base: base, token: testToken}
	answered := 0
	for _, m := range []struct{ customer, text string }{
		{"ann", "Where can I park?"},
		{"bob", "is the car park near the station free on weekdays"},
		{"bob", "is the car park near the station free on weekdays"},
	} {
		if d := api.say(m.customer, 0, m.text); d["action"] == "answer" {
			answered++
		}
	}
	stats := func(id string) map[string]any {
		t.Helper()
		status, v := api.json("GET", "/v1/knowledge/articles/"+id+"/stats", nil)
		if status != http.StatusOK {
			t.Fatalf("stats of %s: %d %v", id, status, v)
		}
		return v
	}
	want := stats("parking")
	if want["answered"] != float64(answered) {
		t.Errorf("parking answered %v times, want %d", want["answered"], answered)
	}

	// Open the article: its figures, then edit it.
	parking := `Array.prototype.filter.call(document.querySelectorAll("#articles li.article"), function (li) { return li.textContent.includes("parking"); })[0]`
	b.eval(parking + `.querySelector(".article-head").click(); true`)
	b.waitFor("the article's form", parking+`.querySelector("form input[name=title]").value === "Where can I park?"`, 10*time.Second)
	b.waitFor("the article's figures", parking+`.querySelector("[data-stat=answered]").textContent !== "–"`, 10*time.Second)
	figures := string(b.eval(`(function () { var o = {}; ` + parking + `.querySelectorAll("[data-stat]").forEach(function (n) { o[n.dataset.stat] = n.textContent; }); return JSON.stringify(o); })()`))
	var shown map[string]string
	if err := json.Unmarshal([]byte(mustUnquote(t, figures)), &shown); err != nil {
		t.Fatal(err)
	}
	handed := 0.0
	for _, n := range want["handed_off"].(map[string]any) {
		handed += n.(float64)
	}
	if shown["answered"] != strconv.Itoa(answered) || shown["handed_off"] != strconv.Itoa(int(handed)) || shown["clarified"] != fmt.Sprint(want["clarified"]) {
		t.Errorf("figures shown %v, want those of the API %v", shown, want)
	}
	if handed+want["clarified"].(float64) == 0 {
		t.Errorf("the questions about the car park did not count against the parking article: %v", want)
	}
	if got := b.eval(parking + `.querySelector(".source-note").textContent.includes("faq.csv")`); string(got) != "true" {
		t.Error("the article imported from faq.csv does not warn that a new import replaces the edits")
	}
	b.screens("knowledge-article")
	b.eval(`(function () {
		var f = ` + parking + `.querySelector("form");
		f.elements.title.value = "Where can I park my car?";
		f.elements.tags.value = "parking, station";
		f.elements.phrasings.value = "car park\nparking lot";
		f.querySelector("button[type=submit]").click();
		return true;
	})()`)
	b.waitFor("the saved title in the list", `document.getElementById("articles").textContent.includes("Where can I park my car?")`, 10*time.Second)
	status, got := api.json("GET", "/v1/knowledge/articles/parking", nil)
	if status != http.StatusOK || got["title"] != "Where can I park my car?" || fmt.Sprint(got["tags"]) != "[parking station]" ||
		fmt.Sprint(got["phrasings"]) != "[car park parking lot]" || !strings.Contains(got["body"].(string), "free on Sundays") {
		t.Errorf("article after the edit: %d %v", status, got)
	}

	// Delete another: nothing happens until it is confirmed.
	opening := `Array.prototype.filter.call(document.querySelectorAll("#articles li.article"), function (li) { return li.textContent.includes("Opening hours"); })[0]`
	b.eval(opening + `.querySelector(".article-head").click(); true`)
	b.waitFor("the opening hours form", opening+`.querySelector("form input[name=title]").value === "Opening hours"`, 10*time.Second)
	b.eval(opening + `.querySelector("button.delete").click(); true`)
	b.waitFor("the confirmation", `!`+opening+`.querySelector(".confirm").hidden`, 5*time.Second)
	b.screens("knowledge-delete")
	b.eval(opening + `.querySelector(".confirm-no").click(); true`)
	if status, _ := api.json("GET", "/v1/knowledge/articles/opening", nil); status != http.StatusOK {
		t.Fatalf("the article is gone although the deletion was not confirmed: %d", status)
	}
	b.eval(opening + `.querySelector("button.delete").click(); ` + opening + `.querySelector(".confirm-yes").click(); true`)
	b.waitFor("the article gone from the list", `!document.getElementById("articles").textContent.includes("Opening hours")`, 10*time.Second)
	if status, _ := api.json("GET", "/v1/knowledge/articles/opening", nil); status != http.StatusNotFound {
		t.Errorf("the deleted article reads %d, want 404", status)
	}

	// An agent resolves a ticket with a draft; the editor corrects it and
	// approves.
	alice := apiClient{t: t, base: base, token: agent}
	d := api.say("cid", 0, "I want to talk to a human")
	id := fmt.Sprint(d["handoff_id"])
	if status, v := alice.json("POST", "/v1/handoffs/"+id+"/claim", nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, v)
	}
	status, v := alice.json("POST", "/v1/handoffs/"+id+"/resolve", map[string]any{"draft": map[string]any{
		"title": "bikes", "body": "Bikes go in the rack by the entrance."}})
	if status != http.StatusOK {
		t.Fatalf("resolve with a draft: %d %v", status, v)
	}
	draftID := fmt.Sprint(v["draft"].(map[string]any)["id"])
	b.call("Page.reload", nil)
	b.waitFor("the draft", `document.querySelectorAll("#drafts li.draft").length === 1`, 15*time.Second)
	if got := text(t, b, `document.querySelector("#drafts .draft-question").textContent`); !strings.Contains(got, "I want to talk to a human") {
		t.Errorf("the draft does not show the customer's question: %q", got)
	}
	b.eval(`document.querySelector("#drafts button.edit").click(); true`)
	b.eval(`(function () {
		var f = document.querySelector("#drafts .draft-form");
		f.elements.title.value = "Where do bikes go?";
		f.elements.body.value = "Bikes go in the covered rack by the entrance; it is free.";
		return true;
	})()`)
	b.screens("knowledge-draft")
	if got := text(t, b, `document.querySelector("#drafts button.approve").textContent`); got != "Approve with these changes" {
		t.Errorf("the approve button while editing says %q", got)
	}
	b.eval(`document.querySelector("#drafts button.approve").click(); true`)
	b.waitFor("the draft approved", `document.querySelector("#drafts .draft-result").textContent.includes("Where do bikes go?")`, 10*time.Second)
	b.waitFor("the new article listed", `document.getElementById("articles").textContent.includes("Where do bikes go?")`, 10*time.Second)
	status, got = api.json("GET", "/v1/knowledge/articles/draft:"+draftID, nil)
	if status != http.StatusOK || got["title"] != "Where do bikes go?" || !strings.Contains(got["body"].(string), "covered rack") {
		t.Errorf("the approved article: %d %v, want the editor's text", status, got)
	}
	if status, v := api.json("GET", "/v1/knowledge/drafts", nil); status != http.StatusOK || len(v["drafts"].([]any)) != 0 {
		t.Errorf("drafts waiting after the approval: %d %v", status, v)
	}
	b.screens("knowledge-done")
}

func mustUnquote(t *testing.T, s string) string {
	t.Helper()
	u, err := strconv.Unquote(s)
	if err != nil {
		t.Fatalf("unquote %s: %v", s, err)
	}
	return u
}

// text evaluates expr, a string, in the page.
func text(t *testing.T, b *cdp, expr string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(b.eval(expr), &s); err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return s
}

// TestKnowledgeConsoleInFrench: a knowledge manager switches the console
// to French on the login screen; the choice survives a reload, and the
// page's headings and the texts its script builds (upload results,
// dashboard tiles, a gap's questions, a draft's date) are French, numbers
// and dates too. Switched back to English, the texts follow at once.
// RELAIS_CONSOLE_SCREENSHOTS=dir saves the French screens at laptop and
// phone widths.
func TestKnowledgeConsoleInFrench(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "sqlite")
	token := createToken(t, c, "editor", "ed")
	agent := createToken(t, c, "agent", "alice")
	base := startServe(t, c)

	b := openKnowledgeConsole(t, base)
	b.eval(`var l = document.getElementById("lang"); l.value = "fr"; l.dispatchEvent(new Event("change")); true`)
	b.waitFor("the login form in French", `document.documentElement.lang === "fr" &&
		document.querySelector("#login-view h2").textContent === "Connexion" && document.title === "Base de connaissances Relais"`, 5*time.Second)
	b.screens("knowledge-fr-login")
	signInKnowledgeConsole(b, token)

	const csv = "id,title,body\nparking,Où se garer ?,Le parking derrière la gare est gratuit le dimanche.\nparking,Encore le parking,Deux fois le même identifiant.\n"
	b.eval(`(function () {
		var dt = new DataTransfer();
		dt.items.add(new File([` + strconv.Quote(csv) + `], "faq.csv", {type: "text/csv"}));
		dt.items.add(new File(["\x89PNG"], "plan.png", {type: "image/png"}));
		var drop = document.getElementById("drop");
		drop.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
		return true;
	})()`)
	b.waitFor("the upload's results", `document.getElementById("upload-summary").textContent.includes("2 fichiers lus")`, 30*time.Second)
	summary := text(t, b, `document.getElementById("upload-summary").textContent`)
	for _, want := range []string{"articles ajoutés : 1", "1 ligne rejetée", "1 fichier rejeté."} {
		if !strings.Contains(summary, want) {
			t.Errorf("the upload's summary %q lacks %q", summary, want)
		}
	}
	if got := text(t, b, `document.querySelector("#results tr.failed td.problems").textContent`); !strings.HasPrefix(got, "Fichier rejeté en entier") {
		t.Errorf("the picture's row says %q", got)
	}
	b.screens("knowledge-fr-upload")

	// A gap (asked twice, then handed off) and a draft an agent wrote.
	api := apiClient{t: t, base: base, token: testToken}
	for _, m := range []struct{ customer, text string }{
		{"ann", "le parking près de la gare est-il gratuit en semaine"},
		{"ann", "le parking près de la gare est-il gratuit en semaine"},
	} {
		if d := api.say(m.customer, 0, m.text); d["action"] == "answer" {
			t.Fatalf("%q was answered (%v): the gap the test needs is not there", m.text, d)
		}
	}
	alice := apiClient{t: t, base: base, token: agent}
	d := api.say("cid", 0, "je veux parler à un conseiller")
	id := fmt.Sprint(d["handoff_id"])
	if status, v := alice.json("POST", "/v1/handoffs/"+id+"/claim", nil); status != http.StatusOK {
		t.Fatalf("claim: %d %v", status, v)
	}
	if status, v := alice.json("POST", "/v1/handoffs/"+id+"/resolve", map[string]any{"draft": map[string]any{
		"title": "Vélos", "body": "Les vélos se garent au râtelier près de l'entrée."}}); status != http.StatusOK {
		t.Fatalf("resolve with a draft: %d %v", status, v)
	}

	// Still French after a reload: the headings, and what the script built.
	b.call("Page.reload", nil)
	b.waitFor("the console in French after a reload", `document.getElementById("app") && document.documentElement.lang === "fr" && !document.getElementById("app").hidden &&
		document.getElementById("dash-tiles").textContent.includes("messages traités") &&
		document.querySelectorAll("#gaps .gap").length > 0 && document.querySelectorAll("#drafts li.draft").length === 1`, 15*time.Second)
	for sel, want := range map[string]string{
		"#dashboard-card h2": "Résolution sur les 30 derniers jours",
		"#gaps-card h2":      "Questions sans réponse",
		"#drafts-card h2":    "Brouillons issus des tickets résolus",
	} {
		if got := text(t, b, `document.querySelector(`+strconv.Quote(sel)+`).textContent`); got != want {
			t.Errorf("%s says %q, want %q", sel, got, want)
		}
	}
	if got := text(t, b, `document.getElementById("lang").value`); got != "fr" {
		t.Errorf("the switcher shows %q after the reload, want fr", got)
	}
	gap := `Array.prototype.filter.call(document.querySelectorAll("#gaps .gap"), function (g) { return g.textContent.includes("gratuit en semaine"); })[0]`
	if got := text(t, b, gap+`.querySelector(".gap-head .count").textContent`); got != "2 questions" {
		t.Errorf("the gap's count says %q", got)
	}
	if got := text(t, b, gap+`.querySelector(".samples .meta").textContent`); !strings.HasPrefix(got, "×2 · ") || strings.Contains(got, "rephras") {
		t.Errorf("the gap's question says %q, want the count and a French reason", got)
	}
	if got := text(t, b, gap+`.querySelector(".gap-actions button.primary").textContent`); got != "Répondre avec cet article" {
		t.Errorf("the gap's button says %q", got)
	}
	if got := text(t, b, `document.getElementById("dash-range").textContent`); !strings.HasPrefix(got, "du ") || !strings.HasSuffix(got, " (UTC)") {
		t.Errorf("the dashboard's dates read %q", got)
	}
	// The draft's date is French (a month as French writes it).
	if got := text(t, b, `document.querySelector("#drafts .draft-meta").textContent`); !strings.HasPrefix(got, "par alice · ticket n° "+id+" · ") {
		t.Errorf("the draft says %q", got)
	}
	b.screens("knowledge-fr-gaps")

	// An article opened, the draft in edition: the templates' words.
	b.eval(`document.querySelector("#articles li.article .article-head").click(); true`)
	b.waitFor("the article's form", `document.querySelector("#articles li.open form input[name=title]") && document.querySelector("#articles li.open form input[name=title]").value === "Où se garer ?"`, 10*time.Second)
	b.waitFor("the article's figures", `document.querySelector("#articles li.open [data-stat=answered]").textContent !== "–"`, 10*time.Second)
	if got := text(t, b, `document.querySelector("#articles li.open .source-note").textContent`); !strings.HasPrefix(got, "Importé depuis faq.csv") {
		t.Errorf("the article's source note says %q", got)
	}
	if got := text(t, b, `document.querySelector("#articles li.open button[type=submit]").textContent`); got != "Enregistrer" {
		t.Errorf("the article's save button says %q", got)
	}
	b.screens("knowledge-fr-article")
	b.eval(`document.querySelector("#drafts button.edit").click(); true`)
	if got := text(t, b, `document.querySelector("#drafts button.approve").textContent`); got != "Approuver avec ces modifications" {
		t.Errorf("the approve button while editing says %q", got)
	}
	b.screens("knowledge-fr-draft")

	// Back to English: what the script built follows without a reload,
	// the draft's edition kept.
	b.eval(`document.querySelector("#drafts .draft-form input[name=title]").value = "Où garer son vélo ?"; true`)
	b.eval(`var l = document.getElementById("lang"); l.value = "en"; l.dispatchEvent(new Event("change")); true`)
	b.waitFor("the console in English", `document.documentElement.lang === "en" &&
		document.getElementById("dash-tiles").textContent.includes("messages decided") &&
		document.querySelector("#gaps-card h2").textContent.startsWith("Gaps")`, 5*time.Second)
	for expr, want := range map[string]string{
		`document.querySelector("#drafts button.approve").textContent`:                      "Approve with these changes",
		`document.querySelector("#drafts .draft-form input[name=title]").value`:             "Où garer son vélo ?",
		`document.querySelector("#articles li.open button[type=submit]").textContent`:       "Save changes",
		gap + `.querySelector(".gap-actions button.primary").textContent`:                   "Answer with this article",
		`document.querySelector("#drafts .draft-meta").textContent.slice(0, 8)`:             "by alice",
		`document.querySelector("#articles li.open .source-note").textContent.slice(0, 13)`: "Imported from",
	} {
		if got := text(t, b, expr); got != want {
			t.Errorf("in English, %s = %q, want %q", expr, got, want)
		}
	}
}

// openKnowledgeConsole opens base's knowledge console in a new headless
// Chromium and waits for its login form.
func openKnowledgeConsole(t *testing.T, base string) *cdp {
	t.Helper()
	b := launchChromium(t)
	b.call("Page.navigate", map[string]any{"url": base + "/console/knowledge"})
	b.waitFor("the login form", `document.getElementById("login-view") && !document.getElementById("login-view").hidden`, 15*time.Second)
	return b
}

// signInKnowledgeConsole signs in with token on the login form
// openKnowledgeConsole shows, and waits for the workspace.
func signInKnowledgeConsole(b *cdp, token string) {
	b.eval(`document.getElementById("token").value = ` + strconv.Quote(token) + `; document.querySelector("#login-form button").click(); true`)
	b.waitFor("the workspace", `!document.getElementById("app").hidden`, 10*time.Second)
}
