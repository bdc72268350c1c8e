// Runs on the REPLAY origin, in /_newsarchive/highlight: loads one archived page
// (modifier mp_) in an iframe of the same origin and outlines the story, the
// ads and the related links that the sidecar page (another origin) sends by
// postMessage. It only reads the archived DOM and sets outlines.
(function () {
  "use strict";
  var frame = document.getElementById("page");
  var marks = null;
  var COLORS = { story: "#2e7d32", ad: "#c62828", related: "#1565c0" };

  function norm(s) { return (s || "").replace(/\s+/g, " ").trim().toLowerCase(); }
  function doc() { try { return frame.contentDocument; } catch (e) { return null; } }

  function mark(el, kind, index, focus) {
    el.setAttribute("data-na-mark", kind + ":" + index);
    el.style.outline = (focus ? "5px" : "3px") + " solid " + COLORS[kind];
    el.style.outlineOffset = "2px";
    if (focus) { el.scrollIntoView({ block: "center" }); }
  }

  function deepest(D, text) {
    // Elements whose whole text is `text` and none of whose children's is.
    var want = norm(text), out = [];
    if (!want) { return out; }
    var all = D.body ? D.body.getElementsByTagName("*") : [];
    for (var i = 0; i < all.length; i++) {
      var el = all[i];
      if (el.tagName === "SCRIPT" || el.tagName === "STYLE") { continue; }
      if (norm(el.textContent) !== want) { continue; }
      var inner = false;
      for (var c = 0; c < el.children.length; c++) {
        if (norm(el.children[c].textContent) === want) { inner = true; break; }
      }
      if (!inner) { out.push(el); }
    }
    return out;
  }

  function hrefEnds(a, url) {
    var h = a.getAttribute("href") || "";
    return url && (h === url || h.slice(-url.length) === url);
  }

  function apply() {
    var D = doc();
    if (!D || !D.body || !marks) { return; }
    var old = D.querySelectorAll("[data-na-mark]");
    for (var o = 0; o < old.length; o++) {
      old[o].style.outline = ""; old[o].removeAttribute("data-na-mark");
    }
    var focus = marks.focus || {};
    var found = { story: 0, ads: 0, related: 0 };
    var paras = D.body.getElementsByTagName("p");
    var story = (marks.story || []).map(norm);
    for (var p = 0; p < paras.length; p++) {
      var t = norm(paras[p].textContent);
      if (t && story.indexOf(t) >= 0) { mark(paras[p], "story", story.indexOf(t), false); found.story++; }
    }
    var used = [];
    (marks.ads || []).forEach(function (ad, i) {
      var el = null, anchors = D.body.getElementsByTagName("a");
      for (var a = 0; ad.href && a < anchors.length && !el; a++) {
        if (hrefEnds(anchors[a], ad.href) && used.indexOf(anchors[a]) < 0) { el = anchors[a]; }
      }
      var cands = el ? [] : deepest(D, ad.text);
      for (var c = 0; c < cands.length && !el; c++) {
        if (used.indexOf(cands[c]) < 0) { el = cands[c]; }
      }
      if (el) {
        used.push(el);
        var box = el.closest("aside,figure,ins,[class*=ad],[id*=ad]") || el;
        mark(box, "ad", i, focus.kind === "ad" && focus.index === i); found.ads++;
      }
    });
    (marks.related || []).forEach(function (rel, i) {
      var anchors = D.body.getElementsByTagName("a"), el = null;
      for (var a = 0; a < anchors.length && !el; a++) {
        if (hrefEnds(anchors[a], rel.url) || (rel.title && norm(anchors[a].textContent) === norm(rel.title))) {
          el = anchors[a];
        }
      }
      if (el) { mark(el, "related", i, focus.kind === "related" && focus.index === i); found.related++; }
    });
    found.type = "newsarchive-highlighted";
    window.parent.postMessage(found, "*");
  }

  window.addEventListener("message", function (ev) {
    var d = ev.data;
    if (d && d.type === "newsarchive-highlight") { marks = d; apply(); }
  });
  frame.addEventListener("load", function () { apply(); setTimeout(apply, 500); });
  window.parent.postMessage({ type: "newsarchive-ready" }, "*");
})();
