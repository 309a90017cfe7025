// Relais agent console. Talks to the JSON API with the token kept in
// sessionStorage. Customer text is only ever set with textContent.
"use strict";

(function () {
  var TOKEN_KEY = "relais.token";
  var CURRENT_KEY = "relais.current";
  var POLL_MS = 10000;

  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  var current = Number(sessionStorage.getItem(CURRENT_KEY) || 0);
  var source = null;
  var pollTimer = null;

  function $(id) { return document.getElementById(id); }

  // el builds an element whose text is set with textContent, never as HTML.
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function status(msg, isError) {
    var s = $("status");
    s.textContent = msg || "";
    s.className = "status" + (isError ? " error" : "");
  }

  function api(method, path, body) {
    var opts = { method: method, headers: { "Authorization": "Bearer " + token } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (resp) {
      return resp.text().then(function (raw) {
        var v = null;
        try { v = raw ? JSON.parse(raw) : null; } catch (e) { v = null; }
        if (!resp.ok) {
          var err = new Error((v && v.error && v.error.message) || ("HTTP " + resp.status));
          err.status = resp.status;
          err.code = v && v.error && v.error.code;
          throw err;
        }
        return v;
      });
    });
  }

  function failed(err) {
    if (err.status === 401) { logout("Your token was refused; log in again."); return; }
    status(err.message, true);
  }

  function minutes(ms) {
    var m = Math.round(Math.abs(ms) / 60000);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    return h + " h " + (m % 60) + " min";
  }

  // sla describes a ticket's due time: overdue or due in how long.
  function sla(t) {
    var left = new Date(t.due_at).getTime() - Date.now();
    if (left < 0) return { text: "overdue by " + minutes(left), overdue: true };
    return { text: "due in " + minutes(left), overdue: false };
  }

  function setCurrent(id) {
    current = id || 0;
    if (current) sessionStorage.setItem(CURRENT_KEY, String(current));
    else sessionStorage.removeItem(CURRENT_KEY);
  }

  function renderStats(v) {
    var body = $("queues");
    clear(body);
    var qs = (v && v.queues) || [];
    qs.forEach(function (q) {
      var tr = el("tr", q.overdue > 0 ? "overdue" : "");
      tr.appendChild(el("td", "", q.queue));
      tr.appendChild(el("td", "num", q.waiting));
      tr.appendChild(el("td", "num", q.claimed));
      tr.appendChild(el("td", "num", q.overdue));
      body.appendChild(tr);
    });
    $("queues-empty").hidden = qs.length > 0;
  }

  function renderQueue(v) {
    var list = $("ticket-list");
    clear(list);
    var ts = (v && v.handoffs) || [];
    ts.forEach(function (t) {
      var s = sla(t);
      var li = el("li", "ticket" + (s.overdue ? " overdue" : ""));
      li.dataset.id = t.id;
      var top = el("div", "row");
      top.appendChild(el("strong", "", "#" + t.id + " · " + t.queue));
      top.appendChild(el("span", "prio prio-" + t.priority, t.priority));
      li.appendChild(top);
      li.appendChild(el("div", "reason", t.reason.replace(/_/g, " ")));
      var bottom = el("div", "row");
      bottom.appendChild(el("span", "sla" + (s.overdue ? " overdue" : ""), s.text));
      var b = el("button", "small", "Claim");
      b.type = "button";
      b.addEventListener("click", function () { claim("/v1/handoffs/" + t.id + "/claim"); });
      bottom.appendChild(b);
      li.appendChild(bottom);
      list.appendChild(li);
    });
    $("tickets-empty").hidden = ts.length > 0;
  }

  function renderTicket(v) {
    var t = v.handoff;
    $("no-ticket").hidden = true;
    $("ticket").hidden = false;
    $("app").classList.add("has-ticket");
    $("ticket").dataset.id = t.id;
    $("ticket").dataset.state = t.state;
    $("ticket-title").textContent = "Ticket #" + t.id;
    var s = sla(t);
    $("ticket-sla").textContent = s.text;
    $("ticket-sla").className = "sla" + (s.overdue ? " overdue" : "");
    $("ticket-meta").textContent = [t.queue, t.priority, t.reason.replace(/_/g, " "), t.state + (t.agent ? " by " + t.agent : "")].join(" · ");
    $("summary").textContent = v.summary || "(no summary)";

    var arts = $("articles");
    clear(arts);
    (v.suggested_articles || []).forEach(function (a) {
      var li = el("li", "");
      li.appendChild(el("span", "", a.title));
      var b = el("button", "small", "Insert");
      b.type = "button";
      b.addEventListener("click", function () { insertArticle(t.id, a.article_id); });
      li.appendChild(b);
      arts.appendChild(li);
    });
    if (!arts.firstChild) arts.appendChild(el("li", "muted", "No suggestions."));

    var tr = $("transcript");
    clear(tr);
    (v.transcript || []).forEach(function (m) {
      var li = el("li", "msg msg-" + m.role);
      var who = m.role === "agent" ? (m.agent || "agent") : m.role;
      li.appendChild(el("div", "who", who + " · " + new Date(m.created_at).toLocaleTimeString()));
      li.appendChild(el("div", "text", m.text));
      tr.appendChild(li);
    });
    var open = t.state === "claimed";
    $("send").disabled = !open;
    $("resolve").disabled = !open;
    $("release").disabled = !open;
    $("reply").disabled = !open;
  }

  function showNoTicket() {
    $("ticket").hidden = true;
    $("no-ticket").hidden = false;
    $("app").classList.remove("has-ticket");
  }

  function loadTicket() {
    if (!current) { showNoTicket(); return Promise.resolve(); }
    return api("GET", "/v1/handoffs/" + current).then(function (v) {
      renderTicket(v);
      if (v.handoff.state !== "claimed") setCurrent(0);
    }).catch(function (err) {
      if (err.status === 404) { setCurrent(0); showNoTicket(); return; }
      failed(err);
    });
  }

  function refresh() {
    if (!token) return Promise.resolve();
    return Promise.all([
      api("GET", "/v1/handoffs/stats").then(renderStats),
      api("GET", "/v1/handoffs?state=queued&limit=200").then(renderQueue),
      loadTicket()
    ]).catch(failed);
  }

  function claim(path) {
    status("Claiming…");
    api("POST", path).then(function (t) {
      setCurrent(t.id);
      status("Claimed ticket #" + t.id + ".");
      return refresh();
    }).catch(function (err) {
      if (err.code === "queue_empty") { status("Nobody is waiting."); return; }
      failed(err);
      refresh();
    });
  }

  function insertArticle(id, articleID) {
    api("GET", "/v1/handoffs/" + id + "/article?external_id=" + encodeURIComponent(articleID)).then(function (a) {
      var box = $("reply");
      box.value = box.value ? box.value.replace(/\s*$/, "") + "\n\n" + a.body : a.body;
      box.focus();
    }).catch(failed);
  }

  function send(e) {
    e.preventDefault();
    var text = $("reply").value;
    if (!current || !text.trim()) return;
    $("send").disabled = true;
    api("POST", "/v1/handoffs/" + current + "/messages", { text: text }).then(function () {
      $("reply").value = "";
      status("Reply sent.");
      return loadTicket();
    }).catch(failed).then(function () { $("send").disabled = false; });
  }

  function finish(action, done) {
    if (!current) return;
    var id = current;
    api("POST", "/v1/handoffs/" + id + "/" + action).then(function () {
      status(done.replace("%d", id));
      $("reply").value = "";
      setCurrent(0);
      return refresh();
    }).catch(failed);
  }

  function live(on) {
    var l = $("live");
    l.textContent = on ? "live" : "offline";
    l.className = "live " + (on ? "on" : "off");
  }

  // EventSource cannot send an Authorization header, so /v1/events takes
  // the token as ?token= (that endpoint only).
  function connect() {
    if (source) source.close();
    if (!window.EventSource) return;
    source = new EventSource("/v1/events?token=" + encodeURIComponent(token));
    source.onopen = function () { live(true); };
    source.onerror = function () { live(false); };
    source.addEventListener("ticket", function () { refresh(); });
    source.addEventListener("message", function (e) {
      var d = null;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      if (d && d.handoff_id === current) loadTicket();
    });
  }

  function start() {
    $("login-view").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    refresh();
    connect();
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = setInterval(refresh, POLL_MS);
  }

  function logout(msg) {
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    setCurrent(0);
    if (source) { source.close(); source = null; }
    if (pollTimer) { clearInterval(pollTimer); pollTimer = null; }
    live(false);
    $("app").hidden = true;
    $("logout").hidden = true;
    $("login-view").hidden = false;
    $("login-error").textContent = msg || "";
    status("");
  }

  function login(e) {
    e.preventDefault();
    var t = $("token").value.trim();
    if (!t) return;
    token = t;
    api("GET", "/v1/handoffs/stats").then(function () {
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      $("login-error").textContent = "";
      start();
    }).catch(function (err) {
      token = "";
      $("login-error").textContent = err.status === 401 ? "That token is not valid." :
        err.status === 403 ? "That token is not an agent's." : err.message;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", function () { logout(""); });
    $("claim-next").addEventListener("click", function () { claim("/v1/handoffs/claim"); });
    $("reply-form").addEventListener("submit", send);
    $("resolve").addEventListener("click", function () { finish("resolve", "Ticket #%d resolved."); });
    $("release").addEventListener("click", function () { finish("release", "Ticket #%d released to the bot."); });
    if (token) start(); else logout("");
  });
})();
