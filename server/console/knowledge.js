// Relais knowledge console: upload, articles and drafts over the JSON API,
// with the editor token kept in this tab only (as the agent console does).
(function () {
  "use strict";
  var TOKEN_KEY = "relais.editor.token";
  var token = sessionStorage.getItem(TOKEN_KEY) || "";
  function $(id) { return document.getElementById(id); }
  function api(method, path) {
    return fetch(path, { method: method, headers: { "Authorization": "Bearer " + token } }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) { var e = new Error((body.error && body.error.message) || body.error || resp.statusText); e.status = resp.status; throw e; }
        return body;
      });
    });
  }
  function el(tag, text) { var n = document.createElement(tag); if (text !== undefined) n.textContent = text; return n; }
  function status(msg) { $("status").textContent = msg; }

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
      var ul = $("articles"); ul.textContent = "";
      body.articles.forEach(function (a) {
        var li = el("li"); li.appendChild(el("strong", a.title)); li.appendChild(el("span", " " + a.external_id));
        var del = el("button", "Delete"); del.type = "button";
        del.onclick = function () {
          if (!confirm("Delete “" + a.title + "”?")) return;
          api("DELETE", "/v1/knowledge/articles/" + a.id).then(loadArticles, function (e) { status(e.message); });
        };
        li.appendChild(del); ul.appendChild(li);
      });
    });
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

  function start() {
    $("login-view").hidden = true; $("app").hidden = false; $("logout").hidden = false;
    loadArticles().then(loadDrafts, function (e) {
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
  var drop = $("drop");
  drop.addEventListener("dragover", function (e) { e.preventDefault(); });
  drop.addEventListener("drop", function (e) { e.preventDefault(); upload(e.dataTransfer.files); });
  if (token) start(); else logout("");
})();
