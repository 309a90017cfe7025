package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestKnowledgeConsoleInBrowser: an editor logs in to the knowledge
// console, uploads a CSV (one good row, one reusing its id) and sees the
// file's result with the rejected row, then the new article in the list.
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
	if shots := os.Getenv("RELAIS_CONSOLE_SCREENSHOTS"); shots != "" {
		b.screenshot(filepath.Join(shots, "knowledge-laptop.png"), 1280)
		b.screenshot(filepath.Join(shots, "knowledge-phone.png"), 390)
	}
}
