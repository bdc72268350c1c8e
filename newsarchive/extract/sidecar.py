"""Assembly: one page in, one sidecar dict (newsarchive.sidecar/1) out.

Stages, each a pure function in its own module::

    decode.decode_body -> decode.parse_html          bytes -> tree
    metadata.extract_metadata                        read-only, before any pruning
    boilerplate.find_ads / find_related -> strip     labelled, then cut from the tree
    story.extract_story                              trafilatura + our paragraph filter
    fingerprint.simhash                              of the story text

No I/O: the crawl pipeline and ``newsarchive extract`` call
:func:`extract_sidecar` and write the result themselves.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from lxml.etree import _Element as Element

from newsarchive import __version__
from newsarchive.exceptions import ExtractionError
from newsarchive.extract import boilerplate, decode, fingerprint, language, metadata, story

logger = logging.getLogger(__name__)

SCHEMA_ID = "newsarchive.sidecar/1"
EXTRACTOR = "newsarchive"
# Below this much story text a page is an article only if it says it is one.
MIN_ARTICLE_CHARS = 400
_ERROR_TITLE = re.compile(
    r"\b(404|not found|page not found|error|no encontrada|introuvable|nicht gefunden|"
    r"não encontrada)\b",
    re.IGNORECASE,
)
# A page with this many teasers whose summaries make this share of the text is a front.
MAX_LINK_SHARE = 0.5  # a story's text is mostly its own words, not its links
FRONT_TEASERS = 5
FRONT_SHARE = 0.5
_SECTION_KINDS = {"website", "collectionpage", "webpage", "itemlist", "searchresultspage"}


@cache
def schema() -> dict[str, Any]:
    """The sidecar JSON Schema shipped with the package."""
    text = resources.files("newsarchive.extract").joinpath("sidecar.schema.json").read_text(
        encoding="utf-8"
    )
    return json.loads(text)


def validate(sidecar: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` when ``sidecar`` breaks the schema."""
    import jsonschema

    jsonschema.validate(sidecar, schema())


def _fetched_at(capture: dict | None, fetched_at: datetime | None) -> datetime | None:
    if fetched_at is not None:
        return fetched_at
    raw = (capture or {}).get("fetched_at")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        logger.warning("capture fetched_at %r is not ISO 8601; no date bound", raw)
        return None


def _headline_links(tree: Element) -> int:
    """Links that are headlines (``<h3><a>`` or ``<a><h3>``): the stuff of section fronts."""
    return sum(
        1 for h in tree.iter("h2", "h3", "h4")
        if h.find(".//a") is not None or next(h.iterancestors("a"), None) is not None
    )


def _is_article(md: metadata.Metadata, st: story.Story, title: str, teasers: int,
                found: boilerplate.Teasers, normed: list[str]) -> bool:
    """Whether the page is one story (not a section front, an error or a search page).

    ``teasers`` counts the headline links left once the related rails are cut: an
    article keeps few, a section front is made of them. ``found`` are the teaser
    items: when most of the "story" is their summaries, the page is a front.
    """
    chars = len(st.text)
    if not chars or st.link_share > MAX_LINK_SHARE:
        return False  # nothing, or a list of links
    if found.count >= FRONT_TEASERS and found.summaries:
        summed = sum(len(p) for p, n in zip(st.paragraphs, normed, strict=True)
                     if n in found.summaries)
        if summed >= FRONT_SHARE * chars:
            return False
    if _ERROR_TITLE.search(title) and chars < 2 * MIN_ARTICLE_CHARS:
        return False
    if md.kind in _SECTION_KINDS and chars < 2 * MIN_ARTICLE_CHARS:
        return False
    if md.kind in metadata.ARTICLE_TYPES:
        return chars >= story.MIN_STORY_CHARS
    if teasers >= 6 and chars < 4 * MIN_ARTICLE_CHARS:
        return False
    longest = max(len(p) for p in st.paragraphs)
    return chars >= MIN_ARTICLE_CHARS // 2 and longest >= 80


_norm = boilerplate.norm


def _next_texts(slots: list[tuple[Element, dict]]) -> list[str]:
    """Start of the text block after each slot (read before the slots are cut)."""
    return [_next_text(slot) for slot, _ in slots]


def _next_text(slot: Element) -> str:
    # Siblings, then the parent's siblings: the XPath following:: axis scans the
    # whole rest of the document and cost more than the ad scan itself.
    node: Element | None = slot
    while node is not None:
        for sib in node.itersiblings():
            for el in sib.iter("p", "li", "blockquote"):
                text = _norm("".join(el.itertext()))
                if text:
                    return text[:80]
        node = node.getparent()
    return ""


def _ad_positions(
    slots: list[tuple[Element, dict]], heads: list[str], normed: list[str]
) -> None:
    """Set each ad's ``position``: index of the story paragraph that follows it."""
    for (_, ad), head in zip(slots, heads, strict=True):
        if head:
            ad["position"] = next((i for i, p in enumerate(normed) if p.startswith(head)), None)


def _drop_credit_line(paragraphs: list[str], md: metadata.Metadata) -> list[str]:
    """Drop a closing "Jane Doe, The Associated Press" credit: byline data, not story."""
    if not paragraphs:
        return paragraphs
    last = _norm(paragraphs[-1])
    names = [_norm(x) for x in [*md.authors, md.publisher or ""] if x]
    if len(last.split()) <= 12 and names and any(n and n in last for n in names):
        rest = last
        for n in names:
            rest = rest.replace(n, " ")
        if len(rest.split()) <= 3:
            return paragraphs[:-1]
    return paragraphs


_GENERIC_LABELS = {"co", "com", "org", "net", "ac", "gov", "edu", "or", "ne", "go"}


def organisation_names(md: metadata.Metadata, url: str) -> frozenset[str]:
    """Normalised names of who is behind a page: its publisher and its host's name
    ("ascom" for www.ascom.com, "bbc" for news.bbc.co.uk)."""
    names = {_norm(md.publisher)} if md.publisher else set()
    labels = (urlsplit(md.canonical_url or url).hostname or "").split(".")[:-1]
    if len(labels) > 1 and labels[-1] in _GENERIC_LABELS:
        labels = labels[:-1]
    if labels and labels[-1] != "www":
        names.add(labels[-1])
    return frozenset(n for n in names if n)


def _stripped(html: str, base: str) -> Element:
    """A new parse of the page with its ads, rails and hover cards cut (for a retry)."""
    tree = decode.parse_html(html)
    found = boilerplate.scan(tree, base)
    boilerplate.strip([node for node, _ in found.ads])
    boilerplate.strip([node for node, _ in found.related])
    boilerplate.strip(found.popups)
    return tree


def extract_sidecar(
    body: bytes | str,
    url: str,
    *,
    content_type: str | None = None,
    capture: dict | None = None,
    fetched_at: datetime | None = None,
    options: story.Options = story.DEFAULT,
) -> dict[str, Any]:
    """The sidecar of one HTML page (see ``sidecar.schema.json``).

    ``content_type`` is the HTTP header, for the charset; ``capture`` the WARC
    pointer (None outside an archive); ``fetched_at`` bounds the publication
    date and defaults from ``capture["fetched_at"]``. Raises
    :class:`~newsarchive.exceptions.ExtractionError` for input that is not an
    HTML page (empty, binary); broken HTML still gives a sidecar. ``options``
    are the story extractor's thresholds and rules (the benchmark varies them).
    """
    if content_type and not re.search(r"html|xml|text/plain", content_type, re.IGNORECASE):
        raise ExtractionError(f"content type {content_type!r} is not HTML: nothing to extract")
    html = decode.decode_body(body, content_type)
    tree = decode.parse_html(html)
    upper = _fetched_at(capture, fetched_at)
    md = metadata.extract_metadata(tree, url, upper)
    base = md.canonical_url or url

    # Scripts, styles and icons, once the JSON-LD is read: cut before the scan (which
    # only stepped over them and counted script code as slot text); trafilatura's
    # clean-up would cut them later anyway.
    etree.strip_elements(tree, *boilerplate.NOT_TEXT, with_tail=False)
    found = boilerplate.scan(tree, base)
    # Before the rails are cut: a story taken from a fresh parse may hold their summaries.
    front = boilerplate.find_teasers(tree, base)
    ads, related = found.ads, found.related
    heads = _next_texts(ads)
    boilerplate.strip([node for node, _ in ads])
    boilerplate.strip([node for node, _ in related])
    boilerplate.strip(found.popups)
    teasers = _headline_links(tree)
    page_title = " ".join((tree.findtext(".//title") or "").split())
    # Nodes trafilatura would discard anyway (script, nav, form, aside...) are cut here
    # in one C call: its own XPath clean-up then walks a smaller tree.
    largest = story.largest_blocks(tree) if "fallback" in options.rules else []
    story.prestrip(tree)
    # The rare balanced-mode retry gets a new parse: cheaper than copying every tree.
    # Its ads and rails are cut again, but not the nodes cut above for trafilatura:
    # its own fallbacks (readability, jusText) look at the page as it came.
    st = story.extract_story(tree, url, md.title, md.article_body,
                             fresh=lambda: _stripped(html, base), options=options,
                             names=organisation_names(md, url), largest=largest)
    paragraphs = _drop_credit_line(st.paragraphs, md)
    st = story.Story(paragraphs, st.method, st.link_share)

    if paragraphs:
        place, wire = metadata.find_dateline(paragraphs[0])
        md.dateline = place
        if wire:
            md.publisher = wire  # syndicated copy: the wire service is the originator
    normed = [_norm(p) for p in paragraphs]  # once, for the ad positions and the front test
    _ad_positions(ads, heads, normed)
    # A label, not a filter: every page with main content keeps its text.
    is_article = _is_article(md, st, page_title, teasers, front, normed)
    text = st.text
    lang, lang_declared = language.resolve(md.language, text)
    out: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "url": url,
        "canonical_url": md.canonical_url,
        "title": md.title,
        "authors": md.authors,
        "publisher": md.publisher,
        "published": md.published,
        "modified": md.modified,
        "dateline": md.dateline if is_article else None,
        "language": lang,
        "language_declared": lang_declared,
        "is_article": is_article,
        "text": text,
        "paragraphs": paragraphs,
        "fingerprint": fingerprint.simhash(text) if text else None,
        "ads": [ad for _, ad in ads],
        "related": [item for _, items in related for item in items],
        "capture": capture,
        "extractor": {"name": EXTRACTOR, "version": __version__, "method": st.method},
    }
    if capture is not None and "rendered" in capture:
        out["rendered"] = bool(capture["rendered"])
    return out
