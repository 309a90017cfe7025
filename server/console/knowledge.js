// Relais knowledge console: resolution dashboard, gaps, upload, articles and
// drafts over the JSON API, with the editor token kept in this tab only (as
// the agent console does). Charts are SVG drawn here: no library, nothing
// fetched from elsewhere, so the console's CSP stays strict.
(function () {
  "use strict";
  var TOKEN_KEY = "relais.editor.token";
  var DAYS = 30;
  var SVG = "http://www.w3.org/2000/svg";
  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  var articles = []; // the list as last loaded, for the gaps' article choice
  var lastDashboard = null; // redrawn at the new width when the window resizes
  function $(id) { return document.getElementById(id); }
  function api(method, path, body) {
    var init = { method: method, headers: { "Authorization": "Bearer " + token } };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) { var e = new Error((body.error && body.error.message) || body.error || resp.statusText); e.status = resp.status; throw e; }
        return body;
      });
    });
  }
  function el(tag, text, cls) {
    var n = document.createElement(tag);
    if (text !== undefined && text !== null) n.textContent = text;
    if (cls) n.className = cls;
    return n;
  }
  function status(msg) { $("status").textContent = msg; }
  function pct(n, d) { return d ? Math.round(100 * n / d) + "%" : "–"; }

  // The reasons' names as a knowledge manager reads them; unknown codes
  // show as they are.
  var REASONS = {
    low_confidence: "Not sure enough", no_knowledge: "Nothing in the knowledge base", repeated_failure: "Still unclear after rephrasing",
    clarify: "Asked to rephrase", customer_request: "Asked for a person", sensitive_topic: "Sensitive topic",
    negative_feedback: "Answer did not help", provider_unavailable: "Model unavailable", media_received: "Photo or file",
    unsupported_message: "Unsupported message"
  };
  function reasonName(r) { return REASONS[r] || r || "other"; }

  function upload(files) {
    if (!files.length) return;
    var form = new FormData();
    for (var i = 0; i < files.length; i++) form.append("file", files[i], files[i].name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/knowledge/import");
    xhr.setRequestHeader("Authorization", "Bearer " + token);
    $("progress").hidden = false;
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) $("progress").value = 100 * e.loaded / e.total; };
    xhr.onload = function () {
      $("progress").hidden = true;
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* shown below */ }
      if (!body.files) { status("Upload refused: " + ((body.error && body.error.message) || xhr.statusText)); return; }
      var tb = $("results"); tb.textContent = "";
      body.files.forEach(function (f) {
        var tr = el("tr");
        tr.appendChild(el("td", f.file));
        [f.imported, f.updated, f.unchanged].forEach(function (v) { var td = el("td", String(v)); td.className = "num"; tr.appendChild(td); });
        var p = el("td", f.error || f.problems.join("; ") || "none"); p.className = "problems"; tr.appendChild(p);
        tb.appendChild(tr);
      });
      loadArticles();
    };
    xhr.send(form);
  }

  function loadArticles() {
    return api("GET", "/v1/knowledge/articles?limit=200").then(function (body) {
      articles = body.articles;
      var ul = $("articles"); ul.textContent = "";
      body.articles.forEach(function (a) {
        var li = el("li"); li.appendChild(el("strong", a.title)); li.appendChild(el("span", " " + a.external_id));
        li.dataset.match = (a.title + " " + a.external_id).toLowerCase();
        var del = el("button", "Delete"); del.type = "button";
        del.onclick = function () {
          if (!confirm("Delete “" + a.title + "”?")) return;
          api("DELETE", "/v1/knowledge/articles/" + a.id).then(loadArticles, function (e) { status(e.message); });
        };
        li.appendChild(del); ul.appendChild(li);
      });
      filterArticles();
      document.querySelectorAll("select.gap-article").forEach(fillArticleChoice);
    });
  }

  // filterArticles hides the articles whose title and id do not hold the
  // filter's text, ignoring case: the list is already in the page.
  function filterArticles() {
    var q = $("article-filter").value.trim().toLowerCase();
    var shown = 0;
    Array.prototype.forEach.call($("articles").children, function (li) {
      li.hidden = q !== "" && li.dataset.match.indexOf(q) < 0;
      if (!li.hidden) shown++;
    });
    $("articles-none").hidden = shown > 0 || $("articles").children.length === 0;
  }

  function loadDrafts() {
    return api("GET", "/v1/knowledge/drafts?status=draft").then(function (body) {
      var ul = $("drafts"); ul.textContent = "";
      $("drafts-empty").hidden = body.drafts.length > 0;
      body.drafts.forEach(function (d) {
        var li = el("li"); li.appendChild(el("strong", d.title)); li.appendChild(el("p", d.body));
        ["approve", "reject"].forEach(function (act) {
          var b = el("button", act === "approve" ? "Approve" : "Reject"); b.type = "button";
          b.onclick = function () {
            api("POST", "/v1/knowledge/drafts/" + d.id + "/" + act).then(function () { loadDrafts(); loadArticles(); }, function (e) { status(e.message); });
          };
          li.appendChild(b);
        });
        ul.appendChild(li);
      });
    }, function (e) { if (e.status !== 404) status(e.message); });
  }

  // ---- Gaps ----

  // fillArticleChoice lists the articles in a gap's select, keeping its
  // choice (the gap's nearest article at first).
  function fillArticleChoice(sel) {
    var keep = sel.value || sel.dataset.nearest || "";
    sel.textContent = "";
    var known = false;
    articles.forEach(function (a) {
      var o = el("option", a.title + " (" + a.external_id + ")"); o.value = a.external_id;
      if (a.external_id === keep) { o.selected = true; known = true; }
      sel.appendChild(o);
    });
    if (!known && keep) { var o = el("option", keep); o.value = keep; o.selected = true; sel.insertBefore(o, sel.firstChild); }
  }

  function loadGaps() {
    return api("GET", "/v1/knowledge/gaps?days=" + DAYS + "&samples=5").then(function (body) {
      var ul = $("gaps"); ul.textContent = "";
      $("gaps-empty").hidden = body.gaps.length > 0;
      body.gaps.forEach(function (g) { ul.appendChild(renderGap(g)); });
    }, function (e) { if (e.status === 404) $("gaps-card").hidden = true; else status(e.message); });
  }

  function renderGap(g) {
    var li = el("li", null, "gap");
    var head = el("div", null, "gap-head");
    head.appendChild(el("span", g.count + (g.count === 1 ? " question" : " questions"), "count"));
    var what = el("div", null, "gap-what");
    if (g.article_id) {
      what.appendChild(el("span", "Nearest article ", "muted"));
      what.appendChild(el("strong", g.title || g.article_id));
      if (g.title) what.appendChild(el("span", " " + g.article_id, "muted id"));
      else what.appendChild(el("span", " (deleted)", "muted"));
    } else {
      what.appendChild(el("strong", "No article came close"));
    }
    head.appendChild(what);
    li.appendChild(head);

    var qs = el("ul", null, "samples");
    g.samples.forEach(function (s) {
      var q = el("li");
      q.appendChild(el("span", "“" + s.text + "”", "q"));
      var meta = (s.times > 1 ? "×" + s.times + " · " : "") + reasonName(s.reason);
      q.appendChild(el("span", meta, "meta"));
      qs.appendChild(q);
    });
    li.appendChild(qs);

    var actions = el("div", null, "actions gap-actions");
    var label = el("label", "Answer with", "inline"); var sel = el("select", null, "gap-article");
    var selID = "gap-article-" + Math.random().toString(36).slice(2);
    sel.id = selID; label.htmlFor = selID; sel.dataset.nearest = g.article_id;
    fillArticleChoice(sel);
    var answer = el("button", "Answer with this article", "primary"); answer.type = "button";
    var write = el("button", "Write a new article"); write.type = "button";
    if (!articles.length) { answer.disabled = true; sel.disabled = true; }
    var choose = el("div", null, "choose"); choose.appendChild(label); choose.appendChild(sel);
    actions.appendChild(choose); actions.appendChild(answer); actions.appendChild(write);
    li.appendChild(actions);
    var result = el("p", null, "gap-result"); result.setAttribute("role", "status"); li.appendChild(result);

    var texts = g.samples.map(function (s) { return s.text; });
    function done(articleID, title, added) {
      actions.hidden = true; form.hidden = true;
      li.classList.add("done");
      result.textContent = "✓ " + texts.length + (texts.length === 1 ? " question" : " questions") + " now point to “" + title + "”" +
        (added < texts.length ? " (" + (texts.length - added) + " already did)" : "") +
        ". The assistant matches them at once; recalibrate to update the threshold.";
      loadDashboard();
    }
    function labelWith(articleID) {
      return api("POST", "/v1/knowledge/examples", { examples: texts.map(function (t) { return { text: t, article_id: articleID }; }) });
    }
    answer.onclick = function () {
      var id = sel.value; if (!id) return;
      var a = articles.filter(function (x) { return x.external_id === id; })[0];
      answer.disabled = true;
      labelWith(id).then(function (r) { done(id, a ? a.title : id, r.added); },
        function (e) { answer.disabled = false; result.textContent = "Not labelled: " + e.message; });
    };

    var form = el("form", null, "gap-form"); form.hidden = true;
    var tID = selID + "-title", bID = selID + "-body";
    var tl = el("label", "Title"); tl.htmlFor = tID; var ti = el("input"); ti.id = tID; ti.required = true;
    ti.value = g.samples.length ? g.samples[0].text.replace(/\?+$/, "") : "";
    var bl = el("label", "Answer"); bl.htmlFor = bID; var bi = el("textarea"); bi.id = bID; bi.rows = 4; bi.required = true;
    var save = el("button", "Save the article and answer these questions with it", "primary"); save.type = "submit";
    var cancel = el("button", "Cancel"); cancel.type = "button";
    var fa = el("div", null, "actions"); fa.appendChild(save); fa.appendChild(cancel);
    [tl, ti, bl, bi, fa].forEach(function (n) { form.appendChild(n); });
    li.appendChild(form);
    write.onclick = function () { form.hidden = false; ti.focus(); };
    cancel.onclick = function () { form.hidden = true; };
    form.onsubmit = function (e) {
      e.preventDefault();
      save.disabled = true;
      api("POST", "/v1/knowledge/articles", { title: ti.value, body: bi.value }).then(function (a) {
        loadArticles();
        return labelWith(a.external_id).then(function (r) { done(a.external_id, a.title, r.added); });
      }).catch(function (err) { save.disabled = false; result.textContent = "Not saved: " + err.message; });
    };
    return li;
  }

  // ---- Dashboard ----

  function loadDashboard() {
    return api("GET", "/v1/knowledge/dashboard?days=" + DAYS).then(function (body) {
      lastDashboard = body;
      drawDashboard(body);
    }, function (e) { if (e.status === 404) $("dashboard-card").hidden = true; else status(e.message); });
  }

  function tile(value, label, note) {
    var t = el("div", null, "tile");
    t.appendChild(el("strong", String(value)));
    t.appendChild(el("span", label));
    if (note) t.appendChild(el("small", note));
    return t;
  }

  function drawDashboard(d) {
    var t = d.totals, handed = 0, reasons = Object.keys(t.handed_off);
    reasons.forEach(function (r) { handed += t.handed_off[r]; });
    $("dash-range").textContent = d.daily.length ? d.daily[0].day + " to " + d.daily[d.daily.length - 1].day + " (UTC)" : "";
    var tiles = $("dash-tiles"); tiles.textContent = "";
    tiles.appendChild(tile(t.decided, "messages decided"));
    tiles.appendChild(tile(t.answered, "answered automatically", pct(t.answered, t.decided) + " of them"));
    tiles.appendChild(tile(handed, "handed off", pct(handed, t.decided) + " of them"));
    tiles.appendChild(tile(t.clarified, "asked to rephrase"));
    tiles.appendChild(tile(t.not_helpful, "answers that did not help", t.helpful + " did"));

    var days = d.daily.map(function (x) { return x.day; });
    stackedBars($("chart-outcomes"), $("legend-outcomes"), days, [
      { label: "Answered", cls: "s-answered", values: d.daily.map(function (x) { return x.answered; }) },
      { label: "Handed off", cls: "s-handoff", values: d.daily.map(function (x) { return sum(x.handed_off); }) },
      { label: "Asked to rephrase", cls: "s-clarify", values: d.daily.map(function (x) { return x.clarified; }) },
      { label: "Smalltalk and feedback", cls: "s-other", values: d.daily.map(function (x) { return x.replied; }) }
    ]);
    reasons.sort(function (a, b) { return t.handed_off[b] - t.handed_off[a]; });
    stackedBars($("chart-reasons"), $("legend-reasons"), days, reasons.map(function (r, i) {
      return { label: reasonName(r), cls: "s-r" + (i % 8), values: d.daily.map(function (x) { return x.handed_off[r] || 0; }) };
    }));
    stackedBars($("chart-feedback"), $("legend-feedback"), days, [
      { label: "Helped", cls: "s-answered", values: d.daily.map(function (x) { return x.helpful; }) },
      { label: "Did not help", cls: "s-handoff", values: d.daily.map(function (x) { return x.not_helpful; }) }
    ]);
    drawCalibration(d.calibration);
  }

  function sum(o) { var n = 0; for (var k in o) n += o[k]; return n; }

  // stackedBars draws one bar a day, its series stacked, at the
  // container's width (redrawn on resize); each bar's tooltip lists its
  // numbers, and the legend their totals.
  function stackedBars(box, legend, days, series) {
    box.textContent = ""; legend.textContent = "";
    var w = Math.max(box.clientWidth, 240), h = 140, left = 28, bottom = 18, top = 6;
    var totals = days.map(function (_, i) { return series.reduce(function (n, s) { return n + s.values[i]; }, 0); });
    var maxV = Math.max.apply(null, totals.concat([1]));
    var step = (w - left) / Math.max(days.length, 1), bw = Math.max(step * 0.7, 2);
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", w); svg.setAttribute("height", h); svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    svg.setAttribute("role", "img");
    var all = totals.reduce(function (a, b) { return a + b; }, 0);
    svg.setAttribute("aria-label", series.map(function (s) { return s.label; }).join(", ") + ": " + all + " in " + days.length + " days");
    function add(tag, attrs, text) {
      var n = document.createElementNS(SVG, tag);
      for (var k in attrs) n.setAttribute(k, attrs[k]);
      if (text !== undefined) n.textContent = text;
      svg.appendChild(n); return n;
    }
    var plotH = h - bottom - top;
    add("line", { x1: left, x2: w, y1: top + plotH, y2: top + plotH, "class": "axis" });
    add("line", { x1: left, x2: w, y1: top, y2: top, "class": "grid" });
    add("text", { x: left - 4, y: top + 4, "text-anchor": "end", "class": "tick" }, String(maxV));
    add("text", { x: left - 4, y: top + plotH, "text-anchor": "end", "class": "tick" }, "0");
    days.forEach(function (day, i) {
      var x = left + i * step + (step - bw) / 2, y = top + plotH;
      var g = document.createElementNS(SVG, "g"); svg.appendChild(g);
      var tip = document.createElementNS(SVG, "title");
      tip.textContent = day + ": " + series.map(function (s) { return s.label + " " + s.values[i]; }).join(", ");
      g.appendChild(tip);
      series.forEach(function (s) {
        var v = s.values[i]; if (!v) return;
        var bh = plotH * v / maxV; y -= bh;
        var r = document.createElementNS(SVG, "rect");
        r.setAttribute("x", x.toFixed(1)); r.setAttribute("y", y.toFixed(1));
        r.setAttribute("width", bw.toFixed(1)); r.setAttribute("height", bh.toFixed(1)); r.setAttribute("class", s.cls);
        g.appendChild(r);
      });
    });
    // First, middle and last day under the axis: enough to read the dates
    // without crowding a phone's width.
    [0, Math.floor((days.length - 1) / 2), days.length - 1].forEach(function (i, k, arr) {
      if (i < 0 || (k > 0 && i === arr[k - 1])) return;
      var anchor = k === 0 ? "start" : k === 2 ? "end" : "middle";
      var x = k === 0 ? left : k === 2 ? w : left + i * step + step / 2;
      add("text", { x: x, y: h - 4, "text-anchor": anchor, "class": "tick" }, days[i].slice(5));
    });
    box.appendChild(svg);
    if (!series.length || all === 0) {
      legend.appendChild(el("li", "Nothing in this period.", "muted"));
      return;
    }
    series.forEach(function (s) {
      var n = s.values.reduce(function (a, b) { return a + b; }, 0);
      var li = el("li"); var sw = el("span", null, "swatch " + s.cls); li.appendChild(sw);
      li.appendChild(el("span", s.label + " " + n)); legend.appendChild(li);
    });
  }

  function drawCalibration(c) {
    var dl = $("calibration"); dl.textContent = "";
    function row(k, v) { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); }
    var note = "";
    if (c.calibration) {
      var cal = c.calibration;
      row("Threshold", cal.threshold.toFixed(3));
      row("Estimated resolution", (100 * cal.estimated_resolution).toFixed(1) + "%");
      row("Estimated wrong answers", (100 * cal.estimated_wrong_rate).toFixed(1) + "% (target " + (100 * cal.max_wrong_rate).toFixed(1) + "%)");
      row("Examples", cal.samples + " used" + (c.examples_now !== cal.examples ? ", " + c.examples_now + " stored now" : ""));
      row("Ran", new Date(cal.created_at).toLocaleString());
      if (c.examples_now !== cal.examples) note = "Examples changed since: recalibrate to take them into account.";
    } else {
      row("Threshold", c.default_threshold.toFixed(2) + " (default)");
      row("Examples", String(c.examples_now));
      note = "Not calibrated yet: it takes at least " + c.min_examples + " examples.";
    }
    if (c.pinned_threshold) note = "The operator pinned the threshold at " + c.pinned_threshold + " (RELAIS_THRESHOLD); it wins over the calibration.";
    $("calibration-note").textContent = note;
    var btn = $("recalibrate");
    btn.hidden = !c.can_recalibrate;
    // Below the minimum a calibration only says so: the button waits.
    btn.dataset.tooFew = c.examples_now < c.min_examples ? "1" : "";
    drawRun(c.run);
  }

  function drawRun(run) {
    var btn = $("recalibrate"), p = $("recalibration");
    btn.disabled = !!(run && run.running) || btn.dataset.tooFew === "1";
    if (!run) { p.textContent = ""; return; }
    if (run.running) p.textContent = "Calibrating… " + (run.total ? run.done + " of " + run.total + " examples" : "");
    else if (run.error) p.textContent = "The last calibration failed: " + run.error;
    else if (run.too_few) p.textContent = "Too few examples to calibrate: the default threshold stays.";
    else p.textContent = "Calibrated at " + new Date(run.finished_at).toLocaleTimeString() + ".";
  }

  function recalibrate() {
    $("recalibrate").disabled = true;
    api("POST", "/v1/knowledge/calibration").then(function (body) { drawRun(body.run); pollCalibration(); },
      function (e) { $("recalibrate").disabled = false; $("recalibration").textContent = e.message; });
  }
  function pollCalibration() {
    setTimeout(function () {
      api("GET", "/v1/knowledge/calibration").then(function (c) {
        if (c.run && c.run.running) { drawRun(c.run); pollCalibration(); } else loadDashboard();
      }, function (e) { $("recalibration").textContent = e.message; });
    }, 1500);
  }

  function start() {
    $("login-view").hidden = true; $("app").hidden = false; $("logout").hidden = false;
    loadArticles().then(function () { return Promise.all([loadDashboard(), loadGaps(), loadDrafts()]); }, function (e) {
      if (e.status === 401 || e.status === 403) logout(e.status === 401 ? "That token is not valid." : "That token is not an editor's.");
      else status(e.message);
    });
  }
  function logout(msg) {
    token = ""; sessionStorage.removeItem(TOKEN_KEY);
    $("app").hidden = true; $("logout").hidden = true; $("login-view").hidden = false;
    $("login-error").textContent = msg || "";
  }
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault(); token = $("token").value.trim(); sessionStorage.setItem(TOKEN_KEY, token); $("token").value = ""; start();
  });
  $("logout").addEventListener("click", function () { logout(""); });
  $("files").addEventListener("change", function () { upload($("files").files); });
  $("article-filter").addEventListener("input", filterArticles);
  $("recalibrate").addEventListener("click", recalibrate);
  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { if (lastDashboard && !$("app").hidden) drawDashboard(lastDashboard); }, 150);
  });
  var drop = $("drop");
  drop.addEventListener("dragover", function (e) { e.preventDefault(); });
  drop.addEventListener("drop", function (e) { e.preventDefault(); upload(e.dataTransfer.files); });
  if (token) start(); else logout("");
})();
