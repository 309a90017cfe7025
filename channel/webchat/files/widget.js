// Relais web chat widget. Add to a page:
//   <script src="https://relais.example/chat/widget.js" async></script>
// Optional attributes: data-lang="en|fr" (else the page's language),
// data-color="#0b5cad" (the bubble's colour).
// It shows a chat bubble; a click opens the chat (/chat) in a frame. It
// sets styles through the DOM only, so it works under a page's strict CSP
// as long as that allows this script and frames from Relais.
(function () {
  "use strict";
  if (window.RelaisChat) return;
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src, location.href);
  var origin = base.origin;
  var path = base.pathname.replace(/\/widget\.js$/, "");
  var lang = (script.dataset.lang || document.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  if (lang !== "fr") lang = "en";
  var T = {
    en: { open: "Chat with us", close: "Close the chat", title: "Customer service chat" },
    fr: { open: "Discuter avec nous", close: "Fermer la discussion", title: "Discussion avec le service client" }
  }[lang];
  var color = /^#[0-9a-fA-F]{3,8}$/.test(script.dataset.color || "") ? script.dataset.color : "#0b5cad";
  var svgNS = "http://www.w3.org/2000/svg";

  function icon(d, stroke) {
    var svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    var p = document.createElementNS(svgNS, "path");
    p.setAttribute("d", d);
    if (stroke) {
      p.setAttribute("stroke", "#fff");
      p.setAttribute("stroke-width", "2.4");
      p.setAttribute("stroke-linecap", "round");
      p.setAttribute("fill", "none");
    } else {
      p.setAttribute("fill", "#fff");
    }
    svg.appendChild(p);
    return svg;
  }
  var chatIcon = icon("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  var closeIcon = icon("M6 6l12 12M18 6L6 18", true);

  var button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-label", T.open);
  button.setAttribute("aria-expanded", "false");
  button.title = T.open;
  Object.assign(button.style, {
    position: "fixed", right: "20px", bottom: "20px", width: "60px", height: "60px", padding: "0",
    borderRadius: "50%", border: "0", background: color, cursor: "pointer", zIndex: "2147483000",
    display: "flex", alignItems: "center", justifyContent: "center",
    boxShadow: "0 6px 20px rgba(0,0,0,.25)", transition: "transform .15s ease"
  });
  button.appendChild(chatIcon);

  var frame = null;
  var phone = window.matchMedia("(max-width: 480px)");

  function place() {
    if (!frame) return;
    if (phone.matches) {
      Object.assign(frame.style, { right: "0", bottom: "0", width: "100%", height: "100%", borderRadius: "0" });
    } else {
      Object.assign(frame.style, {
        right: "20px", bottom: "92px", width: "380px", height: "min(620px, calc(100vh - 112px))", borderRadius: "16px"
      });
    }
  }

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = origin + path + "?embed=1&lang=" + lang;
      frame.title = T.title;
      Object.assign(frame.style, {
        position: "fixed", border: "0", background: "#fff", zIndex: "2147483001",
        boxShadow: "0 12px 48px rgba(0,0,0,.28)", colorScheme: "light"
      });
      place();
      document.body.appendChild(frame);
    }
    frame.style.display = "block";
    if (phone.matches) button.style.display = "none";
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-label", T.close);
    button.title = T.close;
    button.replaceChild(closeIcon, chatIcon);
    frame.focus();
  }

  function close() {
    if (!frame) return;
    frame.style.display = "none";
    button.style.display = "flex";
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-label", T.open);
    button.title = T.open;
    if (closeIcon.parentNode === button) button.replaceChild(chatIcon, closeIcon);
    button.focus();
  }

  function isOpen() { return frame && frame.style.display !== "none"; }

  button.addEventListener("click", function () { isOpen() ? close() : open(); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape" && isOpen()) close(); });
  window.addEventListener("message", function (e) {
    if (frame && e.source === frame.contentWindow && e.origin === origin && e.data && e.data.type === "relais-chat-close") close();
  });
  if (phone.addEventListener) phone.addEventListener("change", place);

  function mount() { document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.RelaisChat = { open: open, close: close };
})();
