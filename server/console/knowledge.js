// Relais knowledge console: resolution dashboard, gaps, upload, articles and
// drafts over the JSON API, with the editor token kept in this tab only (as
// the agent console does). Charts are SVG drawn here: no library, nothing
// fetched from elsewhere, so the console's CSP stays strict.
(function () {
  "use strict";

  // Every word this script shows is in knowledge-text.js, by key; the
  // page's own words are in knowledge.html (its templates included),
  // marked with data-i18n. t builds a text in the chosen language; tn
  // a count's, from its key's ".one" or ".many" form.
  var I18N = window.RelaisI18n;
  I18N.add("en", window.RelaisKnowledgeText.en);
  I18N.add("fr", window.RelaisKnowledgeText.fr);
  var t = I18N.t;
  function tn(key, n, params) {
    var o = { n: num(n) };
    for (var k in params) o[k] = params[k];
    var one = typeof Intl !== "undefined" && Intl.PluralRules ?
      new Intl.PluralRules(I18N.locale()).select(n) === "one" : n === 1;
    return t(key + (one ? ".one" : ".many"), o);
  }
  // Numbers and dates in the chosen language: 1,234 and 12.5% in English,
  // 1 234 and 12,5 % in French.
  function num(n, digits) {
    var o = digits === undefined ? {} : { minimumFractionDigits: digits, maximumFractionDigits: digits };
    return Number(n).toLocaleString(I18N.locale(), o);
  }
  function percent(x, digits) {
    return Number(x).toLocaleString(I18N.locale(), { style: "percent", minimumFractionDigits: digits || 0, maximumFractionDigits: digits || 0 });
  }
  // day shows one of the dashboard's UTC days ("2025-05-12").
  function day(s, opts) {
    var o = { timeZone: "UTC" };
    for (var k in opts) o[k] = opts[k];
    return new Date(s + "T00:00:00Z").toLocaleDateString(I18N.locale(), o);
  }
  // say sets a node's text now and again whenever the language changes
  // (fn builds it): the texts a script builds follow the switcher as the
  // page's data-i18n ones do, without reloading what they show.
  function say(node, fn) {
    node.classList.add("i18n-fn");
    node.relabel = function () { node.textContent = fn(); };
    node.relabel();
    return node;
  }
  function unsay(node) { node.classList.remove("i18n-fn"); node.relabel = null; node.textContent = ""; }

  var TOKEN_KEY = "relais.editor.token";
  var DAYS = 30;
  var SVG = "http://www.w3.org/2000/svg";
  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  var articles = []; // the list as last loaded, for the gaps' article choice
  var lastDashboard = null; // redrawn at the new width when the window resizes
  var lastRun = null; // the calibration's last news, redrawn in a new language
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
  // label builds an element showing the text of a key, which follows the
  // language switcher as the page's own words do.
  function label(tag, key, cls) {
    var n = el(tag, t(key), cls);
    n.setAttribute("data-i18n", key);
    return n;
  }
  // status shows a message as it is (the server's); notice one of the
  // console's, by key.
  function status(msg) { unsay($("status")); $("status").textContent = msg; }
  function notice(key, params) { say($("status"), function () { return t(key, params); }); }
  function pct(n, d) { return d ? percent(n / d) : "–"; }
  var uid = 0;
  function nextID(prefix) { uid++; return prefix + "-" + uid; }
  // clone copies a template of the page; each label gets the id of the
  // field named by its data-field.
  function clone(id) {
    var n = $(id).content.firstElementChild.cloneNode(true);
    I18N.apply(n);
    n.querySelectorAll("label[data-field]").forEach(function (l) {
      var f = l.parentNode.querySelector("[name=" + l.dataset.field + "]");
      if (!f) return;
      f.id = nextID("f-" + l.dataset.field); l.htmlFor = f.id;
    });
    return n;
  }
  function reasonName(r) {
    if (!r) return t("reason.other");
    var name = t("reason." + r);
    return name === "reason." + r ? r : name;
  }

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
    if (!items.length) { if (hidden) say(summary, function () { return t("upload.nothing"); }); else unsay(summary); return; }
    var tb = $("results"); tb.textContent = "";
    $("results-table").hidden = false;
    $("upload-progress").hidden = false;
    unsay(summary);
    var totals = { added: 0, changed: 0, unchanged: 0 }, rows = 0, failed = 0, i = 0;
    var totalBytes = items.reduce(function (n, it) { return n + it.file.size; }, 0) || 1, doneBytes = 0;
    (function next() {
      if (i >= items.length) {
        $("upload-progress").hidden = true;
        say(summary, function () {
          var parts = [tn("upload.done", items.length, { added: num(totals.added), changed: num(totals.changed), unchanged: num(totals.unchanged) })];
          if (rows) parts.push(tn("upload.rows", rows));
          if (failed) parts.push(tn("upload.files", failed));
          if (hidden) parts.push(tn("upload.hidden", hidden));
          return parts.join(" ");
        });
        summary.className = "upload-summary" + (rows || failed ? " has-problems" : "");
        loadArticles();
        return;
      }
      var it = items[i];
      $("progress-text").textContent = t("upload.sending", { name: it.path, i: num(i + 1), n: num(items.length) });
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
      if (xhr.status === 401 || xhr.status === 403) { logout(xhr.status === 401 ? "login.invalid" : "login.notEditor"); }
      done({ file: file.name, imported: 0, updated: 0, unchanged: 0, problems: [], error: (body.error && body.error.message) || xhr.statusText || String(xhr.status) });
    };
    xhr.onerror = function () { done({ file: file.name, imported: 0, updated: 0, unchanged: 0, problems: [], error: t("upload.network") }); };
    xhr.send(form);
  }

  function resultRow(path, f) {
    var heads = $("results-table").querySelectorAll("thead th");
    var tr0 = el("tr", null, f.error ? "failed" : f.problems.length ? "partial" : "");
    // On a phone each cell shows its column's name (data-label), in the
    // page's language.
    function labelled(td, k) {
      td.classList.add("i18n-fn");
      td.relabel = function () { td.dataset.label = t("upload.cellLabel", { label: heads[k].textContent }); };
      td.relabel();
      return td;
    }
    function cell(text, cls, k) { tr0.appendChild(labelled(el("td", text, cls), k)); }
    cell(path, "file", 0);
    [f.imported, f.updated, f.unchanged].forEach(function (v, k) { cell(f.error ? "–" : num(v), "num", k + 1); });
    var p = labelled(el("td", null, "problems"), 4);
    if (f.error) p.appendChild(say(el("span", null, "error"), function () { return t("upload.fileRejected", { error: f.error }); }));
    else if (!f.problems.length) p.appendChild(label("span", "upload.noProblem", "muted"));
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
      $("jump-articles").textContent = body.articles.length ? num(body.articles.length) : "";
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
    }, function (e) { say(err, function () { return t("article.loadFailed", { error: e.message }); }); });
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
    if (fromFile) say(ed.querySelector(".source-note"), function () { return t("article.source", { source: src.replace(/^upload:/, "") }); });
    else unsay(ed.querySelector(".source-note"));
    var li = ed.parentNode, err = ed.querySelector(".form-error");
    var confirmBox = ed.querySelector(".confirm");
    form.onsubmit = function (e) {
      e.preventDefault();
      unsay(err);
      var save = form.querySelector("button[type=submit]"); save.disabled = true;
      api("PUT", "/v1/knowledge/articles/" + a.id, {
        title: form.elements.title.value, body: form.elements.body.value, topic: form.elements.topic.value.trim(),
        language: form.elements.language.value,
        tags: splitList(form.elements.tags.value, /,/), phrasings: splitList(form.elements.phrasings.value, /\n/)
      }).then(function (saved) {
        save.disabled = false;
        notice("article.saved", { title: saved.title });
        var head = li.querySelector(".article-title"); if (head) head.textContent = saved.title;
        a = saved;
        loadArticles();
      }, function (e2) { save.disabled = false; say(err, function () { return t("article.notSaved", { error: e2.message }); }); });
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
        notice("article.deleted", { title: a.title });
        li.remove();
        loadArticles();
      }, function (e2) { confirmBox.hidden = true; say(err, function () { return t("notDone", { error: e2.message }); }); });
    };
  }

  function splitList(s, sep) {
    return s.split(sep).map(function (x) { return x.trim(); }).filter(function (x) { return x !== ""; });
  }

  function loadStats(ed, id) {
    return api("GET", "/v1/knowledge/articles/" + id + "/stats?days=" + DAYS).then(function (st) {
      var handed = sum(st.handed_off);
      var values = { answered: st.answered, helpful: st.helpful, not_helpful: st.not_helpful, handed_off: handed, clarified: st.clarified };
      ed.querySelectorAll("[data-stat]").forEach(function (n) { n.textContent = num(values[n.dataset.stat]); });
      var reasons = Object.keys(st.handed_off).sort(function (x, y) { return st.handed_off[y] - st.handed_off[x]; });
      var note = ed.querySelector(".stats-reasons");
      if (reasons.length) say(note, function () { return t("article.statsReasons", { list: reasons.map(function (r) { return reasonName(r) + " " + num(st.handed_off[r]); }).join(", ") }); });
      else if (!st.answered && !st.clarified && !st.helpful && !st.not_helpful) say(note, function () { return t("article.statsNone"); });
    }, function (e) {
      if (e.status === 404) { ed.querySelector(".article-stats").hidden = true; return; }
      say(ed.querySelector(".stats-error"), function () { return t("article.statsError", { error: e.message }); });
    });
  }

  // ---- Drafts ----

  function loadDrafts() {
    return api("GET", "/v1/knowledge/drafts?status=draft").then(function (body) {
      var ul = $("drafts"); ul.textContent = "";
      $("drafts-empty").hidden = body.drafts.length > 0;
      $("jump-drafts").textContent = body.drafts.length ? num(body.drafts.length) : "";
      body.drafts.forEach(function (d) { ul.appendChild(renderDraft(d)); });
    }, function (e) { if (e.status === 404) $("drafts-card").hidden = true; else status(e.message); });
  }

  function renderDraft(d) {
    var li = clone("draft-tpl");
    li.dataset.id = d.id;
    li.querySelector(".draft-title").textContent = d.title;
    say(li.querySelector(".draft-meta"), function () {
      return t("draft.meta", {
        author: d.author, ticket: d.ticket_id ? t("draft.ticket", { id: d.ticket_id }) : "",
        date: new Date(d.created_at).toLocaleDateString(I18N.locale(), { day: "numeric", month: "short", year: "numeric" })
      });
    });
    if (d.question) li.querySelector(".draft-question q").textContent = d.question;
    else li.querySelector(".draft-question").hidden = true;
    li.querySelector(".draft-body").textContent = d.body;
    var form = li.querySelector(".draft-form"), approve = li.querySelector(".approve"), edit = li.querySelector(".edit");
    var cancelEdit = li.querySelector(".cancel-edit"), reject = li.querySelector(".reject");
    var confirmBox = li.querySelector(".confirm"), result = li.querySelector(".draft-result");
    function editing(on) {
      form.hidden = !on; edit.hidden = on; cancelEdit.hidden = !on;
      li.querySelector(".draft-body").hidden = on; li.querySelector(".draft-title").hidden = on;
      approve.setAttribute("data-i18n", on ? "draft.approveEdited" : "draft.approve");
      approve.textContent = t(approve.getAttribute("data-i18n"));
      if (on) { form.elements.title.value = d.title; form.elements.body.value = d.body; form.elements.title.focus(); }
    }
    edit.onclick = function () { editing(true); };
    cancelEdit.onclick = function () { editing(false); };
    function finished(msg, title) {
      li.classList.add("done");
      var head = li.querySelector(".draft-title"); head.textContent = title || d.title; head.hidden = false;
      li.querySelector(".draft-actions").hidden = true; confirmBox.hidden = true; form.hidden = true;
      say(result, msg);
      var left = $("drafts").querySelectorAll("li.draft:not(.done)").length;
      $("jump-drafts").textContent = left ? num(left) : "";
    }
    approve.onclick = function () {
      var body;
      if (!form.hidden) {
        if (!form.reportValidity()) return;
        body = { title: form.elements.title.value, body: form.elements.body.value };
      }
      approve.disabled = true;
      api("POST", "/v1/knowledge/drafts/" + d.id + "/approve", body).then(function () {
        finished(function () { return t("draft.approved", { title: body ? body.title : d.title }); }, body && body.title);
        loadArticles();
      }, function (e) { approve.disabled = false; say(result, function () { return t("notDone", { error: e.message }); }); });
    };
    reject.onclick = function () { confirmBox.hidden = false; li.querySelector(".confirm-no").focus(); };
    li.querySelector(".confirm-no").onclick = function () { confirmBox.hidden = true; };
    li.querySelector(".confirm-yes").onclick = function () {
      api("POST", "/v1/knowledge/drafts/" + d.id + "/reject").then(function () { finished(function () { return t("draft.rejected"); }); },
        function (e) { confirmBox.hidden = true; say(result, function () { return t("notDone", { error: e.message }); }); });
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
      $("jump-gaps").textContent = body.gaps.length ? num(body.gaps.length) : "";
      body.gaps.forEach(function (g) { ul.appendChild(renderGap(g)); });
    }, function (e) { if (e.status === 404) $("gaps-card").hidden = true; else status(e.message); });
  }

  function renderGap(g) {
    var li = el("li", null, "gap");
    var head = el("div", null, "gap-head");
    head.appendChild(say(el("span", null, "count"), function () { return tn("gap.questions", g.count); }));
    var what = el("div", null, "gap-what");
    if (g.article_id) {
      what.appendChild(label("span", "gap.nearest", "muted"));
      what.appendChild(el("strong", g.title || g.article_id));
      if (g.title) what.appendChild(el("span", " " + g.article_id, "muted id"));
      else what.appendChild(label("span", "gap.deleted", "muted"));
    } else {
      what.appendChild(label("strong", "gap.noArticle"));
    }
    head.appendChild(what);
    li.appendChild(head);

    var qs = el("ul", null, "samples");
    g.samples.forEach(function (s) {
      var q = el("li");
      q.appendChild(say(el("span", null, "q"), function () { return t("gap.quote", { q: s.text }); }));
      q.appendChild(say(el("span", null, "meta"), function () { return (s.times > 1 ? "×" + num(s.times) + " · " : "") + reasonName(s.reason); }));
      qs.appendChild(q);
    });
    li.appendChild(qs);

    var actions = el("div", null, "actions gap-actions");
    var choice = label("label", "gap.answerWith", "inline"); var sel = el("select", null, "gap-article");
    var selID = nextID("gap-article");
    sel.id = selID; choice.htmlFor = selID; sel.dataset.nearest = g.article_id;
    fillArticleChoice(sel);
    var answer = label("button", "gap.answerWithThis", "primary"); answer.type = "button";
    var write = label("button", "gap.writeNew"); write.type = "button";
    if (!articles.length) { answer.disabled = true; sel.disabled = true; }
    var choose = el("div", null, "choose"); choose.appendChild(choice); choose.appendChild(sel);
    actions.appendChild(choose); actions.appendChild(answer); actions.appendChild(write);
    li.appendChild(actions);
    var result = el("p", null, "gap-result"); result.setAttribute("role", "status"); li.appendChild(result);

    var texts = g.samples.map(function (s) { return s.text; });
    function done(articleID, title, added) {
      actions.hidden = true; form.hidden = true;
      li.classList.add("done");
      say(result, function () {
        return tn("gap.done", texts.length, {
          title: title,
          known: added < texts.length ? tn("gap.known", texts.length - added) : ""
        });
      });
      var left = $("gaps").querySelectorAll("li.gap:not(.done)").length;
      $("jump-gaps").textContent = left ? num(left) : "";
      loadDashboard();
    }
    function labelWith(articleID) {
      return api("POST", "/v1/knowledge/examples", { examples: texts.map(function (q) { return { text: q, article_id: articleID }; }) });
    }
    answer.onclick = function () {
      var id = sel.value; if (!id) return;
      var a = articles.filter(function (x) { return x.external_id === id; })[0];
      answer.disabled = true;
      labelWith(id).then(function (r) { done(id, a ? a.title : id, r.added); },
        function (e) { answer.disabled = false; say(result, function () { return t("gap.notLabelled", { error: e.message }); }); });
    };

    var form = el("form", null, "gap-form"); form.hidden = true;
    var tID = selID + "-title", bID = selID + "-body";
    var tl = label("label", "article.title"); tl.htmlFor = tID; var ti = el("input"); ti.id = tID; ti.required = true;
    ti.value = g.samples.length ? g.samples[0].text.replace(/\?+$/, "") : "";
    var bl = label("label", "article.body"); bl.htmlFor = bID; var bi = el("textarea"); bi.id = bID; bi.rows = 4; bi.required = true;
    var save = label("button", "gap.saveAndAnswer", "primary"); save.type = "submit";
    var cancel = label("button", "cancel"); cancel.type = "button";
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
      }).catch(function (err) { save.disabled = false; say(result, function () { return t("article.notSaved", { error: err.message }); }); });
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

  function tile(value, text, note) {
    var box = el("div", null, "tile");
    box.appendChild(el("strong", num(value)));
    box.appendChild(el("span", text));
    if (note) box.appendChild(el("small", note));
    return box;
  }

  // drawDashboard draws the figures in the chosen language; it runs
  // again when the language changes.
  function drawDashboard(d) {
    var tot = d.totals, handed = 0, reasons = Object.keys(tot.handed_off);
    reasons.forEach(function (r) { handed += tot.handed_off[r]; });
    $("dash-range").textContent = d.daily.length ? t("dash.range", {
      from: day(d.daily[0].day, { day: "numeric", month: "short" }),
      to: day(d.daily[d.daily.length - 1].day, { day: "numeric", month: "short", year: "numeric" })
    }) : "";
    var tiles = $("dash-tiles"); tiles.textContent = "";
    tiles.appendChild(tile(tot.decided, t("tile.decided")));
    tiles.appendChild(tile(tot.answered, t("tile.answered"), t("tile.ofThem", { pct: pct(tot.answered, tot.decided) })));
    tiles.appendChild(tile(handed, t("tile.handed"), t("tile.ofThem", { pct: pct(handed, tot.decided) })));
    tiles.appendChild(tile(tot.clarified, t("tile.clarified")));
    tiles.appendChild(tile(tot.not_helpful, t("tile.notHelpful"), tn("tile.didHelp", tot.helpful)));

    var days = d.daily.map(function (x) { return x.day; });
    stackedBars($("chart-outcomes"), $("legend-outcomes"), days, [
      { label: t("series.answered"), cls: "s-answered", values: d.daily.map(function (x) { return x.answered; }) },
      { label: t("series.handed"), cls: "s-handoff", values: d.daily.map(function (x) { return sum(x.handed_off); }) },
      { label: t("series.clarified"), cls: "s-clarify", values: d.daily.map(function (x) { return x.clarified; }) },
      { label: t("series.other"), cls: "s-other", values: d.daily.map(function (x) { return x.replied; }) }
    ]);
    reasons.sort(function (a, b) { return tot.handed_off[b] - tot.handed_off[a]; });
    stackedBars($("chart-reasons"), $("legend-reasons"), days, reasons.map(function (r, i) {
      return { label: reasonName(r), cls: "s-r" + (i % 8), values: d.daily.map(function (x) { return x.handed_off[r] || 0; }) };
    }));
    stackedBars($("chart-feedback"), $("legend-feedback"), days, [
      { label: t("series.helped"), cls: "s-answered", values: d.daily.map(function (x) { return x.helpful; }) },
      { label: t("series.notHelped"), cls: "s-handoff", values: d.daily.map(function (x) { return x.not_helpful; }) }
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
    svg.setAttribute("aria-label", t("chart.summary", { series: series.map(function (s) { return s.label; }).join(", "), n: num(all), days: num(days.length) }));
    function add(tag, attrs, text) {
      var n = document.createElementNS(SVG, tag);
      for (var k in attrs) n.setAttribute(k, attrs[k]);
      if (text !== undefined) n.textContent = text;
      svg.appendChild(n); return n;
    }
    var plotH = h - bottom - top;
    add("line", { x1: left, x2: w, y1: top + plotH, y2: top + plotH, "class": "axis" });
    add("line", { x1: left, x2: w, y1: top, y2: top, "class": "grid" });
    add("text", { x: left - 4, y: top + 4, "text-anchor": "end", "class": "tick" }, num(maxV));
    add("text", { x: left - 4, y: top + plotH, "text-anchor": "end", "class": "tick" }, "0");
    days.forEach(function (date, i) {
      var x = left + i * step + (step - bw) / 2, y = top + plotH;
      var g = document.createElementNS(SVG, "g"); svg.appendChild(g);
      var tip = document.createElementNS(SVG, "title");
      tip.textContent = day(date, { weekday: "short", day: "numeric", month: "short" }) + " — " +
        series.map(function (s) { return s.label + " " + num(s.values[i]); }).join(", ");
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
      add("text", { x: x, y: h - 4, "text-anchor": anchor, "class": "tick" }, day(days[i], { day: "numeric", month: "short" }));
    });
    box.appendChild(svg);
    if (!series.length || all === 0) {
      legend.appendChild(el("li", t("chart.nothing"), "muted"));
      return;
    }
    series.forEach(function (s) {
      var n = s.values.reduce(function (a, b) { return a + b; }, 0);
      var li = el("li"); var sw = el("span", null, "swatch " + s.cls); li.appendChild(sw);
      li.appendChild(el("span", s.label + " " + num(n))); legend.appendChild(li);
    });
  }

  function drawCalibration(c) {
    var dl = $("calibration"); dl.textContent = "";
    function row(k, v) { dl.appendChild(el("dt", k)); dl.appendChild(el("dd", v)); }
    function rate(x) { return percent(x, 1); }
    var note = "";
    if (c.calibration) {
      var cal = c.calibration;
      row(t("cal.threshold"), num(cal.threshold, 3));
      row(t("cal.resolution"), rate(cal.estimated_resolution));
      row(t("cal.wrong"), t("cal.wrongValue", { rate: rate(cal.estimated_wrong_rate), target: rate(cal.max_wrong_rate) }));
      row(t("cal.examples"), c.examples_now !== cal.examples ? t("cal.examplesNow", { used: num(cal.samples), now: num(c.examples_now) }) : t("cal.examplesUsed", { used: num(cal.samples) }));
      row(t("cal.ran"), new Date(cal.created_at).toLocaleString(I18N.locale(), { dateStyle: "medium", timeStyle: "short" }));
      if (c.examples_now !== cal.examples) note = t("cal.stale");
    } else {
      row(t("cal.threshold"), t("cal.default", { t: num(c.default_threshold, 2) }));
      row(t("cal.examples"), num(c.examples_now));
      note = t("cal.none", { n: num(c.min_examples) });
    }
    if (c.pinned_threshold) note = t("cal.pinned", { t: num(c.pinned_threshold) });
    $("calibration-note").textContent = note;
    var btn = $("recalibrate");
    btn.hidden = !c.can_recalibrate;
    // Below the minimum a calibration only says so: the button waits.
    btn.dataset.tooFew = c.examples_now < c.min_examples ? "1" : "";
    drawRun(c.run);
  }

  function drawRun(run) {
    lastRun = run;
    var btn = $("recalibrate"), p = $("recalibration");
    btn.disabled = !!(run && run.running) || btn.dataset.tooFew === "1";
    if (!run) { p.textContent = ""; return; }
    if (run.running) p.textContent = run.total ? t("run.progress", { done: num(run.done), total: num(run.total) }) : t("run.running");
    else if (run.error) p.textContent = t("run.failed", { error: run.error });
    else if (run.too_few) p.textContent = t("run.tooFew");
    else p.textContent = t("run.done", { time: new Date(run.finished_at).toLocaleTimeString(I18N.locale(), { hour: "2-digit", minute: "2-digit" }) });
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
      if (e.status === 401 || e.status === 403) logout(e.status === 401 ? "login.invalid" : "login.notEditor");
      else status(e.message);
    });
  }
  function logout(msg) {
    token = ""; sessionStorage.removeItem(TOKEN_KEY);
    $("app").hidden = true; $("logout").hidden = true; $("jump").hidden = true; $("login-view").hidden = false;
    if (msg) say($("login-error"), function () { return t(msg); }); else unsay($("login-error"));
  }
  // relabel follows a change of language: the page's words are done
  // (data-i18n); the dashboard is drawn again, and the other texts this
  // script built are built again where they stand, forms and their
  // unsaved edits untouched.
  function relabel() {
    if (lastDashboard && !$("app").hidden) { drawDashboard(lastDashboard); drawRun(lastRun); }
    Array.prototype.forEach.call(document.querySelectorAll(".i18n-fn"), function (n) { if (n.relabel) n.relabel(); });
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
  I18N.bindSwitcher($("lang"));
  I18N.onChange(relabel);
  I18N.apply();
  if (token) start(); else logout("");
})();
