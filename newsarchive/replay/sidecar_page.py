"""The sidecar pages: an article's clean text, ads and related links, beside its replay.

A WSGI app served on its *own* port (the admin origin), never on the replay
origin, so archived scripts can never run where these pages run. It frames
the replay origin's highlighter (:mod:`newsarchive.replay.isolation`) and
tells it by ``postMessage`` what to outline; its own CSP allows framing only
the replay origin, and ``frame-ancestors 'none'`` stops archived pages from
framing it.

Routes::

    /                                   articles with sidecars: ?q=WORDS&sort=S&page=N
    /_screenshot/NAME/[TS/]URL          a page's screenshot (PNG), when the crawl took one
    /_sidecar/NAME/[TS/]URL             the sidecar page (closest capture to TS, else latest)
    /_sidecar.json/NAME/[TS/]URL        the sidecar itself
    /_record/NAME/[TS/]URL              the WARC record (its gzip member; ranged read)
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from newsarchive.collection import WARC_GZ, warc_stem
from newsarchive.replay.articles import Article, ArticleIndex
from newsarchive.replay.isolation import replay_url

logger = logging.getLogger(__name__)

_TS = re.compile(r"^(\d{1,14})/(.*)$")

_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#222}
header{padding:12px 20px;border-bottom:1px solid #ddd;background:#fafafa}
header h1{font-size:1.3em;margin:0 0 4px}
.meta{color:#555;font-size:.9em}
nav a{margin-right:14px}
.cols{display:flex;gap:16px;padding:0 20px}
.cols>div{flex:1 1 50%;min-width:0}
#replay{width:100%;height:85vh;border:1px solid #ccc}
.story p{margin:.6em 0}
li{margin:.3em 0}
button{font-size:.8em;margin-left:6px}
.ad{border-left:4px solid #c62828;padding-left:6px}
.rel{border-left:4px solid #1565c0;padding-left:6px}
#found{color:#555;font-size:.9em}
table{border-collapse:collapse}td{padding:2px 8px;border-bottom:1px solid #eee}
"""

_SCRIPT = """
(function(){
  var data = JSON.parse(document.getElementById('marks').textContent);
  var frame = document.getElementById('replay');
  var origin = data.replay_origin;
  function send(focus){
    frame.contentWindow.postMessage({type:'newsarchive-highlight', story:data.story,
      ads:data.ads, related:data.related, focus:focus||null}, origin);
  }
  window.addEventListener('message', function(ev){
    if (ev.origin !== origin || ev.source !== frame.contentWindow || !ev.data) return;
    if (ev.data.type === 'newsarchive-ready') send(null);
    if (ev.data.type === 'newsarchive-highlighted') {
      document.getElementById('found').textContent = 'outlined in the page: ' +
        Number(ev.data.story) + ' story paragraphs, ' + Number(ev.data.ads) + ' of ' +
        data.ads.length + ' ads, ' + Number(ev.data.related) + ' of ' + data.related.length +
        ' related links';
    }
  });
  frame.addEventListener('load', function(){ send(null); });
  document.querySelectorAll('button[data-kind]').forEach(function(b){
    b.addEventListener('click', function(){
      send({kind:b.getAttribute('data-kind'), index:Number(b.getAttribute('data-index'))});
    });
  });
})();
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


class SidecarApp:
    """WSGI app of the admin origin (see the module docstring)."""

    def __init__(self, collection: str, articles_db: Path, pathindex: Path, replay_port: int) -> None:
        self.collection = collection
        self.articles = ArticleIndex(articles_db)
        self.warcs = dict(
            line.rstrip("\n").split("\t", 1)
            for line in pathindex.read_text("utf-8").splitlines()
            if "\t" in line
        )
        self.replay_port = replay_port

    # -- plumbing ---------------------------------------------------------------
    def replay_origin(self, environ: dict[str, Any]) -> str:
        """The replay server as seen from the browser: same host, the replay port."""
        host = environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "127.0.0.1")
        hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return f"{environ.get('wsgi.url_scheme', 'http')}://{hostname}:{self.replay_port}"

    def headers(self, environ: dict[str, Any], content_type: str) -> list[tuple[str, str]]:
        """Isolation headers of every admin response."""
        return [
            ("Content-Type", content_type),
            ("Content-Security-Policy",
             f"default-src 'self'; frame-src {self.replay_origin(environ)}; "
             "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
             "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"),
            ("X-Frame-Options", "DENY"),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ]

    def _target(self, rest: str, environ: dict[str, Any]) -> tuple[str | None, str]:
        query = environ.get("QUERY_STRING", "")
        match = _TS.match(rest)
        ts, url = (match.group(1), match.group(2)) if match else (None, rest)
        if query:
            url = f"{url}?{query}"
        return ts, url

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Route a request."""
        path = environ.get("PATH_INFO", "/")
        try:
            if path == "/":
                return self._respond(environ, start_response, "200 OK", self.list_page(environ))
            if path.startswith(f"/_screenshot/{self.collection}/"):
                rest = path[len(f"/_screenshot/{self.collection}/"):]
                return self.screenshot(rest, environ, start_response)
            for route, handler in (("/_sidecar/", self.sidecar_page),
                                   ("/_sidecar.json/", self.sidecar_json),
                                   ("/_record/", self.record)):
                prefix = route + self.collection + "/"
                if path.startswith(prefix):
                    ts, url = self._target(path[len(prefix):], environ)
                    article = self.articles.find(url, ts)
                    if article is None:
                        break
                    return handler(article, environ, start_response)
        except Exception:
            logger.exception("sidecar page failed: %s", path)
            return self._respond(environ, start_response, "500 Internal Server Error",
                                 "<p>internal error; see the log</p>")
        return self._respond(environ, start_response, "404 Not Found",
                             "<p>No captured article with a sidecar here. "
                             "<a href='/'>All articles</a></p>")

    def _respond(self, environ: dict[str, Any], start_response: Callable[..., Any],
                 status: str, body: str) -> Iterable[bytes]:
        start_response(status, self.headers(environ, "text/html; charset=utf-8"))
        return [body.encode("utf-8")]

    def sidecar(self, article: Article) -> dict[str, Any]:
        """The article's full sidecar, by one ranged read of its sidecar file."""
        from newsarchive.index.sidecars import read_sidecar

        return read_sidecar(article.sidecar_uri, article.sidecar_offset, article.sidecar_length)

    # -- pages ------------------------------------------------------------------
    def list_page(self, environ: dict[str, Any]) -> str:
        """The article list: search, sort, pages (:mod:`newsarchive.replay.article_list`)."""
        from newsarchive.replay.article_list import list_page

        return list_page(self.articles, self.collection, self.replay_origin(environ), environ,
                         _STYLE)

    def screenshot(self, rest: str, environ: dict[str, Any],
                   start_response: Callable[..., Any]) -> Iterable[bytes]:
        """A page's screenshot (PNG) from its WARC resource record, by one ranged read."""
        import io

        from warcio.archiveiterator import ArchiveIterator

        from newsarchive.store import read_range

        ts, url = self._target(rest, environ)
        shot = self.articles.screenshot(url, ts)
        source = self.warcs.get(shot.warc_filename) if shot else None
        if shot is None or source is None:
            return self._respond(environ, start_response, "404 Not Found", "<p>no screenshot</p>")
        data = read_range(source, shot.offset, shot.length)
        record = next(iter(ArchiveIterator(io.BytesIO(data))))
        body = record.content_stream().read()
        start_response("200 OK", self.headers(environ, "image/png"))
        return [body]

    def sidecar_page(self, article: Article, environ: dict[str, Any],
                     start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The story, then the ads and related links, beside the highlighted replay."""
        sc = self.sidecar(article)
        origin = self.replay_origin(environ)
        coll, ts, url = self.collection, article.ts, article.url
        paragraphs = sc.get("paragraphs") or [p for p in (sc.get("text") or "").split("\n\n") if p]
        ads = sc.get("ads") or []
        related = sc.get("related") or []
        marks = {
            "replay_origin": origin,
            "story": paragraphs,
            "ads": [{"text": a.get("text"), "href": a.get("href")} for a in ads],
            "related": [{"title": r.get("title"), "url": r.get("url")} for r in related],
        }
        frame = f"{origin}/_newsarchive/highlight?ts={ts}&url={quote(url, safe='')}"
        quoted = quote(url, safe=":/?&=%")
        byline = ", ".join(sc.get("authors") or [])
        ad_items = "".join(
            f"<li class='ad' data-ad='{i}'>{_e(a.get('text'))}"
            f" <span class='meta'>{'before paragraph ' + str(a['position'] + 1) if isinstance(a.get('position'), int) else 'outside the story'}"
            f"{' &middot; ' + _e(a.get('href')) if a.get('href') else ''}</span>"
            f"<button data-kind='ad' data-index='{i}'>show in page</button></li>"
            for i, a in enumerate(ads)
        )
        rel_items = "".join(
            f"<li class='rel' data-related='{i}'><a href='{_e(origin + replay_url(coll, ts, r.get('url') or ''))}'"
            f" target='_blank' rel='noopener noreferrer'>{_e(r.get('title'))}</a>"
            f" <span class='meta'>{_e(r.get('section') or '')}</span>"
            f"<button data-kind='related' data-index='{i}'>show in page</button></li>"
            for i, r in enumerate(related)
        )
        story = "".join(f"<p>{_e(p)}</p>" for p in paragraphs)
        data = json.dumps(marks, ensure_ascii=False).replace("</", "<\\/")
        body = f"""<!doctype html><html><head><meta charset="utf-8">
<title>{_e(sc.get('title') or url)} — sidecar</title><style>{_STYLE}</style></head><body>
<header><h1 id="title">{_e(sc.get('title') or url)}</h1>
<div class="meta">{_e(byline)}{' &middot; ' + _e(sc.get('publisher')) if sc.get('publisher') else ''}
{' &middot; published ' + _e(sc.get('published')) if sc.get('published') else ''}
{' &middot; ' + _e(sc.get('language')) if sc.get('language') else ''}
&middot; captured {_e(ts)} &middot; <span id="url">{_e(url)}</span></div>
<nav><a id="replay-link" href="{_e(origin + replay_url(coll, ts, url))}" target="_blank" rel="noopener noreferrer">replay this capture</a>
<a href="{_e(origin + replay_url(coll, '*', url))}" target="_blank" rel="noopener noreferrer">all captures of this URL</a>
<a id="record-link" href="/_record/{_e(coll)}/{ts}/{_e(quoted)}">WARC record ({_e(article.warc_filename)} @ {article.warc_offset})</a>
<a href="/_sidecar.json/{_e(coll)}/{ts}/{_e(quoted)}">sidecar JSON</a>
<a href="/">all articles</a></nav><div id="found"></div></header>
<div class="cols"><div>
<section class="story" id="story"><h2>Story</h2>{story}</section>
<section id="ads"><h2>Ads found around it ({len(ads)})</h2><ol>{ad_items}</ol></section>
<section id="related"><h2>Related links ({len(related)})</h2><ol>{rel_items}</ol></section>
</div><div><iframe id="replay" src="{_e(frame)}" title="replayed page"></iframe></div></div>
<script type="application/json" id="marks">{data}</script>
<script>{_SCRIPT}</script></body></html>"""
        start_response("200 OK", self.headers(environ, "text/html; charset=utf-8"))
        return [body.encode("utf-8")]

    def sidecar_json(self, article: Article, environ: dict[str, Any],
                     start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The sidecar as stored."""
        body = json.dumps(self.sidecar(article), ensure_ascii=False, indent=2).encode("utf-8")
        start_response("200 OK", self.headers(environ, "application/json; charset=utf-8"))
        return [body]

    def record(self, article: Article, environ: dict[str, Any],
               start_response: Callable[..., Any]) -> Iterable[bytes]:
        """The response (or revisit) record's gzip member: a one-record WARC file."""
        from newsarchive.store import read_range

        source = self.warcs.get(article.warc_filename)
        if source is None:
            return self._respond(environ, start_response, "404 Not Found", "<p>WARC file not found</p>")
        data = read_range(source, article.warc_offset, article.warc_length)
        name = f"{warc_stem(article.warc_filename)}-{article.warc_offset}{WARC_GZ}"
        headers = self.headers(environ, "application/warc")
        headers.append(("Content-Disposition", f'attachment; filename="{name}"'))
        start_response("200 OK", headers)
        return [data]
