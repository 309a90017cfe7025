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
    return d.toLocaleString(undefined, opts);
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
    e.appendChild(el("strong", "", "Not sent: "));
    e.appendChild(document.createTextNode(msg + " Your draft is kept."));
  }

  // REFUSALS word the API's refusals of a reply for the agent.
  var REFUSALS = {
    window_closed: "WhatsApp's 24-hour window has closed. The customer last wrote more than 24 hours ago, " +
      "and only approved templates may reach them now.",
    opted_out: "the customer opted out (they wrote STOP). Nothing can be sent to them until they write again."
  };

  function minutes(ms) {
    var m = Math.round(Math.abs(ms) / 60000);
    if (m < 1) return "less than a minute"; // not "0 min": that reads as nothing left
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
    if (s.overdue) badges.appendChild(el("span", "badge-overdue", "Overdue"));
    badges.appendChild(el("span", "prio prio-" + t.priority, t.priority));
    top.appendChild(badges);
    li.appendChild(top);
    li.appendChild(el("div", "reason", t.reason.replace(/_/g, " ")));
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
      if (unread[t.id]) bottom.appendChild(el("span", "new", "New message"));
      if (t.id === current) {
        bottom.appendChild(el("span", "shown", "Showing"));
        li.setAttribute("aria-current", "true");
      } else {
        var b = el("button", "small", "Open");
        b.type = "button";
        b.setAttribute("aria-label", "Open ticket #" + t.id);
        b.addEventListener("click", function () { show(t.id); });
        bottom.appendChild(b);
      }
      li.appendChild(bottom);
      list.appendChild(li);
    });
    $("mine-empty").hidden = mine.length > 0;
    $("mine-count").textContent = mine.length ? String(mine.length) : "";
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
    ts.forEach(function (t) {
      var li = el("li", "ticket");
      li.dataset.id = t.id;
      var slaText = ticketHead(li, t);
      var bottom = el("div", "row");
      bottom.appendChild(slaText);
      var b = el("button", "small", "Claim");
      b.type = "button";
      b.addEventListener("click", function () { claim("/v1/handoffs/" + t.id + "/claim"); });
      bottom.appendChild(b);
      li.appendChild(bottom);
      list.appendChild(li);
    });
    var f = filters();
    $("tickets-empty").textContent = f.queue || f.reason ? "Nobody is waiting with these filters." : "Nobody is waiting.";
    $("tickets-empty").hidden = ts.length > 0;
    $("waiting-count").textContent = ts.length ? String(ts.length) : "";
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
    $("reply-blocked").textContent = blocked ? "You cannot reply: " + blocked : "";
    $("reply-blocked").hidden = !blocked;
    Array.prototype.forEach.call(arts.querySelectorAll("button"), function (b) { b.disabled = !replyAllowed; });
  }

  function showNoTicket() {
    forgetMedia();
    if (shownTicket) drafts[shownTicket] = $("reply").value;
    $("reply").value = "";
    shownTicket = 0;
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
    status("Claiming…");
    api("POST", path, body).then(function (t) {
      setCurrent(t.id);
      status("Claimed ticket #" + t.id + ".");
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
      status("Reply queued; its delivery shows under it.");
      return loadTicket();
    }).catch(function (err) {
      if (err.status === 401) { failed(err); return; }
      // The draft stays in the box: nothing the agent wrote is lost.
      replyError(REFUSALS[err.code] || err.message.replace(/\.?$/, "."));
      // A refusal means the ticket or its customer changed: show it.
      if (err.status === 409) return loadTicket();
    }).then(function () { $("send").disabled = !replyAllowed; });
  }

  function finish(action, done) {
    if (!current) return;
    var id = current;
    api("POST", "/v1/handoffs/" + id + "/" + action).then(function () {
      status(done.replace("%d", id));
      $("reply").value = "";
      delete drafts[id];
      setCurrent(0);
      return refresh();
    }).catch(failed);
  }

  function live(on) {
    var l = $("live");
    l.textContent = on ? "live" : "offline";
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
      team.textContent = v.online === 1 ? "1 agent online" : v.online + " agents online";
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
    $("resolve").addEventListener("click", function () { finish("resolve", "Ticket #%d resolved."); });
    $("release").addEventListener("click", function () { finish("release", "Ticket #%d released to the bot."); });
    if (token) start(); else logout("");
  });
})();
