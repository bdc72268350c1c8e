"""The replay origin's own layer around pywb: isolation headers and the highlighter.

Archived scripts run on the replay origin only. This WSGI middleware makes
sure of two things there:

- every response carries a Content-Security-Policy (pywb adds it to replayed
  ``mp_`` documents; we add the same one to everything else, e.g. ``id_`` raw
  views of archived HTML), so no request can leave the replay host;
- ``/_newsarchive/highlight?ts=TS&url=URL`` serves the page that outlines a
  sidecar's story, ads and related links inside the replayed page. It lives on
  the replay origin because it must read the archived DOM; the sidecar page
  (another origin) drives it by ``postMessage`` and never shares its origin
  with archived code.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, quote

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PREFIX = "/_newsarchive/"
DEFAULT_CSP = "default-src 'self' 'unsafe-inline' 'unsafe-eval' data: blob:"

_HIGHLIGHT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>newsarchive highlight</title>
<style>html,body{{margin:0;height:100%}}iframe{{border:0;width:100%;height:100%}}</style>
</head><body><iframe id="page" src="{src}"></iframe>
<script src="{prefix}highlight.js"></script></body></html>
"""


def replay_url(collection: str, ts: str | None, url: str, mod: str = "") -> str:
    """Path of a capture in pywb: ``/NAME/TS{mod}/URL`` (``/NAME/URL`` without ``ts``)."""
    safe = quote(url, safe=":/?&=%#;,+@!$'()*~")
    if ts or mod:
        return f"/{collection}/{ts or ''}{mod}/{safe}"
    return f"/{collection}/{safe}"


class ReplayOrigin:
    """Wraps the pywb app (see the module docstring)."""

    def __init__(self, app: WSGIApp, collection: str, csp: str = DEFAULT_CSP) -> None:
        self.app = app
        self.collection = collection
        self.csp = csp
        self.script = (
            resources.files("newsarchive.replay").joinpath("static/highlight.js").read_bytes()
        )

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Serve our two paths; pass the rest to pywb with a CSP header added."""
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX):
            return self._own(path[len(PREFIX):], environ, start_response)

        def with_csp(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if not any(k.lower() == "content-security-policy" for k, _ in headers):
                headers = [*headers, ("Content-Security-Policy", self.csp)]
            return start_response(status, headers, exc_info)

        return self.app(environ, with_csp)

    def _own(self, name: str, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        headers = [("Content-Security-Policy", self.csp), ("Cache-Control", "no-store"),
                   ("X-Content-Type-Options", "nosniff")]
        if name == "highlight.js":
            start_response("200 OK", [("Content-Type", "text/javascript; charset=utf-8"), *headers])
            return [self.script]
        if name == "highlight":
            query = parse_qs(environ.get("QUERY_STRING", ""))
            url = (query.get("url") or [""])[0]
            ts = (query.get("ts") or [""])[0]
            if url.startswith(("http://", "https://")) and ts.isdigit():
                src = replay_url(self.collection, ts, url, "mp_")
                body = _HIGHLIGHT_PAGE.format(src=html.escape(src), prefix=PREFIX).encode()
                start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), *headers])
                return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain"), *headers])
        return [b"not found\n"]
