"""Does a page's static HTML hold its story, or only the script that builds it?

``RENDER_MODE=auto`` fetches every page plainly and asks :func:`render_reason`
whether the browser is needed. It must be cheap (it runs on every page of a
mostly static site) and cautious (a false "yes" costs a browser render, a
false "no" loses a story), so it looks only for the three signs a
client-rendered page leaves in its HTML:

1. an empty app root -- ``<div id="root"></div>``, ``#app``, ``#__next``... --
   and a script that would fill it;
2. a ``<noscript>`` wall asking for JavaScript, around a page with no text;
3. no readable text at all (under ``MIN_TEXT`` characters outside scripts,
   styles and navigation) while the page loads scripts.
"""

from __future__ import annotations

import re

from lxml import html as lxml_html

from newsarchive.discover.parsed import parse_html

MIN_TEXT = 200  # characters of readable text below which a scripted page is "empty"
APP_ROOT_IDS = frozenset(
    {"root", "app", "__next", "__nuxt", "app-root", "main-app", "react-root", "svelte", "___gatsby"}
)
_JS_WALL = re.compile(r"javascript|enable js|browser (is )?not supported", re.I)
_SKIP_TAGS = ("script", "style", "noscript", "template", "nav", "header", "footer")
_SKIP = frozenset(_SKIP_TAGS)
_MAX_BYTES = 2_000_000  # bound the parse; a page this large has text


def render_reason(body: bytes, tree: lxml_html.HtmlElement | None = None) -> str | None:
    """Why the page needs a browser (``"empty app root"``, ...), or None when it does not.

    ``tree`` is the page's parse when the caller has it (the crawl shares one with the
    spider's link pass: :func:`~newsarchive.discover.parsed.html_tree`)."""
    if not body.strip() or len(body) > _MAX_BYTES:
        return None
    root = tree if tree is not None else parse_html(body)
    if root is None:
        return None
    scripts = root.xpath("//script")
    if not scripts:
        return None  # nothing could build a story later
    for el in root.xpath("//body//*[@id]"):
        if el.get("id", "").lower() in APP_ROOT_IDS and len(el) == 0 and not (el.text or "").strip():
            return "empty app root"
    text_len = _readable_length(root)
    if text_len < MIN_TEXT:
        for noscript in root.xpath("//noscript"):
            if _JS_WALL.search(noscript.text_content() or ""):
                return "noscript wall"
        return "no readable text"
    return None


def _readable_length(root: lxml_html.HtmlElement) -> int:
    """Characters of text outside :data:`_SKIP_TAGS` subtrees, counted until :data:`MIN_TEXT`.

    The text nodes XPath's ``//text()[not(ancestor::script or ...)]`` selects
    (the whole document's), walked in Python with skipped subtrees never
    entered and a stop at :data:`MIN_TEXT`: that XPath collected every text
    node of the page and tested its ancestors first, ~4% of a crawl's CPU
    (issue #19, py-spy). Only whether the count reaches :data:`MIN_TEXT` is
    used, so the walk's order does not matter.
    """
    if root.find("body") is None:
        return 0
    total = 0
    stack = [root]
    while stack:
        element = stack.pop()
        text = element.text
        if text:
            total += len(text.strip())
        for child in element:
            tail = child.tail  # a text node of ``element``, whatever ``child`` is
            if tail:
                total += len(tail.strip())
            tag = child.tag
            if isinstance(tag, str) and tag not in _SKIP:  # not a comment, not skipped
                stack.append(child)
        if total >= MIN_TEXT:
            break
    return total
