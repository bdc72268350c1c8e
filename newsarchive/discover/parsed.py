"""One lxml parse per page in the crawl process, shared by whoever reads the page.

Render detection (``RENDER_MODE=auto``, a downloader middleware) and the
spider's link pass both need a page's tree; each parsing the body on its own
cost about 5% of a crawl's CPU apiece (issue #19, py-spy). :func:`html_tree`
parses a response's body once and keeps the tree beside the response, by a
weak reference: it goes when the response goes.
"""

from __future__ import annotations

import re
from typing import Any
from weakref import WeakKeyDictionary

from lxml import html as lxml_html

# A start tag longer than this keeps only its name. libxml2 checks each new
# attribute against those before it (quadratic): one <p> with 40,000 attributes
# took over 30 s to parse, in the crawl's reactor thread. No link lives there.
HUGE_TAG = 16384
_HUGE_TAG_B = re.compile(rb"<([a-zA-Z][a-zA-Z0-9:-]*)\s[^<>]{%d,}>" % HUGE_TAG)
_HUGE_TAG_S = re.compile(_HUGE_TAG_B.pattern.decode("ascii"))

_trees: WeakKeyDictionary[Any, lxml_html.HtmlElement | None] = WeakKeyDictionary()


def without_huge_tags(body: bytes | str) -> bytes | str:
    """``body`` with every start tag over :data:`HUGE_TAG` characters cut to its name."""
    if isinstance(body, bytes):
        return _HUGE_TAG_B.sub(rb"<\1>", body)
    return _HUGE_TAG_S.sub(r"<\1>", body)


def parse_html(body: bytes | str) -> lxml_html.HtmlElement | None:
    """The document tree of ``body`` (always with ``<html>`` and ``<body>``), or None."""
    if not body or not body.strip():
        return None
    try:
        return lxml_html.document_fromstring(without_huge_tags(body))
    except (ValueError, lxml_html.etree.ParserError):
        return None


def html_tree(response: Any) -> lxml_html.HtmlElement | None:
    """The tree of ``response.body``, parsed on the first call for this response.

    Readers must not change the tree: the next one gets the same object.
    """
    try:
        return _trees[response]
    except KeyError:
        pass
    except TypeError:  # not weakly referenceable: parse, keep nothing
        return parse_html(response.body)
    tree = parse_html(response.body)
    _trees[response] = tree
    return tree
