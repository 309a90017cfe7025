// Relais agent console. Talks to the JSON API with the token kept in
// sessionStorage. Customer text is only ever set with textContent.
"use strict";

(function () {
  var TOKEN_KEY = "relais.token";
  var CURRENT_KEY = "relais.current";
  var POLL_MS = 10000;
  var PRESENCE_KEY = "relais.presence";
  var PRESENCE_MS = 30000;
  var FILTERS_KEY = "relais.filters";
  // The event stream's reconnection delay: EventSource's own retry cannot
  // be used (a ticket opens one stream), so the console retries, backing
  // off to a slow pace while the server is away.
  var RETRY_MIN_MS = 2000;
  var RETRY_MAX_MS = 30000;

  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  var current = Number(sessionStorage.getItem(CURRENT_KEY) || 0);
  var source = null;
  var retryTimer = null;
  var retryMS = RETRY_MIN_MS;
  var pollTimer = null;
  var presenceTimer = null;
  // replyAllowed: the open ticket is claimed and its customer can receive
  // a reply now (the API's customer.can_reply).
  var replyAllowed = false;
  var shownTicket = 0;
  // mediaURLs maps a media's API path to a blob URL, or to the promise of
  // one while it loads: an <img> cannot send the bearer token, so photos
  // are fetched with it and shown from memory. Kept while the ticket is
  // shown, so that a refresh does not fetch them again.
  var mediaURLs = {};
  // mine is the tickets this agent holds, from the server: whichever tab
  // or device claimed them. unread marks those a customer wrote in since
  // they were last shown here.
  var mine = [];
  var unread = {};
  // drafts keeps what the agent typed for each ticket while another is
  // shown: a reply never goes to the customer it was not written for.
  var drafts = {};
  var stripShows = 0;

  var I18N = window.RelaisI18n;
  I18N.add("en", window.RelaisConsoleText.en);
  I18N.add("fr", window.RelaisConsoleText.fr);
  // t builds a text in the agent's language; t_ is the same function, for
  // the places where t names a ticket.
  var t = I18N.t;
  var t_ = I18N.t;

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
    if (err.status === 401) { logout(t("err.refused")); return; }
    status(err.message, true);
  }

  function forgetMedia() {
    Object.keys(mediaURLs).forEach(function (k) {
      if (typeof mediaURLs[k] === "string") URL.revokeObjectURL(mediaURLs[k]);
    });
    mediaURLs = {};
  }

  // mediaURL resolves to a blob URL of the media at path (an API path).
  function mediaURL(path) {
    var have = mediaURLs[path];
    if (typeof have === "string") return Promise.resolve(have);
    if (have) return have;
    var p = fetch(path, { headers: { "Authorization": "Bearer " + token } }).then(function (resp) {
      if (!resp.ok) {
        var err = new Error("HTTP " + resp.status);
        err.status = resp.status;
        throw err;
      }
      return resp.blob();
    }).then(function (b) {
      var u = URL.createObjectURL(b);
      if (mediaURLs[path] !== p) { // the ticket changed meanwhile
        URL.revokeObjectURL(u);
        throw new Error("no longer shown");
      }
      mediaURLs[path] = u;
      return u;
    });
    mediaURLs[path] = p;
    p.catch(function () { if (mediaURLs[path] === p) delete mediaURLs[path]; });
    return p;
  }

  var KINDS = {
    image: "Photo", document: "Document", audio: "Audio message", voice: "Voice message", video: "Video",
    location: "Location", contacts: "Contact card", sticker: "Sticker", reaction: "Reaction", unsupported: "Message"
  };

  function bytes(n) {
    if (!n) return "";
    if (n < 1024) return n + " B";
    if (n < 1048576) return Math.round(n / 1024) + " KB";
    return (n / 1048576).toFixed(1).replace(/\.0$/, "") + " MB";
  }

  // fileType is a short name of a document's type: its extension, else
  // its MIME subtype.
  function fileType(md) {
    var ext = /\.([A-Za-z0-9]{1,6})$/.exec(md.filename || "");
    if (ext) return ext[1].toUpperCase();
    if (md.mime_type === "application/pdf") return "PDF";
    var sub = (md.mime_type || "").split("/")[1] || "";
    return sub && sub.length <= 6 ? sub.toUpperCase() : "FILE";
  }

  // saveMedia downloads a stored document under its file name.
  function saveMedia(md, button) {
    button.disabled = true;
    mediaURL(md.url).then(function (u) {
      var a = document.createElement("a");
      a.href = u;
      a.download = md.filename || ("document." + fileType(md).toLowerCase());
      document.body.appendChild(a);
      a.click();
      a.remove();
    }).catch(function (err) {
      if (err.status === 401) { failed(err); return; }
      status("The document could not be downloaded (" + err.message + ").", true);
    }).then(function () { button.disabled = false; });
  }

  // renderMedia shows what a message carries: a photo's thumbnail, a
  // document to download, or why there is nothing to show.
  function renderMedia(md) {
    var kind = KINDS[md.kind] || "Attachment";
    var box = el("div", "media media-" + md.kind);
    if (md.status === "stored" && md.url && md.kind === "image") {
      var link = el("a", "thumb-link");
      link.target = "_blank";
      link.rel = "noopener";
      link.title = "Open the photo full size";
      var img = el("img", "thumb");
      img.alt = "Photo from the customer";
      img.dataset.media = md.url;
      link.appendChild(img);
      box.appendChild(link);
      mediaURL(md.url).then(function (u) {
        img.src = u;
        link.href = u;
      }).catch(function (err) {
        if (err.status === 401) { failed(err); return; }
        clear(box);
        box.appendChild(el("div", "media-note bad", "Photo could not be loaded (" + err.message + ")."));
      });
      return box;
    }
    if (md.status === "stored" && md.url) {
      var b = el("button", "doc");
      b.type = "button";
      b.title = "Download";
      b.appendChild(el("span", "doc-type", fileType(md)));
      var label = el("span", "doc-label");
      label.appendChild(el("span", "doc-name", md.filename || kind));
      label.appendChild(el("span", "doc-meta", [kind, bytes(md.size), "download"].filter(Boolean).join(" · ")));
      b.appendChild(label);
      b.addEventListener("click", function () { saveMedia(md, b); });
      box.appendChild(b);
      return box;
    }
    var name = kind + (md.filename ? " “" + md.filename + "”" : "");
    var note;
    switch (md.status) {
    case "pending":
      note = el("div", "media-note", name + ": being fetched from the channel…");
      break;
    case "too_large":
      note = el("div", "media-note bad", name + (md.size ? " (" + bytes(md.size) + ")" : "") +
        ": too large to keep. Ask the customer to send a smaller file or another way.");
      break;
    case "refused":
      note = el("div", "media-note bad", name + ": the channel refused to give it. Ask the customer to send it again.");
      break;
    default:
      note = el("div", "media-note", name + ": not kept by Relais.");
    }
    box.appendChild(note);
    return box;
  }

  var ERROR_CODES = {
    131047: "more than 24 hours since the customer last wrote",
    131026: "the message could not be delivered to this number",
    131056: "too many messages to this customer in a short time",
    130429: "the number's rate limit was hit"
  };

  // delivery describes an outbound message's delivery, or null.
  function delivery(d) {
    if (d.status === "failed" || d.outbox === "failed") {
      var why = d.last_error || ERROR_CODES[d.error_code] || "no reason given";
      if (d.error_code && why.indexOf(String(d.error_code)) < 0) why += " (error " + d.error_code + ")";
      return { text: "Not delivered: " + why, cls: "failed" };
    }
    if (d.status === "read") return { text: "✓✓ Read", cls: "read" };
    if (d.status === "delivered") return { text: "✓✓ Delivered", cls: "delivered" };
    if (d.status === "sent" || d.outbox === "sent") return { text: "✓ Sent", cls: "sent" };
    if (d.outbox === "pending") {
      return { text: d.last_error ? "Sending, retrying after: " + d.last_error : "Sending…", cls: "pending" };
    }
    return null;
  }

  // when shows a time, with its day when it is not today.
  function when(iso) {
    var d = new Date(iso);
    var opts = { hour: "2-digit", minute: "2-digit" };
    if (d.toDateString() !== new Date().toDateString()) {
      opts.weekday = "short";
      opts.day = "numeric";
      opts.month = "short";
    }
    return d.toLocaleString(I18N.locale(), opts);
  }

  var CHANNELS = { whatsapp: "WhatsApp", webchat: "Web chat", api: "API" };

  // renderReach shows whether the customer can receive a reply now (their
  // consent and the channel's service window), and returns why a reply is
  // refused ("" when it is not).
  function renderReach(c) {
    var p = $("reach");
    if (!c || (c.can_reply && !c.window_closes_at && c.consent !== "opted_out")) {
      p.hidden = true;
      return "";
    }
    var channel = (CHANNELS[c.channel] || c.channel) + " · ";
    var blocked = "";
    if (c.consent === "opted_out") {
      p.textContent = channel + "Customer opted out (STOP)" + (c.consent_at ? " at " + when(c.consent_at) : "") +
        ": nothing can be sent until they write again.";
      p.className = "reach blocked";
      blocked = "the customer opted out (they wrote STOP). Nothing can be sent to them until they write again.";
    } else if (c.can_reply && c.window_closes_at) {
      var left = new Date(c.window_closes_at).getTime() - Date.now();
      p.textContent = channel + "Customer can receive replies until " + when(c.window_closes_at) +
        (left > 0 ? " (" + minutes(left) + " left)" : "") + ".";
      p.className = "reach" + (left < 3600000 ? " closing" : " open");
    } else if (!c.can_reply && c.window_closes_at !== undefined) {
      p.textContent = channel + "Window closed: WhatsApp only allows templates now" +
        (c.last_message_at ? " (the customer last wrote " + when(c.last_message_at) + ")" : "") + ".";
      p.className = "reach blocked";
      blocked = "the customer last wrote more than 24 hours ago, and WhatsApp only accepts approved templates now, " +
        "which Relais does not send yet. You can reply once the customer writes again.";
    } else {
      p.textContent = channel + "The customer cannot receive a reply now.";
      p.className = "reach blocked";
      blocked = c.reply_blocked || "the channel refuses messages to this customer now.";
    }
    p.hidden = false;
    return c.can_reply ? "" : blocked;
  }

  // replyError shows why a reply was not sent next to the reply box.
  function replyError(msg) {
    var e = $("reply-error");
    clear(e);
    e.hidden = !msg;
    if (!msg) return;
    e.appendChild(el("strong", "", t("reply.notSent") + " "));
    e.appendChild(document.createTextNode(msg + " " + t("reply.draftKept")));
  }

  // REFUSALS word the API's refusals of a reply for the agent.
  var REFUSALS = {
    window_closed: "WhatsApp's 24-hour window has closed. The customer last wrote more than 24 hours ago, " +
      "and only approved templates may reach them now.",
    opted_out: "the customer opted out (they wrote STOP). Nothing can be sent to them until they write again."
  };

  function minutes(ms) {
    var m = Math.round(Math.abs(ms) / 60000);
    if (m < 1) return t("time.lessThanMinute"); // not "0 min": that reads as nothing left
    if (m < 60) return t("time.min", { m: m });
    var h = Math.floor(m / 60);
    return t("time.hmin", { h: h, m: m % 60 });
  }

  // sla describes a ticket's due time: overdue or due in how long.
  function sla(t) {
    var left = new Date(t.due_at).getTime() - Date.now();
    if (left < 0) return { text: t_("sla.overdueBy", { d: minutes(left) }), overdue: true };
    return { text: t_("sla.dueIn", { d: minutes(left) }), overdue: false };
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
    fillQueueFilter(qs.map(function (q) { return q.queue; }));
  }

  // fillQueueFilter offers the queues with open tickets, and keeps the one
  // chosen even when it has none now.
  function fillQueueFilter(names) {
    var sel = $("filter-queue");
    var chosen = sel.value;
    if (chosen && names.indexOf(chosen) < 0) names.push(chosen);
    names.sort();
    var have = Array.prototype.slice.call(sel.options, 1).map(function (o) { return o.value; });
    if (have.join("\n") === names.join("\n")) return;
    while (sel.options.length > 1) sel.remove(1);
    names.forEach(function (n) { sel.appendChild(new Option(n, n)); });
    sel.value = chosen;
  }

  function filters() {
    return { queue: $("filter-queue").value, reason: $("filter-reason").value };
  }

  // queuePath lists the waiting tickets as an agent should take them: the
  // most urgent first, then the first due.
  function queuePath() {
    var f = filters();
    var p = "/v1/handoffs?state=queued&order=priority&limit=200";
    if (f.queue) p += "&queue=" + encodeURIComponent(f.queue);
    if (f.reason) p += "&reason=" + encodeURIComponent(f.reason);
    return p;
  }

  // ticketHead fills li with what every ticket row shows: number, queue,
  // priority, reason and due time, overdue marked in words as well as red.
  function ticketHead(li, t) {
    var s = sla(t);
    li.classList.toggle("overdue", s.overdue);
    var top = el("div", "row");
    top.appendChild(el("strong", "", "#" + t.id + " · " + t.queue));
    var badges = el("span", "badges");
    if (s.overdue) badges.appendChild(el("span", "badge-overdue", t_("badge.overdue")));
    badges.appendChild(el("span", "prio prio-" + t.priority, t_("prio." + t.priority)));
    top.appendChild(badges);
    li.appendChild(top);
    li.appendChild(el("div", "reason", reasonText(t.reason)));
    return el("span", "sla" + (s.overdue ? " overdue" : ""), s.text);
  }

  function renderMine(v) {
    mine = (v && v.handoffs) || [];
    var list = $("mine");
    clear(list);
    mine.forEach(function (t) {
      var li = el("li", "ticket mine-item" + (t.id === current ? " active" : "") + (unread[t.id] ? " unread" : ""));
      li.dataset.id = t.id;
      var slaText = ticketHead(li, t);
      var bottom = el("div", "row");
      bottom.appendChild(slaText);
      if (unread[t.id]) bottom.appendChild(el("span", "new", t_("mine.newMessage")));
      if (t.id === current) {
        bottom.appendChild(el("span", "shown", t_("mine.showing")));
        li.setAttribute("aria-current", "true");
      } else {
        var b = el("button", "small", t_("mine.open"));
        b.type = "button";
        b.setAttribute("aria-label", t_("mine.openTicket", { id: t.id }));
        b.addEventListener("click", function () { show(t.id); });
        bottom.appendChild(b);
      }
      li.appendChild(bottom);
      list.appendChild(li);
    });
    $("mine-empty").hidden = mine.length > 0;
    $("mine-count").textContent = mine.length ? String(mine.length) : "";
    updateTitle();
    // On a phone the list is a strip that scrolls sideways: bring the
    // ticket shown into it when it changes, and leave the agent's own
    // scrolling alone otherwise.
    var active = list.querySelector(".active");
    if (active && current !== stripShows && list.scrollWidth > list.clientWidth) {
      list.scrollLeft = active.offsetLeft - list.offsetLeft - 8;
    }
    stripShows = current;
  }

  // show opens one of the agent's tickets in the work area.
  function show(id) {
    setCurrent(id);
    delete unread[id];
    renderMine({ handoffs: mine });
    status("");
    loadTicket().then(function () {
      if (window.matchMedia && window.matchMedia("(max-width: 760px)").matches) $("work").scrollIntoView();
    });
  }

  function renderQueue(v) {
    var list = $("ticket-list");
    clear(list);
    var ts = (v && v.handoffs) || [];
    if (!filters().queue && !filters().reason) trackQueue(ts);
    ts.forEach(function (t) {
      var li = el("li", "ticket");
      li.dataset.id = t.id;
      var slaText = ticketHead(li, t);
      var bottom = el("div", "row");
      bottom.appendChild(slaText);
      if (unseen[t.id]) {
        li.classList.add("is-new");
        li.querySelector(".badges").appendChild(el("span", "badge-new", t_("waiting.new")));
      }
      var b = el("button", "small", t_("waiting.claim"));
      b.type = "button";
      b.addEventListener("click", function () { claim("/v1/handoffs/" + t.id + "/claim"); });
      bottom.appendChild(b);
      li.appendChild(bottom);
      list.appendChild(li);
    });
    var f = filters();
    $("tickets-empty").textContent = f.queue || f.reason ? t("waiting.emptyFiltered") : t("waiting.empty");
    $("tickets-empty").hidden = ts.length > 0;
    $("waiting-count").textContent = ts.length ? String(ts.length) : "";
    updateTitle();
  }

  function renderTicket(v) {
    var t = v.handoff;
    if (t.id !== shownTicket) {
      forgetMedia();
      replyError("");
      if (shownTicket) drafts[shownTicket] = $("reply").value;
      $("reply").value = drafts[t.id] || "";
      delete drafts[t.id];
      delete unread[t.id];
      shownTicket = t.id;
    }
    $("no-ticket").hidden = true;
    $("ticket").hidden = false;
    $("app").classList.add("has-ticket");
    $("ticket").dataset.id = t.id;
    $("ticket").dataset.state = t.state;
    $("ticket-title").textContent = t_("work.ticket", { id: t.id });
    var s = sla(t);
    $("ticket-sla").textContent = s.text;
    $("ticket-sla").className = "sla" + (s.overdue ? " overdue" : "");
    $("ticket-meta").textContent = [t.queue, t_("prio." + t.priority), reasonText(t.reason),
      t.agent ? t_("state.by", { state: t_("state." + t.state), agent: t.agent }) : t_("state." + t.state)].join(" · ");
    $("summary").textContent = v.summary || t_("work.noSummary");
    renderLabels(v.labels);
    renderNote(t);
    fillResolveArticles(v.suggested_articles || [], t.id);

    var arts = $("articles");
    clear(arts);
    (v.suggested_articles || []).forEach(function (a) {
      var li = el("li", "");
      li.appendChild(el("span", "", a.title));
      var b = el("button", "small", t_("work.insert"));
      b.type = "button";
      b.addEventListener("click", function () { insertArticle(t.id, a.article_id); });
      li.appendChild(b);
      arts.appendChild(li);
    });
    if (!arts.firstChild) arts.appendChild(el("li", "muted", t_("work.noSuggestions")));

    var tr = $("transcript");
    clear(tr);
    (v.transcript || []).forEach(function (m) {
      var li = el("li", "msg msg-" + m.role);
      var who = m.role === "agent" ? (m.agent || t_("role.agent")) : t_("role." + m.role);
      li.appendChild(el("div", "who", who + " · " + new Date(m.created_at).toLocaleTimeString(I18N.locale())));
      if (m.media) li.appendChild(renderMedia(m.media));
      if (m.text || !m.media) li.appendChild(el("div", "text", m.text));
      var d = m.delivery && delivery(m.delivery);
      if (d) {
        var dl = el("div", "delivery delivery-" + d.cls, d.text);
        if (m.delivery.status_at) dl.title = d.text + " · " + new Date(m.delivery.status_at).toLocaleString();
        li.appendChild(dl);
      }
      tr.appendChild(li);
    });
    var open = t.state === "claimed";
    var refusal = renderReach(v.customer);
    var blocked = open ? refusal : "";
    replyAllowed = open && !blocked;
    $("send").disabled = !replyAllowed;
    $("resolve").disabled = !open;
    $("release").disabled = !open;
    $("reply").disabled = !open;
    // Read-only rather than disabled: a draft stays selectable, to copy.
    $("reply").readOnly = !!blocked;
    $("reply").setAttribute("aria-disabled", replyAllowed ? "false" : "true");
    $("reply-form").classList.toggle("blocked", !!blocked);
    $("reply-blocked").textContent = blocked ? t_("reply.cannot", { why: blocked }) : "";
    $("reassign").disabled = !open;
    $("reassign-to").disabled = !open;
    $("resolution").hidden = !open;
    if (t.id !== panelTicket) loadCustomer(t.id);
    $("reply-blocked").hidden = !blocked;
    Array.prototype.forEach.call(arts.querySelectorAll("button"), function (b) { b.disabled = !replyAllowed; });
  }

  function showNoTicket() {
    forgetMedia();
    if (shownTicket) drafts[shownTicket] = $("reply").value;
    $("reply").value = "";
    shownTicket = 0;
    panelTicket = 0;
    replyAllowed = false;
    replyError("");
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

  // loadMine reads the tickets the agent holds, then shows the one chosen
  // in this tab, or else the most urgent of them: a second tab, or this
  // one reloaded, takes up the work where it is.
  function loadMine() {
    return api("GET", "/v1/handoffs?state=claimed&agent=me&order=priority&limit=100").then(function (v) {
      var held = (v && v.handoffs) || [];
      if (!current && held.length) setCurrent(held[0].id);
      renderMine(v);
      return loadTicket();
    });
  }

  function refresh() {
    if (!token) return Promise.resolve();
    return Promise.all([
      api("GET", "/v1/handoffs/stats").then(renderStats),
      api("GET", queuePath()).then(renderQueue),
      loadMine()
    ]).catch(failed);
  }

  function claim(path, body) {
    status(t("status.claiming"));
    api("POST", path, body).then(function (tk) {
      setCurrent(tk.id);
      markSeen();
      status(t("status.claimed", { id: tk.id }));
      return refresh();
    }).catch(function (err) {
      if (err.code === "queue_empty") { status(err.message.charAt(0).toUpperCase() + err.message.slice(1) + "."); return; }
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
    replyError("");
    status("");
    api("POST", "/v1/handoffs/" + current + "/messages", { text: text }).then(function () {
      // Only the text sent is cleared: the agent may have typed on.
      if ($("reply").value === text) $("reply").value = "";
      // Stored and queued: whether it reached the customer shows under
      // the message, as the channel reports it.
      status(t("status.replyQueued"));
      return loadTicket();
    }).catch(function (err) {
      if (err.status === 401) { failed(err); return; }
      // The draft stays in the box: nothing the agent wrote is lost.
      replyError(REFUSALS[err.code] || err.message.replace(/\.?$/, "."));
      // A refusal means the ticket or its customer changed: show it.
      if (err.status === 409) return loadTicket();
    }).then(function () { $("send").disabled = !replyAllowed; });
  }

  // finish closes the ticket shown (action resolve or release); done is
  // the key of the status to show, body the resolution.
  function finish(action, done, body) {
    if (!current) return;
    var id = current;
    api("POST", "/v1/handoffs/" + id + "/" + action, body).then(function (v) {
      var msg = t(done, { id: id });
      if (v && v.example_added) msg += " " + t("status.exampleAdded");
      if (v && v.example_error) msg += " " + v.example_error;
      status(msg, !!(v && v.example_error));
      $("reply").value = "";
      $("resolve-note").value = "";
      $("resolve-article").value = "";
      $("resolution").open = false;
      delete drafts[id];
      setCurrent(0);
      return refresh();
    }).catch(failed);
  }

  function resolve() {
    var body = {};
    var note = $("resolve-note").value.trim();
    var article = $("resolve-article").value;
    if (note) body.note = note;
    if (article) body.article_id = article;
    finish("resolve", "status.resolved", Object.keys(body).length ? body : undefined);
  }

  function live(on) {
    var l = $("live");
    l.textContent = on ? t("live.on") : t("live.off");
    l.dataset.on = on ? "1" : "";
    l.className = "live " + (on ? "on" : "off");
  }

  function disconnect() {
    if (source) { source.close(); source = null; }
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
  }

  // reconnect opens the stream again after a pause that grows while it
  // keeps failing; the 10 s poll shows the work meanwhile.
  function reconnect() {
    disconnect();
    live(false);
    retryTimer = setTimeout(connect, retryMS);
    retryMS = Math.min(retryMS * 2, RETRY_MAX_MS);
  }

  // EventSource cannot send an Authorization header, and the token must
  // not appear in a URL (proxies log them): the stream is opened with a
  // one-time ticket the API gives for the token, valid for a minute.
  function connect() {
    disconnect();
    if (!window.EventSource || !token) return;
    api("POST", "/v1/events/ticket").then(function (v) {
      if (!token || source) return; // logged out, or connected, meanwhile
      source = new EventSource("/v1/events?ticket=" + encodeURIComponent(v.ticket));
      source.onopen = function () { live(true); retryMS = RETRY_MIN_MS; };
      // The stream ended (its lifetime, a restart, the network): its
      // ticket is spent, so EventSource's own retry would be refused.
      source.onerror = reconnect;
      source.addEventListener("ticket", function () { refresh(); });
      source.addEventListener("message", function (e) {
        var d = null;
        try { d = JSON.parse(e.data); } catch (err) { return; }
        if (!d) return;
        if (d.handoff_id === current) { loadTicket(); return; }
        unread[d.handoff_id] = true;
        loadMine().catch(failed);
      });
    }).catch(function (err) {
      if (err.status === 401) { failed(err); return; }
      if (err.status === 404) return; // this server has no live updates: the poll does
      reconnect();
    });
  }

  // Presence: while the console is open it reports the agent's status
  // every 30 s (the server counts an agent gone after two minutes
  // without a report), and shows how many colleagues are online.
  function reportPresence() {
    if (!token) return;
    var sel = $("presence");
    api("PUT", "/v1/agents/presence", { status: sel.value }).then(function () {
      sel.hidden = false;
      return api("GET", "/v1/agents/presence");
    }).then(function (v) {
      var team = $("team");
      team.dataset.online = v.online;
      team.textContent = teamText(v.online);
      team.title = (v.agents || []).map(function (a) { return a.agent_id + ": " + a.status; }).join(", ");
      team.hidden = false;
    }).catch(function (err) {
      if (err.status === 404) { // presence is not kept by this server
        if (presenceTimer) { clearInterval(presenceTimer); presenceTimer = null; }
        return;
      }
      failed(err);
    });
  }

  function reasonText(code) {
    var k = "reason." + code;
    var s = t(k);
    return s === k ? String(code || "").replace(/_/g, " ") : s;
  }

  function teamText(n) { return n === 1 ? t("team.one") : t("team.many", { n: n }); }

  // ----- Customer panel: who the customer is and what they asked before.
  var panelTicket = 0;
  var OUTCOMES = { answered: "outcome.answered", handed_off: "outcome.handed_off", resolved: "outcome.resolved" };

  function loadCustomer(id) {
    panelTicket = id;
    api("GET", "/v1/handoffs/" + id + "/customer").then(function (v) {
      if (panelTicket !== id) return;
      renderCustomer(v, id);
    }).catch(function (err) {
      if (err.status === 404) { $("customer-panel").hidden = true; return; } // not served here
      if (err.status === 401) { failed(err); return; }
      $("customer-panel").hidden = false;
      clear($("customer-history"));
      $("customer-history").appendChild(el("li", "error", t("customer.failed", { why: err.message })));
    });
  }

  function renderCustomer(v, ticketID) {
    $("customer-panel").hidden = false;
    $("customer-channel").textContent = CHANNELS[v.channel] || v.channel;
    $("customer-id").textContent = v.id;
    $("customer-phone").textContent = v.phone || "";
    $("customer-phone").hidden = $("customer-phone-dt").hidden = !v.phone;
    $("customer-masked").hidden = !v.masked;
    var list = $("customer-history");
    clear(list);
    var earlier = (v.history || []).filter(function (p) { return p.ticket_id !== ticketID; });
    earlier.forEach(function (p) {
      var li = el("li", "past past-" + p.outcome);
      var head = el("div", "row");
      head.appendChild(el("span", "outcome outcome-" + p.outcome, t(OUTCOMES[p.outcome] || p.outcome)));
      head.appendChild(el("span", "muted", when(p.at)));
      li.appendChild(head);
      li.appendChild(el("div", "q", p.question || "—"));
      var who = [];
      if (p.ticket_id) who.push(t("work.ticket", { id: p.ticket_id }));
      if (p.agent) who.push(p.agent);
      if (p.outcome === "handed_off" && p.ticket_state === "released") who.push(t("outcome.released"));
      if (p.outcome === "handed_off" && (p.ticket_state === "queued" || p.ticket_state === "claimed")) who.push(t("outcome.open"));
      if (who.length) li.appendChild(el("div", "muted small", who.join(" · ")));
      list.appendChild(li);
    });
    if (!earlier.length) list.appendChild(el("li", "muted", t("customer.first")));
  }

  // ----- Labels on the ticket's conversation.
  var allLabels = [];
  var ticketLabelIDs = [];

  function renderLabels(labels) {
    var row = $("labels-row");
    if (!labels) { row.hidden = true; return; } // not kept by this server
    row.hidden = false;
    ticketLabelIDs = labels.map(function (l) { return l.id; });
    var chips = $("ticket-labels");
    clear(chips);
    labels.forEach(function (l) { chips.appendChild(el("li", "chip", l.name)); });
    if (!labels.length) chips.appendChild(el("li", "muted small", t("labels.none")));
    renderLabelChoices();
  }

  function renderLabelChoices() {
    var box = $("labels-choices");
    clear(box);
    var held = $("ticket").dataset.state === "claimed";
    if (!allLabels.length) { box.appendChild(el("p", "muted small", t("labels.noneDefined"))); return; }
    allLabels.forEach(function (l) {
      var lab = el("label", "check");
      var cb = document.createElement("input");
      cb.type = "checkbox";
      cb.value = l.id;
      cb.checked = ticketLabelIDs.indexOf(l.id) >= 0;
      cb.disabled = !held;
      cb.addEventListener("change", saveLabels);
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(" " + l.name));
      box.appendChild(lab);
    });
  }

  function saveLabels() {
    var id = Number($("ticket").dataset.id);
    var ids = Array.prototype.map.call($("labels-choices").querySelectorAll("input:checked"), function (c) { return Number(c.value); });
    api("PUT", "/v1/handoffs/" + id + "/labels", { labels: ids }).then(function (v) {
      renderLabels(v.labels);
    }).catch(function (err) {
      failed(err);
      loadTools();
    });
  }

  function renderNote(tk) {
    var p = $("ticket-note");
    var parts = [];
    if (tk.note) parts.push(t("work.note", { note: tk.note }));
    if (tk.article_id) parts.push(t("work.resolvedWith", { article: tk.article_id }));
    p.textContent = parts.join(" · ");
    p.hidden = !parts.length;
  }

  function fillResolveArticles(suggested, id) {
    var sel = $("resolve-article");
    if (sel.dataset.ticket === String(id)) return; // keep the agent's choice while the ticket stays
    sel.dataset.ticket = String(id);
    while (sel.options.length > 1) sel.remove(1);
    suggested.forEach(function (a) { sel.appendChild(new Option(a.title, a.article_id)); });
    sel.disabled = !suggested.length;
    $("resolve-note").value = "";
  }

  // ----- Reassign to a colleague from the list of known agents.
  var me = { name: "", role: "" };

  function loadAgents() {
    return api("GET", "/v1/agents").then(function (v) {
      var sel = $("reassign-to");
      var chosen = sel.value;
      while (sel.options.length > 1) sel.remove(1);
      (v.agents || []).forEach(function (a) {
        if (a.you || a.agent_id === me.name) return;
        sel.appendChild(new Option(a.agent_id + " (" + t("presence." + a.status) + ")", a.agent_id));
      });
      sel.value = chosen;
      $("reassign").parentNode.hidden = false;
    }).catch(function (err) {
      if (err.status === 404) { $("reassign").parentNode.hidden = true; return; } // no reassignment here
      failed(err);
    });
  }

  function reassign() {
    var to = $("reassign-to").value;
    if (!current) return;
    if (!to) { status(t("reassign.pick"), true); $("reassign-to").focus(); return; }
    var id = current;
    api("POST", "/v1/handoffs/" + id + "/reassign", { agent: to }).then(function () {
      status(t("status.reassigned", { id: id, agent: to }));
      drafts[id] = $("reply").value;
      $("reassign-to").value = "";
      setCurrent(0);
      return refresh();
    }).catch(failed);
  }

  // ----- Resolved tickets, searchable.
  function searchResolved(e) {
    if (e) e.preventDefault();
    var q = $("resolved-q").value.trim();
    var p = "/v1/handoffs?state=resolved&order=newest&limit=20" + (q ? "&q=" + encodeURIComponent(q) : "");
    api("GET", p).then(function (v) {
      var list = $("resolved-list");
      clear(list);
      var ts = (v && v.handoffs) || [];
      ts.forEach(function (tk) {
        var li = el("li", "ticket resolved-item");
        li.dataset.id = tk.id;
        var top = el("div", "row");
        top.appendChild(el("strong", "", "#" + tk.id + " · " + tk.queue));
        top.appendChild(el("span", "muted small", tk.closed_at ? when(tk.closed_at) : ""));
        li.appendChild(top);
        li.appendChild(el("div", "small", [reasonText(tk.reason), tk.agent].filter(Boolean).join(" · ")));
        if (tk.note) li.appendChild(el("div", "muted small note-line", tk.note));
        var b = el("button", "small", t("mine.open"));
        b.type = "button";
        b.setAttribute("aria-label", t("mine.openTicket", { id: tk.id }));
        b.addEventListener("click", function () { show(tk.id); });
        li.appendChild(b);
        list.appendChild(li);
      });
      var empty = $("resolved-empty");
      empty.textContent = q ? t("resolved.noMatch", { q: q }) : t("resolved.none");
      empty.hidden = ts.length > 0;
    }).catch(failed);
  }

  // ----- Quick replies: "/" in the reply box offers them.
  var quickReplies = [];
  var qrIndex = 0;

  function loadTools() {
    return Promise.all([
      api("GET", "/v1/quick-replies").then(function (v) { quickReplies = v.quick_replies || []; }),
      api("GET", "/v1/labels").then(function (v) { allLabels = v.labels || []; })
    ]).then(function () {
      renderLabelChoices();
      renderAdmin();
    }).catch(function (err) {
      if (err.status === 404) return; // not kept by this server
      failed(err);
    });
  }

  // slashWord is the "/word" being typed before the caret, or null.
  function slashWord() {
    var box = $("reply");
    var before = box.value.slice(0, box.selectionStart);
    var m = /(^|\s)\/([^\s\/]*)$/.exec(before);
    return m ? { start: before.length - m[2].length - 1, word: m[2].toLowerCase() } : null;
  }

  function qrMatches() {
    var sw = slashWord();
    if (!sw || !quickReplies.length) return [];
    return quickReplies.filter(function (q) {
      return q.shortcut.indexOf(sw.word) === 0 || (sw.word && q.text.toLowerCase().indexOf(sw.word) >= 0);
    }).slice(0, 8);
  }

  function renderQRMenu() {
    var menu = $("qr-menu");
    var ms = qrMatches();
    clear(menu);
    if (!ms.length || $("reply").readOnly || $("reply").disabled) { menu.hidden = true; return; }
    if (qrIndex >= ms.length) qrIndex = 0;
    ms.forEach(function (q, i) {
      var li = el("li", "qr-item" + (i === qrIndex ? " active" : ""));
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === qrIndex ? "true" : "false");
      li.dataset.shortcut = q.shortcut;
      li.appendChild(el("strong", "", "/" + q.shortcut));
      li.appendChild(el("span", "qr-text", q.text));
      li.addEventListener("mousedown", function (e) { e.preventDefault(); insertQuickReply(q); });
      menu.appendChild(li);
    });
    menu.hidden = false;
  }

  function insertQuickReply(q) {
    var box = $("reply");
    var sw = slashWord();
    if (!sw) return;
    var end = box.selectionStart;
    box.value = box.value.slice(0, sw.start) + q.text + box.value.slice(end);
    var caret = sw.start + q.text.length;
    box.setSelectionRange(caret, caret);
    $("qr-menu").hidden = true;
    box.focus();
  }

  function qrKeys(e) {
    var menu = $("qr-menu");
    if (menu.hidden) return;
    var ms = qrMatches();
    if (!ms.length) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      qrIndex = (qrIndex + (e.key === "ArrowDown" ? 1 : ms.length - 1)) % ms.length;
      renderQRMenu();
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      insertQuickReply(ms[qrIndex]);
    } else if (e.key === "Escape") {
      menu.hidden = true;
    }
  }

  // ----- Admin section: quick replies and labels.
  function renderAdmin() {
    if (me.role !== "admin") { $("admin").hidden = true; return; }
    $("admin").hidden = false;
    var ql = $("qr-admin");
    clear(ql);
    quickReplies.forEach(function (q) {
      var li = el("li", "admin-item");
      var txt = el("div", "");
      txt.appendChild(el("strong", "", "/" + q.shortcut));
      txt.appendChild(el("div", "muted small qr-text", q.text));
      li.appendChild(txt);
      var btns = el("span", "admin-buttons");
      var edit = el("button", "small", t("admin.edit"));
      edit.type = "button";
      edit.setAttribute("aria-label", t("admin.editReply", { s: q.shortcut }));
      edit.addEventListener("click", function () { editQuickReply(q); });
      btns.appendChild(edit);
      btns.appendChild(delButton(t("admin.deleteReply", { s: q.shortcut }), function () {
        return api("DELETE", "/v1/quick-replies/" + q.id);
      }));
      li.appendChild(btns);
      ql.appendChild(li);
    });
    if (!quickReplies.length) ql.appendChild(el("li", "muted small", t("admin.noReplies")));
    var ll = $("label-admin");
    clear(ll);
    allLabels.forEach(function (l) {
      var li = el("li", "admin-item");
      li.appendChild(el("span", "chip", l.name));
      li.appendChild(delButton(t("admin.deleteLabel", { name: l.name }), function () {
        return api("DELETE", "/v1/labels/" + l.id);
      }));
      ll.appendChild(li);
    });
    if (!allLabels.length) ll.appendChild(el("li", "muted small", t("labels.noneDefined")));
  }

  function delButton(label, del) {
    var b = el("button", "small danger", t("admin.delete"));
    b.type = "button";
    b.setAttribute("aria-label", label);
    b.addEventListener("click", function () {
      b.disabled = true;
      del().then(loadTools).catch(function (err) { b.disabled = false; failed(err); });
    });
    return b;
  }

  // qrEditing is the quick reply the form edits; 0 while it adds one.
  var qrEditing = 0;

  function editQuickReply(q) {
    qrEditing = q.id;
    $("qr-shortcut").value = q.shortcut;
    $("qr-text").value = q.text;
    $("qr-submit").textContent = t("admin.saveReply");
    $("qr-cancel").hidden = false;
    $("qr-error").textContent = "";
    $("qr-text").focus();
  }

  function resetQuickReplyForm() {
    qrEditing = 0;
    $("qr-shortcut").value = "";
    $("qr-text").value = "";
    $("qr-submit").textContent = t("admin.addReply");
    $("qr-cancel").hidden = true;
  }

  function addQuickReply(e) {
    e.preventDefault();
    $("qr-error").textContent = "";
    var body = { shortcut: $("qr-shortcut").value, text: $("qr-text").value };
    var req = qrEditing ? api("PUT", "/v1/quick-replies/" + qrEditing, body) : api("POST", "/v1/quick-replies", body);
    req.then(function () {
      resetQuickReplyForm();
      return loadTools();
    }).catch(function (err) {
      if (err.status === 401) { failed(err); return; }
      $("qr-error").textContent = err.message;
    });
  }

  function addLabel(e) {
    e.preventDefault();
    $("label-error").textContent = "";
    api("POST", "/v1/labels", { name: $("label-name").value }).then(function () {
      $("label-name").value = "";
      return loadTools();
    }).catch(function (err) {
      if (err.status === 401) { failed(err); return; }
      $("label-error").textContent = err.message;
    });
  }

  // ----- New tickets: a count in the title and on the waiting list, a
  // sound, and a desktop notification while the console is not looked at.
  var knownQueue = null; // ids seen in the queue; null before the first load
  var unseen = {};
  var NOTIFY_KEY = "relais.notify";

  function unseenCount() { return Object.keys(unseen).length; }

  function updateTitle() {
    var n = unseenCount() + Object.keys(unread).length;
    document.title = (n ? "(" + n + ") " : "") + t("app.title");
    var badge = $("waiting-new");
    badge.textContent = unseenCount() ? t("waiting.newCount", { n: unseenCount() }) : "";
    badge.hidden = !unseenCount();
  }

  // trackQueue marks the tickets that arrived since the last look, and
  // announces them.
  function trackQueue(ts) {
    var ids = ts.map(function (tk) { return tk.id; });
    if (knownQueue === null) {
      knownQueue = {};
      ids.forEach(function (id) { knownQueue[id] = true; });
      return;
    }
    var fresh = [];
    ids.forEach(function (id) {
      if (!knownQueue[id]) { knownQueue[id] = true; unseen[id] = true; fresh.push(id); }
    });
    Object.keys(unseen).forEach(function (id) { if (ids.indexOf(Number(id)) < 0) delete unseen[id]; });
    if (fresh.length) announce(fresh.length);
  }

  function markSeen() {
    unseen = {};
    updateTitle();
    Array.prototype.forEach.call(document.querySelectorAll("#ticket-list .is-new"), function (li) {
      li.classList.remove("is-new");
      var b = li.querySelector(".badge-new");
      if (b) b.remove();
    });
  }

  var audioCtx = null;
  function beep() {
    try {
      var AC = window.AudioContext || window.webkitAudioContext;
      if (!AC) return;
      audioCtx = audioCtx || new AC();
      var o = audioCtx.createOscillator();
      var g = audioCtx.createGain();
      o.frequency.value = 880;
      g.gain.setValueAtTime(0.08, audioCtx.currentTime);
      g.gain.exponentialRampToValueAtTime(0.0001, audioCtx.currentTime + 0.35);
      o.connect(g);
      g.connect(audioCtx.destination);
      o.start();
      o.stop(audioCtx.currentTime + 0.35);
    } catch (e) { /* sound is a nicety */ }
  }

  function notifyOn() { return localStorage.getItem(NOTIFY_KEY) === "on"; }

  function announce(n) {
    if (!notifyOn()) return;
    beep();
    if (window.Notification && Notification.permission === "granted" && document.hidden) {
      try {
        var note = new Notification(t("notify.newTitle"), { body: t("notify.newBody", { n: n }), tag: "relais-queue" });
        note.onclick = function () { window.focus(); note.close(); };
      } catch (e) { /* some browsers allow notifications from a service worker only */ }
    }
  }

  function renderNotifyButton() {
    var b = $("notify");
    b.hidden = false;
    var on = notifyOn();
    b.classList.toggle("on", on);
    b.textContent = on ? t("notify.buttonOn") : t("notify.buttonOff");
    b.title = on ? t("notify.on") : t("notify.off");
    b.setAttribute("aria-label", b.title);
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }

  // toggleNotify is the user gesture browsers want before they ask for
  // permission to notify, and before they let a page play sound.
  function toggleNotify() {
    if (notifyOn()) {
      localStorage.setItem(NOTIFY_KEY, "off");
      renderNotifyButton();
      status(t("notify.disabled"));
      return;
    }
    localStorage.setItem(NOTIFY_KEY, "on");
    beep();
    var done = function () {
      renderNotifyButton();
      var denied = window.Notification && Notification.permission === "denied";
      status(denied ? t("notify.soundOnly") : t("notify.enabled"));
    };
    if (window.Notification && Notification.permission === "default") {
      var p = Notification.requestPermission(done);
      if (p && p.then) p.then(done);
    } else {
      done();
    }
  }

  function loadMe() {
    return api("GET", "/v1/me").then(function (v) {
      me = v || me;
      renderAdmin();
    }).catch(function (err) { if (err.status !== 404) failed(err); });
  }

  function relabel() {
    updateTitle();
    live($("live").dataset.on === "1");
    if ($("team").dataset.online !== undefined) $("team").textContent = teamText(Number($("team").dataset.online));
    renderNotifyButton();
    if (token) {
      refresh();
      loadAgents();
      searchResolved();
      renderAdmin();
      if (panelTicket) loadCustomer(panelTicket);
    }
  }

  function bindAgentTools() {
    $("reassign").addEventListener("click", reassign);
    $("resolved-form").addEventListener("submit", searchResolved);
    $("qr-form").addEventListener("submit", addQuickReply);
    $("qr-cancel").addEventListener("click", resetQuickReplyForm);
    $("label-form").addEventListener("submit", addLabel);
    $("notify").addEventListener("click", toggleNotify);
    $("waiting-card").addEventListener("click", markSeen);
    $("reply").addEventListener("input", function () { qrIndex = 0; renderQRMenu(); });
    $("reply").addEventListener("keydown", qrKeys);
    $("reply").addEventListener("blur", function () { $("qr-menu").hidden = true; });
    document.addEventListener("visibilitychange", updateTitle);
    I18N.bindSwitcher($("lang"));
    I18N.onChange(relabel);
    I18N.apply();
    renderNotifyButton();
    updateTitle();
  }

  function start() {
    $("login-view").hidden = true;
    $("app").hidden = false;
    $("logout").hidden = false;
    try {
      var f = JSON.parse(sessionStorage.getItem(FILTERS_KEY) || "{}");
      if (f.queue) fillQueueFilter([f.queue]);
      $("filter-queue").value = f.queue || "";
      $("filter-reason").value = f.reason || "";
    } catch (e) { /* filters are a convenience */ }
    refresh();
    loadMe().then(function () { loadAgents(); loadTools(); });
    searchResolved();
    retryMS = RETRY_MIN_MS;
    connect();
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = setInterval(refresh, POLL_MS);
    $("presence").value = sessionStorage.getItem(PRESENCE_KEY) || "online";
    reportPresence();
    if (presenceTimer) clearInterval(presenceTimer);
    presenceTimer = setInterval(reportPresence, PRESENCE_MS);
  }

  function logout(msg) {
    if (token && presenceTimer) api("PUT", "/v1/agents/presence", { status: "away" }).catch(function () {});
    if (presenceTimer) { clearInterval(presenceTimer); presenceTimer = null; }
    $("presence").hidden = true;
    $("team").hidden = true;
    token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    setCurrent(0);
    forgetMedia();
    disconnect();
    mine = [];
    unread = {};
    drafts = {};
    unseen = {};
    knownQueue = null;
    me = { name: "", role: "" };
    $("admin").hidden = true;
    updateTitle();
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
    var typed = $("token").value.trim();
    if (!typed) return;
    token = typed;
    api("GET", "/v1/handoffs/stats").then(function () {
      sessionStorage.setItem(TOKEN_KEY, token);
      $("token").value = "";
      $("login-error").textContent = "";
      start();
    }).catch(function (err) {
      token = "";
      $("login-error").textContent = err.status === 401 ? t("login.invalid") :
        err.status === 403 ? t("login.notAgent") : err.message;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", function () { logout(""); });
    $("presence").addEventListener("change", function () {
      sessionStorage.setItem(PRESENCE_KEY, $("presence").value);
      reportPresence();
    });
    // With a queue chosen, the next customer is that queue's.
    $("claim-next").addEventListener("click", function () {
      var q = filters().queue;
      claim("/v1/handoffs/claim", q ? { queues: [q] } : undefined);
    });
    ["filter-queue", "filter-reason"].forEach(function (id) {
      $(id).addEventListener("change", function () {
        sessionStorage.setItem(FILTERS_KEY, JSON.stringify(filters()));
        api("GET", queuePath()).then(renderQueue).catch(failed);
      });
    });
    $("reply-form").addEventListener("submit", send);
    $("resolve").addEventListener("click", resolve);
    $("release").addEventListener("click", function () { finish("release", "status.released"); });
    bindAgentTools();
    if (token) start(); else logout("");
  });
})();
