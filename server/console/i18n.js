// Relais consoles' translations: a small mechanism shared by the consoles.
// A page registers its dictionaries with RelaisI18n.add(lang, {key: text});
// elements with data-i18n="key" get their text from the dictionary of the
// current language (data-i18n-attr="placeholder:key;title:key2" sets
// attributes too), and scripts build text with RelaisI18n.t(key, params),
// where "{name}" in a text is replaced by params.name. The language is
// the one chosen in a switcher (saved in localStorage), else the
// browser's, else English; a key missing from a language falls back to
// English, then to the key itself, so a missing text shows, never breaks.
"use strict";

(function () {
  var STORE_KEY = "relais.lang";
  var dicts = {};
  var listeners = [];
  var lang = "en";

  function pick() {
    var saved = "";
    try { saved = localStorage.getItem(STORE_KEY) || ""; } catch (e) { saved = ""; }
    if (saved && dicts[saved]) return saved;
    var langs = navigator.languages || [navigator.language || "en"];
    for (var i = 0; i < langs.length; i++) {
      var base = String(langs[i] || "").toLowerCase().split("-")[0];
      if (dicts[base]) return base;
    }
    return "en";
  }

  function t(key, params) {
    var d = dicts[lang] || {};
    var text = Object.prototype.hasOwnProperty.call(d, key) ? d[key] :
      (dicts.en && Object.prototype.hasOwnProperty.call(dicts.en, key) ? dicts.en[key] : key);
    if (params) {
      text = text.replace(/\{(\w+)\}/g, function (m, name) {
        return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
      });
    }
    return text;
  }

  // apply fills the elements under root (the document by default).
  function apply(root) {
    root = root || document;
    Array.prototype.forEach.call(root.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-i18n-attr]"), function (el) {
      el.getAttribute("data-i18n-attr").split(";").forEach(function (pair) {
        var kv = pair.split(":");
        if (kv.length === 2) el.setAttribute(kv[0].trim(), t(kv[1].trim()));
      });
    });
    if (root === document) document.documentElement.lang = lang;
  }

  function setLang(l) {
    if (!dicts[l]) return;
    lang = l;
    try { localStorage.setItem(STORE_KEY, l); } catch (e) { /* private mode: this page only */ }
    apply();
    listeners.forEach(function (fn) { fn(lang); });
  }

  // bindSwitcher makes a <select> choose the language.
  function bindSwitcher(sel) {
    if (!sel) return;
    sel.value = lang;
    sel.addEventListener("change", function () { setLang(sel.value); });
    listeners.push(function (l) { sel.value = l; });
  }

  window.RelaisI18n = {
    add: function (l, dict) {
      dicts[l] = Object.assign(dicts[l] || {}, dict);
      lang = pick();
    },
    t: t,
    apply: apply,
    setLang: setLang,
    lang: function () { return lang; },
    // locale is the language for dates and numbers (toLocaleString).
    locale: function () { return lang; },
    onChange: function (fn) { listeners.push(fn); },
    bindSwitcher: bindSwitcher
  };
})();
