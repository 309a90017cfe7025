// The web chat page: loads the session's conversation, sends messages,
// and follows new ones (an agent's replies) over Server-Sent Events,
// resuming after the last message it has. Customer and agent text is only
// ever set as textContent, never as markup; the assistant's answers, written
// in Markdown in the knowledge base, are built from a safe subset of it with
// DOM calls (see markdown), their text again only ever text.
(function () {
  "use strict";
  var T = JSON.parse(document.body.dataset.strings);
  var $ = function (id) { return document.getElementById(id); };
  var log = $("log"), form = $("composer"), text = $("text"), send = $("send");
  var feedback = $("feedback"), status = $("status"), statusText = $("status-text"), error = $("error");
  var lastID = 0, state = "bot", conversation = 0, stream = null, busy = false, pendingID = "";

  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content !== undefined) e.textContent = content;
    return e;
  }

  // inline appends s to parent: **bold** and __bold__ as <strong>,
  // [text](https://...) as a link that opens apart and tells the other
  // site nothing; everything else as text.
  var inlineRe = /\*\*([^*\n]+)\*\*|__([^_\n]+)__|\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g;
  function inline(parent, s) {
    var at = 0, m;
    inlineRe.lastIndex = 0;
    while ((m = inlineRe.exec(s)) !== null) {
      if (m.index > at) parent.appendChild(document.createTextNode(s.slice(at, m.index)));
      if (m[3] !== undefined) {
        var a = el("a", "", m[3]);
        a.href = m[4];
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        parent.appendChild(a);
      } else {
        parent.appendChild(el("strong", "", m[1] !== undefined ? m[1] : m[2]));
      }
      at = inlineRe.lastIndex;
    }
    if (at < s.length) parent.appendChild(document.createTextNode(s.slice(at)));
  }

  // markdown renders an answer: paragraphs with their source's line wraps
  // joined (a line ending in two spaces keeps its break), bullet and
  // numbered lists, headings as bold lines, and inline marks. Anything
  // else, HTML included, is shown as the text it is.
  function markdown(src) {
    var frag = document.createDocumentFragment();
    var para = null, list = null, item = null, prev = "";
    String(src).replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
      var t = line.trim(), h, li;
      if (t === "") {
        para = list = item = null;
      } else if ((h = /^#{1,6}\s+(.+?)\s*#*$/.exec(t))) {
        para = list = item = null;
        var p = frag.appendChild(el("p"));
        inline(p.appendChild(el("strong")), h[1]);
      } else if ((li = /^(?:[-*+\u2022]|(\d{1,9})[.)])\s+(.*)$/.exec(t))) {
        var ordered = li[1] !== undefined;
        if (!list || (list.tagName === "OL") !== ordered) {
          list = frag.appendChild(el(ordered ? "ol" : "ul"));
          if (ordered && li[1] !== "1") list.start = Number(li[1]);
        }
        para = null;
        item = list.appendChild(el("li"));
        inline(item, li[2]);
      } else if (item) {
        item.appendChild(document.createTextNode(" "));
        inline(item, t);
      } else {
        if (!para) para = frag.appendChild(el("p"));
        else if (/ {2}$/.test(prev)) para.appendChild(el("br"));
        else para.appendChild(document.createTextNode(" "));
        inline(para, t);
      }
      prev = line;
    });
    return frag;
  }

  function randomID() {
    var b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }

  function atBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // add shows a message once, in id order, whichever of the POST's answer
  // and the stream brings it first.
  function add(m) {
    if (!m || !m.id || log.querySelector('[data-id="' + m.id + '"]')) return;
    var stick = atBottom() || m.role === "customer";
    var row = el("div", "msg " + (/^(customer|assistant|agent|system)$/.test(m.role) ? m.role : "system"));
    row.dataset.id = String(m.id);
    if (m.role === "assistant") row.appendChild(el("div", "who", T.assistant));
    if (m.role === "agent") row.appendChild(el("div", "who", T.agent));
    if (m.role === "assistant") row.appendChild(el("div", "bubble md")).appendChild(markdown(m.text));
    else row.appendChild(el("div", "bubble", m.text));
    if (m.source && m.source.title) {
      var src = el("div", "source", T.source + " ");
      src.appendChild(el("strong", "", m.source.title));
      row.appendChild(src);
    }
    var next = null;
    log.querySelectorAll("[data-id]").forEach(function (e) {
      if (!next && Number(e.dataset.id) > m.id) next = e;
    });
    log.insertBefore(row, next || typing());
    lastID = Math.max(lastID, m.id);
    if (stick) scrollDown();
  }

  var typingRow = null;
  function typing(on) {
    if (on === true && !typingRow) {
      typingRow = el("div", "msg assistant typing");
      typingRow.appendChild(el("div", "bubble", T.typing));
      log.appendChild(typingRow);
      scrollDown();
    } else if (on === false && typingRow) {
      typingRow.remove();
      typingRow = null;
    }
    return typingRow;
  }

  function apply(s) {
    if (s.conversation_id) conversation = s.conversation_id;
    state = s.state || "bot";
    (s.messages || []).forEach(add);
    feedback.hidden = !s.awaiting_feedback;
    if (s.awaiting_feedback) {
      // Right under the answer it asks about.
      log.insertBefore(feedback, typingRow);
      scrollDown();
    }
    showStatus(false);
  }

  function showStatus(offline) {
    var key = offline ? "reconnecting" : "status_" + state;
    statusText.textContent = T[key] || T.status_bot;
    status.className = "status" + (offline ? " offline" : state === "queued" ? " waiting" : "");
  }

  function showError(msg) {
    error.textContent = msg || "";
    error.hidden = !msg;
  }

  function follow() {
    if (stream || !conversation || !window.EventSource) return;
    stream = new EventSource("/chat/api/events?after=" + lastID);
    stream.addEventListener("message", function (e) { add(JSON.parse(e.data)); });
    stream.addEventListener("state", function (e) { apply(JSON.parse(e.data)); });
    stream.onopen = function () { showStatus(false); };
    stream.onerror = function () {
      if (stream.readyState === EventSource.CLOSED) {
        // Closed for good (the session has no conversation): reopen later.
        stream = null;
        setTimeout(follow, 5000);
      } else {
        showStatus(true);
      }
    };
  }

  function post(body) {
    if (busy) return;
    busy = true;
    send.disabled = true;
    showError("");
    typing(true);
    fetch("/chat/api/messages", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (v) { return { status: resp.status, body: v }; });
    }).then(function (r) {
      if (r.status === 200) {
        if (body.text === text.value.trim()) { text.value = ""; pendingID = ""; resize(); }
        apply(r.body);
        follow();
      } else if (r.status === 429) {
        showError(T.error_rate);
      } else if (r.status === 400 || r.status === 413) {
        showError(T.error_invalid);
      } else {
        showError(T.error_send);
      }
    }).catch(function () {
      showError(T.error_send);
    }).then(function () {
      busy = false;
      send.disabled = false;
      typing(false);
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var t = text.value.trim();
    if (!t) { text.focus(); return; }
    // The same id until the text changes: a retry after a lost answer
    // gets the first answer back, not a second one.
    if (!pendingID) pendingID = randomID();
    post({ text: t, id: pendingID });
  });
  text.addEventListener("input", function () { pendingID = ""; resize(); });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  function resize() {
    text.style.height = "auto";
    text.style.height = Math.min(text.scrollHeight, 160) + "px";
  }

  feedback.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-answer]");
    if (!b) return;
    feedback.hidden = true;
    post({ text: b.dataset.answer, id: randomID() });
  });

  var close = $("close");
  if (close) {
    close.addEventListener("click", function () {
      window.parent.postMessage({ type: "relais-chat-close" }, "*");
    });
  }

  // The page works from here on: a message sent before would have been a
  // plain form submission. Tests (and a host page's scripts) wait for it.
  document.documentElement.dataset.chat = "ready";

  fetch("/chat/api/messages", { credentials: "same-origin" })
    .then(function (resp) { return resp.ok ? resp.json() : Promise.reject(resp.status); })
    .then(function (v) { apply(v); follow(); scrollDown(); })
    .catch(function () { showStatus(true); });
})();
