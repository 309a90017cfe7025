// Relais knowledge console: resolution dashboard, gaps, upload, articles and
// drafts over the JSON API, with the editor token kept in this tab only (as
// the agent console does). Charts are SVG drawn here: no library, nothing
// fetched from elsewhere, so the console's CSP stays strict.
(function () {
  "use strict";

  // Every word this script shows. The page's own words are in
  // knowledge.html (its templates included); a translation replaces this
  // object. {name} is a value filled in; a pair [one, other] is chosen by
  // the count.
  var T = {
    dateRange: "{from} to {to} (UTC)",
    tileDecided: "messages decided",
    tileAnswered: "answered automatically",
    tileHanded: "handed off",
    tileClarified: "asked to rephrase",
    tileNotHelpful: "answers that did not help",
    ofThem: "{pct} of them",
    didHelp: "{n} did",
    seriesAnswered: "Answered",
    seriesHanded: "Handed off",
    seriesClarified: "Asked to rephrase",
    seriesOther: "Smalltalk and feedback",
    seriesHelped: "Helped",
    seriesNotHelped: "Did not help",
    chartSummary: "{series}: {n} in {days} days",
    nothingInPeriod: "Nothing in this period.",
    calThreshold: "Threshold",
    calResolution: "Estimated resolution",
    calWrong: "Estimated wrong answers",
    calWrongValue: "{rate} (target {target})",
    calExamples: "Examples",
    calExamplesUsed: "{used} used",
    calExamplesNow: "{used} used, {now} stored now",
    calRan: "Ran",
    calDefault: "{t} (default)",
    calStale: "Examples changed since: recalibrate to take them into account.",
    calNone: "Not calibrated yet: it takes at least {n} examples.",
    calPinned: "The operator pinned the threshold at {t} (RELAIS_THRESHOLD); it wins over the calibration.",
    runRunning: "Calibrating…",
    runProgress: "Calibrating… {done} of {total} examples",
    runFailed: "The last calibration failed: {error}",
    runTooFew: "Too few examples to calibrate: the default threshold stays.",
    runDone: "Calibrated at {time}.",
    reasons: {
      low_confidence: "Not sure enough", no_knowledge: "Nothing in the knowledge base", repeated_failure: "Still unclear after rephrasing",
      clarify: "Asked to rephrase", customer_request: "Asked for a person", sensitive_topic: "Sensitive topic",
      negative_feedback: "Answer did not help", provider_unavailable: "Model unavailable", media_received: "Photo or file",
      unsupported_message: "Unsupported message"
    },
    reasonOther: "other",
    questions: ["{n} question", "{n} questions"],
    nearestArticle: "Nearest article ",
    deleted: " (deleted)",
    noArticleClose: "No article came close",
    answerWith: "Answer with",
    answerWithThis: "Answer with this article",
    writeNew: "Write a new article",
    titleLabel: "Title",
    answerLabel: "Answer",
    saveAndAnswer: "Save the article and answer these questions with it",
    cancel: "Cancel",
    gapDone: ["✓ {n} question now points to “{title}”{known}. The assistant matches it at once, and this gap leaves the list; recalibrate to update the threshold.",
      "✓ {n} questions now point to “{title}”{known}. The assistant matches them at once, and this gap leaves the list; recalibrate to update the threshold."],
    gapKnown: " ({n} already did)",
    notLabelled: "Not labelled: {error}",
    notSaved: "Not saved: {error}",
    uploading: "Uploading {name} ({i} of {n})…",
    uploadDone: ["{n} file read: {added} articles added, {changed} changed, {unchanged} unchanged.", "{n} files read: {added} articles added, {changed} changed, {unchanged} unchanged."],
    uploadRows: ["{n} row rejected (see its line below).", "{n} rows rejected (see their lines below)."],
    uploadFiles: ["{n} file rejected.", "{n} files rejected."],
    uploadHidden: ["{n} hidden file skipped.", "{n} hidden files skipped."],
    uploadNothing: "Nothing to upload: the folder is empty or holds only hidden files.",
    uploadRefused: "Upload refused: {error}",
    uploadNetwork: "the connection failed",
    noProblem: "none",
    fileRejected: "Whole file rejected: {error}",
    articleCount: ["{n} article", "{n} articles"],
    statsError: "The figures could not be read: {error}",
    statsReasons: "Handed off because: {list}.",
    statsNone: "No customer question came close to it in the last 30 days.",
    sourceNote: "Imported from {source}: importing that file again replaces your changes.",
    saved: "Saved “{title}”.",
    deletedArticle: "Deleted “{title}”.",
    loadFailed: "Could not open the article: {error}",
    draftMeta: "by {author}{ticket} · {date}",
    draftTicket: " · ticket #{id}",
    approveEdited: "Approve with these changes",
    approved: "✓ Approved: it is now the article “{title}”.",
    rejected: "Rejected.",
    notDone: "Not done: {error}",
    badToken: "That token is not valid.",
    notEditor: "That token is not an editor's."
  };
  function fmt(s, v) {
    return String(s).replace(/\{(\w+)\}/g, function (m, k) { return v && v[k] !== undefined ? v[k] : m; });
  }
  function tr(key, v) { return fmt(T[key], v); }
  function trn(key, n, v) {
    var forms = T[key], o = { n: n };
    for (var k in v) o[k] = v[k];
    return fmt(typeof forms === "string" ? forms : forms[n === 1 ? 0 : 1], o);
  }

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
  var uid = 0;
  function nextID(prefix) { uid++; return prefix + "-" + uid; }
  // clone copies a template of the page; each label gets the id of the
  // field named by its data-field.
  function clone(id) {
    var n = $(id).content.firstElementChild.cloneNode(true);
    n.querySelectorAll("label[data-field]").forEach(function (l) {
      var f = l.parentNode.querySelector("[name=" + l.dataset.field + "]");
      if (!f) return;
      f.id = nextID("f-" + l.dataset.field); l.htmlFor = f.id;
    });
    return n;
  }
  function reasonName(r) { return T.reasons[r] || r || T.reasonOther; }

  // ---- Upload ----

  // filesOfEntry walks a dropped folder (webkitGetAsEntry), calling back
  // with its files, each with the path it has inside the drop.
  function filesOfEntry(entry) {
    if (entry.isFile) {
      return new Promise(function (ok) {
        entry.file(function (f) { ok([{ file: f, path: entry.fullPath.replace(/^\//, "") }]); }, function () { ok([]); });
      });
    }
    if (!entry.isDirectory) return Promise.resolve([]);
    var reader = entry.createReader(), all = [];
    // readEntries returns a folder's entries a batch at a time, [] at the end.
    return new Promise(function (ok) {
      (function more() {
        reader.readEntries(function (batch) {
          if (!batch.length) {
            Promise.all(all.map(filesOfEntry)).then(function (lists) { ok([].concat.apply([], lists)); });
            return;
          }
          all = all.concat(Array.prototype.slice.call(batch));
          more();
        }, function () { ok([]); });
      })();
    });
  }

  function dropped(e) {
    e.preventDefault();
    $("drop").classList.remove("over");
    var items = e.dataTransfer.items;
    var entries = [];
    if (items && items.length && items[0].webkitGetAsEntry) {
      for (var i = 0; i < items.length; i++) {
        var en = items[i].kind === "file" ? items[i].webkitGetAsEntry() : null;
        if (en) entries.push(en);
      }
    }
    if (!entries.length) { upload(fileList(e.dataTransfer.files)); return; }
    Promise.all(entries.map(filesOfEntry)).then(function (lists) { upload([].concat.apply([], lists)); });
  }

  function fileList(files) {
    var out = [];
    for (var i = 0; i < files.length; i++) out.push({ file: files[i], path: files[i].webkitRelativePath || files[i].name });
    return out;
  }

  // upload imports the files one request each, so that a folder of any
  // size stays under the server's upload limit, and one file's failure is
  // its row, not the batch's. Hidden files (.DS_Store, .git) are skipped.
  function upload(items) {
    var hidden = 0;
    items = items.filter(function (it) {
      var skip = it.path.split("/").some(function (part) { return part.charAt(0) === "."; });
      if (skip) hidden++;
      return !skip;
    });
    var summary = $("upload-summary");
    if (!items.length) { summary.textContent = hidden ? tr("uploadNothing") : ""; return; }
    var tb = $("results"); tb.textContent = "";
    $("results-table").hidden = false;
    $("upload-progress").hidden = false;
    summary.textContent = "";
    var totals = { added: 0, changed: 0, unchanged: 0 }, rows = 0, failed = 0, i = 0;
    var totalBytes = items.reduce(function (n, it) { return n + it.file.size; }, 0) || 1, doneBytes = 0;
    (function next() {
      if (i >= items.length) {
        $("upload-progress").hidden = true;
        var parts = [trn("uploadDone", items.length, totals)];
        if (rows) parts.push(trn("uploadRows", rows));
        if (failed) parts.push(trn("uploadFiles", failed));
        if (hidden) parts.push(trn("uploadHidden", hidden));
        summary.textContent = parts.join(" ");
        summary.className = "upload-summary" + (rows || failed ? " has-problems" : "");
        loadArticles();
        return;
      }
      var it = items[i];
      $("progress-text").textContent = tr("uploading", { name: it.path, i: i + 1, n: items.length });
      sendFile(it.file, function (loaded) {
        $("progress").value = 100 * (doneBytes + loaded) / totalBytes;
      }, function (res) {
        doneBytes += it.file.size; i++;
        if (res.error) failed++;
        else { totals.added += res.imported; totals.changed += res.updated; totals.unchanged += res.unchanged; rows += res.problems.length; }
        tb.appendChild(resultRow(it.path, res));
        next();
      });
    })();
  }

  // sendFile posts one file and calls done with its result: the server's,
  // or one made of the error when there is none.
  function sendFile(file, progress, done) {
    var form = new FormData();
    form.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/knowledge/import");
    xhr.setRequestHeader("Authorization", "Bearer " + token);
    xhr.upload.onprogress = function (e) { if (e.lengthComputable) progress(file.size * e.loaded / e.total); };
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (e) { /* below */ }
      if (body.files && body.files.length) { done(body.files[0]); return; }
      if (xhr.status === 401 || xhr.status === 403) { logout(xhr.status === 401 ? tr("badToken") : tr("notEditor")); }
      done({ file: file.name, imported: 0, updated: 0, unchanged: 0, problems: [], error: (body.error && body.error.message) || xhr.statusText || String(xhr.status) });
    };
    xhr.onerror = function () { done({ file: file.name, imported: 0, updated: 0, unchanged: 0, problems: [], error: tr("uploadNetwork") }); };
    xhr.send(form);
  }

  function resultRow(path, f) {
    var heads = $("results-table").querySelectorAll("thead th");
    var tr0 = el("tr", null, f.error ? "failed" : f.problems.length ? "partial" : "");
    function cell(text, cls, k) { var td = el("td", text, cls); td.dataset.label = heads[k].textContent; tr0.appendChild(td); }
    cell(path, "file", 0);
    [f.imported, f.updated, f.unchanged].forEach(function (v, k) { cell(f.error ? "–" : String(v), "num", k + 1); });
    var p = el("td", null, "problems"); p.dataset.label = heads[4].textContent;
    if (f.error) p.appendChild(el("span", tr("fileRejected", { error: f.error }), "error"));
    else if (!f.problems.length) p.appendChild(el("span", T.noProblem, "muted"));
    else {
      var ul = el("ul", null, "problem-list");
      f.problems.forEach(function (x) { ul.appendChild(el("li", x)); });
      p.appendChild(ul);
    }
    tr0.appendChild(p);
    return tr0;
  }

  // ---- Articles ----

  function loadArticles() {
    return api("GET", "/v1/knowledge/articles?limit=200").then(function (body) {
      articles = body.articles;
      var ul = $("articles");
      var open = ul.querySelector("li.open");
      var openID = open ? open.dataset.id : "";
      ul.textContent = "";
      body.articles.forEach(function (a) {
        var li = el("li", null, "article");
        li.dataset.id = a.id;
        li.dataset.match = (a.title + " " + a.external_id).toLowerCase();
        var head = el("button", null, "article-head"); head.type = "button";
        head.setAttribute("aria-expanded", "false");
        head.appendChild(el("strong", a.title, "article-title"));
        head.appendChild(el("span", a.external_id, "muted id"));
        head.onclick = function () { if (li.classList.contains("open")) closeArticle(li); else openArticle(li, a); };
        li.appendChild(head);
        ul.appendChild(li);
        if (String(a.id) === openID) openArticle(li, a);
      });
      $("articles-empty").hidden = body.articles.length > 0;
      $("jump-articles").textContent = body.articles.length ? String(body.articles.length) : "";
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
      li.hidden = q !== "" && li.dataset.match.indexOf(q) < 0 && !li.classList.contains("open");
      if (!li.hidden) shown++;
    });
    $("articles-none").hidden = shown > 0 || $("articles").children.length === 0;
  }

  function closeArticle(li) {
    li.classList.remove("open");
    li.querySelector(".article-head").setAttribute("aria-expanded", "false");
    var ed = li.querySelector(".editor"); if (ed) ed.remove();
  }

  // openArticle shows the article's form and its figures under its row;
  // one open at a time.
  function openArticle(li, summary) {
    Array.prototype.forEach.call($("articles").querySelectorAll("li.open"), closeArticle);
    li.classList.add("open");
    li.querySelector(".article-head").setAttribute("aria-expanded", "true");
    var ed = clone("article-editor-tpl");
    li.appendChild(ed);
    var form = ed.querySelector("form"), err = ed.querySelector(".form-error");
    Array.prototype.forEach.call(form.elements, function (f) { f.disabled = true; });
    api("GET", "/v1/knowledge/articles/" + summary.id).then(function (a) {
      fillArticle(ed, a);
      Array.prototype.forEach.call(form.elements, function (f) { f.disabled = false; });
      form.elements.title.focus();
    }, function (e) { err.textContent = tr("loadFailed", { error: e.message }); });
    loadStats(ed, summary.id);
  }

  function fillArticle(ed, a) {
    var form = ed.querySelector("form");
    form.elements.title.value = a.title;
    form.elements.body.value = a.body;
    form.elements.tags.value = (a.tags || []).join(", ");
    form.elements.topic.value = a.topic || "";
    form.elements.language.value = a.language === "en" || a.language === "fr" ? a.language : "";
    form.elements.phrasings.value = (a.phrasings || []).join("\n");
    var src = a.source || "";
    // Uploads are "upload:NAME", relais ingest's files their path.
    var fromFile = src.indexOf("upload:") === 0 || /^([A-Za-z]:)?[\\/]/.test(src);
    ed.querySelector(".source-note").textContent = fromFile ? tr("sourceNote", { source: src.replace(/^upload:/, "") }) : "";
    var li = ed.parentNode, err = ed.querySelector(".form-error");
    var confirmBox = ed.querySelector(".confirm");
    form.onsubmit = function (e) {
      e.preventDefault();
      err.textContent = "";
      var save = form.querySelector("button[type=submit]"); save.disabled = true;
      api("PUT", "/v1/knowledge/articles/" + a.id, {
        title: form.elements.title.value, body: form.elements.body.value, topic: form.elements.topic.value.trim(),
        language: form.elements.language.value,
        tags: splitList(form.elements.tags.value, /,/), phrasings: splitList(form.elements.phrasings.value, /\n/)
      }).then(function (saved) {
        save.disabled = false;
        status(tr("saved", { title: saved.title }));
        var t = li.querySelector(".article-title"); if (t) t.textContent = saved.title;
        a = saved;
        loadArticles();
      }, function (e2) { save.disabled = false; err.textContent = tr("notSaved", { error: e2.message }); });
    };
    ed.querySelector(".close").onclick = function () { closeArticle(li); };
    ed.querySelector(".delete").onclick = function () {
      ed.querySelector(".confirm-title").textContent = a.title;
      confirmBox.hidden = false;
      ed.querySelector(".confirm-no").focus();
    };
    ed.querySelector(".confirm-no").onclick = function () { confirmBox.hidden = true; };
    ed.querySelector(".confirm-yes").onclick = function () {
      api("DELETE", "/v1/knowledge/articles/" + a.id).then(function () {
        status(tr("deletedArticle", { title: a.title }));
        li.remove();
        loadArticles();
      }, function (e2) { confirmBox.hidden = true; err.textContent = tr("notDone", { error: e2.message }); });
    };
  }

  function splitList(s, sep) {
    return s.split(sep).map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
  }

  function loadStats(ed, id) {
    return api("GET", "/v1/knowledge/articles/" + id + "/stats?days=" + DAYS).then(function (st) {
      var handed = sum(st.handed_off);
      var values = { answered: st.answered, helpful: st.helpful, not_helpful: st.not_helpful, handed_off: handed, clarified: st.clarified };
      ed.querySelectorAll("[data-stat]").forEach(function (n) { n.textContent = String(values[n.dataset.stat]); });
      var reasons = Object.keys(st.handed_off).sort(function (x, y) { return st.handed_off[y] - st.handed_off[x]; });
      var note = ed.querySelector(".stats-reasons");
      if (reasons.length) note.textContent = tr("statsReasons", { list: reasons.map(function (r) { return reasonName(r) + " " + st.handed_off[r]; }).join(", ") });
      else if (!st.answered && !st.clarified && !st.helpful && !st.not_helpful) note.textContent = tr("statsNone");
    }, function (e) {
      if (e.status === 404) { ed.querySelector(".article-stats").hidden = true; return; }
      ed.querySelector(".stats-error").textContent = tr("statsError", { error: e.message });
    });
  }

  // ---- Drafts ----

  function loadDrafts() {
    return api("GET", "/v1/knowledge/drafts?status=draft").then(function (body) {
      var ul = $("drafts"); ul.textContent = "";
      $("drafts-empty").hidden = body.drafts.length > 0;
      $("jump-drafts").textContent = body.drafts.length ? String(body.drafts.length) : "";
      body.drafts.forEach(function (d) { ul.appendChild(renderDraft(d)); });
    }, function (e) { if (e.status === 404) $("drafts-card").hidden = true; else status(e.message); });
  }

  function renderDraft(d) {
    var li = clone("draft-tpl");
    li.dataset.id = d.id;
    li.querySelector(".draft-title").textContent = d.title;
    li.querySelector(".draft-meta").textContent = tr("draftMeta", {
      author: d.author, ticket: d.ticket_id ? tr("draftTicket", { id: d.ticket_id }) : "",
      date: new Date(d.created_at).toLocaleDateString()
    });
    if (d.question) li.querySelector(".draft-question q").textContent = d.question;
    else li.querySelector(".draft-question").hidden = true;
    li.querySelector(".draft-body").textContent = d.body;
    var form = li.querySelector(".draft-form"), approve = li.querySelector(".approve"), edit = li.querySelector(".edit");
    var cancelEdit = li.querySelector(".cancel-edit"), reject = li.querySelector(".reject");
    var confirmBox = li.querySelector(".confirm"), result = li.querySelector(".draft-result");
    var approveText = approve.textContent;
    function editing(on) {
      form.hidden = !on; edit.hidden = on; cancelEdit.hidden = !on;
      li.querySelector(".draft-body").hidden = on; li.querySelector(".draft-title").hidden = on;
      approve.textContent = on ? T.approveEdited : approveText;
      if (on) { form.elements.title.value = d.title; form.elements.body.value = d.body; form.elements.title.focus(); }
    }
    edit.onclick = function () { editing(true); };
    cancelEdit.onclick = function () { editing(false); };
    function finished(msg, title) {
      li.classList.add("done");
      var t = li.querySelector(".draft-title"); t.textContent = title || d.title; t.hidden = false;
      li.querySelector(".draft-actions").hidden = true; confirmBox.hidden = true; form.hidden = true;
      result.textContent = msg;
      var left = $("drafts").querySelectorAll("li.draft:not(.done)").length;
      $("jump-drafts").textContent = left ? String(left) : "";
    }
    approve.onclick = function () {
      var body;
      if (!form.hidden) {
        if (!form.reportValidity()) return;
        body = { title: form.elements.title.value, body: form.elements.body.value };
      }
      approve.disabled = true;
      api("POST", "/v1/knowledge/drafts/" + d.id + "/approve", body).then(function () {
        finished(tr("approved", { title: body ? body.title : d.title }), body && body.title);
        loadArticles();
      }, function (e) { approve.disabled = false; result.textContent = tr("notDone", { error: e.message }); });
    };
    reject.onclick = function () { confirmBox.hidden = false; li.querySelector(".confirm-no").focus(); };
    li.querySelector(".confirm-no").onclick = function () { confirmBox.hidden = true; };
    li.querySelector(".confirm-yes").onclick = function () {
      api("POST", "/v1/knowledge/drafts/" + d.id + "/reject").then(function () { finished(T.rejected); },
        function (e) { confirmBox.hidden = true; result.textContent = tr("notDone", { error: e.message }); });
    };
    return li;
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
      $("jump-gaps").textContent = body.gaps.length ? String(body.gaps.length) : "";
      body.gaps.forEach(function (g) { ul.appendChild(renderGap(g)); });
    }, function (e) { if (e.status === 404) $("gaps-card").hidden = true; else status(e.message); });
  }

  function renderGap(g) {
    var li = el("li", null, "gap");
    var head = el("div", null, "gap-head");
    head.appendChild(el("span", trn("questions", g.count), "count"));
    var what = el("div", null, "gap-what");
    if (g.article_id) {
      what.appendChild(el("span", T.nearestArticle, "muted"));
      what.appendChild(el("strong", g.title || g.article_id));
      if (g.title) what.appendChild(el("span", " " + g.article_id, "muted id"));
      else what.appendChild(el("span", T.deleted, "muted"));
    } else {
      what.appendChild(el("strong", T.noArticleClose));
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
    var label = el("label", T.answerWith, "inline"); var sel = el("select", null, "gap-article");
    var selID = nextID("gap-article");
    sel.id = selID; label.htmlFor = selID; sel.dataset.nearest = g.article_id;
    fillArticleChoice(sel);
    var answer = el("button", T.answerWithThis, "primary"); answer.type = "button";
    var write = el("button", T.writeNew); write.type = "button";
    if (!articles.length) { answer.disabled = true; sel.disabled = true; }
    var choose = el("div", null, "choose"); choose.appendChild(label); choose.appendChild(sel);
    actions.appendChild(choose); actions.appendChild(answer); actions.appendChild(write);
    li.appendChild(actions);
    var result = el("p", null, "gap-result"); result.setAttribute("role", "status"); li.appendChild(result);

    var texts = g.samples.map(function (s) { return s.text; });
    function done(articleID, title, added) {
      actions.hidden = true; form.hidden = true;
      li.classList.add("done");
      result.textContent = trn("gapDone", texts.length, {
        title: title,
        known: added < texts.length ? tr("gapKnown", { n: texts.length - added }) : ""
      });
      var left = $("gaps").querySelectorAll("li.gap:not(.done)").length;
      $("jump-gaps").textContent = left ? String(left) : "";
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
        function (e) { answer.disabled = false; result.textContent = tr("notLabelled", { error: e.message }); });
    };

    var form = el("form", null, "gap-form"); form.hidden = true;
    var tID = selID + "-title", bID = selID + "-body";
    var tl = el("label", T.titleLabel); tl.htmlFor = tID; var ti = el("input"); ti.id = tID; ti.required = true;
    ti.value = g.samples.length ? g.samples[0].text.replace(/\?+$/, "") : "";
    var bl = el("label", T.answerLabel); bl.htmlFor = bID; var bi = el("textarea"); bi.id = bID; bi.rows = 4; bi.required = true;
    var save = el("button", T.saveAndAnswer, "primary"); save.type = "submit";
    var cancel = el("button", T.cancel); cancel.type = "button";
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
      }).catch(function (err) { save.disabled = false; result.textContent = tr("notSaved", { error: err.message }); });
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
    $("dash-range").textContent = d.daily.length ? tr("dateRange", { from: d.daily[0].day, to: d.daily[d.daily.length - 1].day }) : "";
    var tiles = $("dash-tiles"); tiles.textContent = "";
    tiles.appendChild(tile(t.decided, T.tileDecided));
    tiles.appendChild(tile(t.answered, T.tileAnswered, tr("ofThem", { pct: pct(t.answered, t.decided) })));
    tiles.appendChild(tile(handed, T.tileHanded, tr("ofThem", { pct: pct(handed, t.decided) })));
    tiles.appendChild(tile(t.clarified, T.tileClarified));
    tiles.appendChild(tile(t.not_helpful, T.tileNotHelpful, tr("didHelp", { n: t.helpful })));

    var days = d.daily.map(function (x) { return x.day; });
    stackedBars($("chart-outcomes"), $("legend-outcomes"), days, [
      { label: T.seriesAnswered, cls: "s-answered", values: d.daily.map(function (x) { return x.answered; }) },
      { label: T.seriesHanded, cls: "s-handoff", values: d.daily.map(function (x) { return sum(x.handed_off); }) },
      { label: T.seriesClarified, cls: "s-clarify", values: d.daily.map(function (x) { return x.clarified; }) },
      { label: T.seriesOther, cls: "s-other", values: d.daily.map(function (x) { return x.replied; }) }
    ]);
    reasons.sort(function (a, b) { return t.handed_off[b] - t.handed_off[a]; });
    stackedBars($("chart-reasons"), $("legend-reasons"), days, reasons.map(function (r, i) {
      return { label: reasonName(r), cls: "s-r" + (i % 8), values: d.daily.map(function (x) { return x.handed_off[r] || 0; }) };
    }));
    stackedBars($("chart-feedback"), $("legend-feedback"), days, [
      { label: T.seriesHelped, cls: "s-answered", values: d.daily.map(function (x) { return x.helpful; }) },
      { label: T.seriesNotHelped, cls: "s-handoff", values: d.daily.map(function (x) { return x.not_helpful; }) }
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
    svg.setAttribute("aria-label", tr("chartSummary", { series: series.map(function (s) { return s.label; }).join(", "), n: all, days: days.length }));
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
      legend.appendChild(el("li", T.nothingInPeriod, "muted"));
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
    function rate(x) { return (100 * x).toFixed(1) + "%"; }
    var note = "";
    if (c.calibration) {
      var cal = c.calibration;
      row(T.calThreshold, cal.threshold.toFixed(3));
      row(T.calResolution, rate(cal.estimated_resolution));
      row(T.calWrong, tr("calWrongValue", { rate: rate(cal.estimated_wrong_rate), target: rate(cal.max_wrong_rate) }));
      row(T.calExamples, c.examples_now !== cal.examples ? tr("calExamplesNow", { used: cal.samples, now: c.examples_now }) : tr("calExamplesUsed", { used: cal.samples }));
      row(T.calRan, new Date(cal.created_at).toLocaleString());
      if (c.examples_now !== cal.examples) note = T.calStale;
    } else {
      row(T.calThreshold, tr("calDefault", { t: c.default_threshold.toFixed(2) }));
      row(T.calExamples, String(c.examples_now));
      note = tr("calNone", { n: c.min_examples });
    }
    if (c.pinned_threshold) note = tr("calPinned", { t: c.pinned_threshold });
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
    if (run.running) p.textContent = run.total ? tr("runProgress", { done: run.done, total: run.total }) : T.runRunning;
    else if (run.error) p.textContent = tr("runFailed", { error: run.error });
    else if (run.too_few) p.textContent = T.runTooFew;
    else p.textContent = tr("runDone", { time: new Date(run.finished_at).toLocaleTimeString() });
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
    $("login-view").hidden = true; $("app").hidden = false; $("logout").hidden = false; $("jump").hidden = false;
    loadArticles().then(function () { return Promise.all([loadDashboard(), loadGaps(), loadDrafts()]); }, function (e) {
      if (e.status === 401 || e.status === 403) logout(e.status === 401 ? T.badToken : T.notEditor);
      else status(e.message);
    });
  }
  function logout(msg) {
    token = ""; sessionStorage.removeItem(TOKEN_KEY);
    $("app").hidden = true; $("logout").hidden = true; $("jump").hidden = true; $("login-view").hidden = false;
    $("login-error").textContent = msg || "";
  }
  $("login-form").addEventListener("submit", function (e) {
    e.preventDefault(); token = $("token").value.trim(); sessionStorage.setItem(TOKEN_KEY, token); $("token").value = ""; start();
  });
  $("logout").addEventListener("click", function () { logout(""); });
  $("choose-files").addEventListener("click", function () { $("files").click(); });
  $("choose-folder").addEventListener("click", function () { $("folder").click(); });
  ["files", "folder"].forEach(function (id) {
    $(id).addEventListener("change", function () { upload(fileList($(id).files)); $(id).value = ""; });
  });
  $("article-filter").addEventListener("input", filterArticles);
  $("recalibrate").addEventListener("click", recalibrate);
  var resizing = 0;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { if (lastDashboard && !$("app").hidden) drawDashboard(lastDashboard); }, 150);
  });
  var drop = $("drop");
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", dropped);
  if (token) start(); else logout("");
})();
