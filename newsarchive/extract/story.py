"""The story: main text of a page as a list of paragraphs.

Fallback order (each step runs only when the previous one found no story):

1. trafilatura's extraction core with ``favor_precision`` on the tree from which
   :mod:`newsarchive.extract.boilerplate` already cut the ad slots and related
   rails, followed by our paragraph filter (:func:`filter_paragraphs`);
2. trafilatura in its balanced mode on a fresh parse of the page (which itself
   falls back to readability-lxml and jusText when its own result is short),
   same filter;
3. the page's JSON-LD ``articleBody``, split on blank lines;
4. nothing: an empty story, and the page is not an article.

Why not trafilatura alone: on ../shared/extraction-bench trafilatura 2.3.1
``favor_precision`` scores F1 0.961 (default 0.951); what it lets through on
news pages is nearly always the same few things -- the headline repeated above
the body, link-only teaser lists, newsletter and subscription promos, comment
threads and "Related"/"Tags" tails -- which the filter below removes with
general rules. Measured with benchmarks/extraction.py (92 pages, same run):
this module plus :mod:`boilerplate` F1 0.976, precision 0.976, accuracy 0.45,
against 0.951 / 0.928 / 0.30 for trafilatura's default, at 1.1x its speed
(per-page best of three, interleaved, on a loaded 2-core machine; 0.85-0.93x
before the parser's C element lookup, the cached class-word checks, the early
cut of scripts and the cheaper SimHash).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from functools import cached_property

from lxml import etree
from lxml.etree import _Element as Element

from newsarchive.extract.boilerplate import norm as _norm

logger = logging.getLogger(__name__)

MIN_STORY_CHARS = 150  # below this a trafilatura result is treated as "found nothing"

# Paragraphs that promote the site rather than tell the story.
PROMO = re.compile(
    r"(sign up|subscribe|newsletter|delivered (to|through) your (inbox|letterbox)|"
    r"by submitting this form|get access to|follow (us|him|her|them) on|"
    r"this (article|story) (was|has been) (originally )?"
    r"(published|updated|reprinted)|have a tip\?|"
    r"your (personal )?data will|data protection policy|privacy policy|"
    r"download (our|the) app|share this (article|story)|"
    r"(read|see|watch) (more|also|next)\s*[:»]|^related\s*:|^more\s*:|"
    r"story continues below|continue reading|advertisement$)",
    re.IGNORECASE,
)
# Headings or short lines after which a page has only comments, tags or rails left.
STORY_END = re.compile(
    r"^\W*(\d+\s+(comments?|responses?|replies|thoughts on\b.*)|comments?|"
    r"(leave|post|add) a (comment|reply)|comments are closed|join the (conversation|discussion)"
    r"|tell us what you think.*|discussion|tags?|filed under|topics?|"
    r"related (posts|articles|stories|content)|you (may|might) also like|"
    r"more (stories|from|on)\b.*|recommended( for you)?|share (this|on)( article| story| post)?|"
    r"about the author|sobre o autor|comentários?|deixe (seu|um) comentário|"
    r"você (também )?pode gostar.*|posts? relacionad[oa]s|artigos relacionados|veja também|"
    r"leia também|das könnte sie auch interessieren|weitere artikel|vous aimerez aussi|"
    r"à lire aussi|ti potrebbe interessare|articoli correlati|te puede interesar|"
    r"noticias relacionadas|you (may|might) (also )?(like|enjoy))\W*$",
    re.IGNORECASE,
)
_TEASER_TAG = re.compile(r"\[[A-Z ]{3,}\]\s*\|?\s*$")  # "Headline [VIDEO]" teaser rows


@dataclass
class Block:
    """One output element of the extractor: its text, kind and link share."""

    text: str
    kind: str  # "p", "head", "item", "quote", "row"
    link_chars: int = 0
    rend: str = ""

    @cached_property
    def norm(self) -> str:
        """The text's lower-case words (computed once; the filter compares it often)."""
        return _norm(self.text)


@dataclass
class Story:
    """Paragraphs of the story and where they came from."""

    paragraphs: list[str] = field(default_factory=list)
    method: str = "none"

    @property
    def text(self) -> str:
        """Paragraphs joined by a blank line, as the sidecar schema asks."""
        return "\n\n".join(self.paragraphs)


def _clean(text: str) -> str:
    return " ".join(text.split())


def _text(el: Element) -> str:
    """Text of an output element; a line break separates words as a space does."""
    for lb in el.iter("lb"):
        lb.tail = " " + (lb.tail or "")
    return _clean("".join(el.itertext()))


def _link_chars(el: Element, text: str, anchors: frozenset[str]) -> int:
    """Characters of ``text`` that are link text: from <ref> children, or the page's anchors."""
    refs = sum(len(_clean("".join(r.itertext()))) for r in el.iter("ref"))
    if refs or not anchors:
        return refs
    return len(text) if _norm(text) in anchors else 0


def blocks_from_body(body: Element, anchors: frozenset[str] = frozenset()) -> list[Block]:
    """trafilatura's output tree as a flat list of blocks.

    ``anchors`` are the normalised texts of the page's links: a block equal to one
    is a link row. Matching them costs far less than trafilatura's own link output
    (``include_links``), which resolves every URL.
    """
    # (extract_story applies the anchors after the fact, see _with_anchors.)
    out: list[Block] = []
    for el in body:
        tag = el.tag
        if tag == "list":
            for item in el.iter("item"):
                text = _text(item)
                if text:
                    out.append(Block(text, "item", _link_chars(item, text, anchors)))
            continue
        if tag == "table":
            for row in el.iter("row"):
                cells = [_text(c) for c in row.iter("cell")]
                text = " ".join(c for c in cells if c)
                if text:
                    out.append(Block(text, "row"))
            continue
        text = _text(el)
        if not text:
            continue
        kind = {"head": "head", "quote": "quote"}.get(tag, "p")
        out.append(Block(text, kind, _link_chars(el, text, anchors), el.get("rend", "")))
    return out


def filter_paragraphs(blocks: list[Block], title: str | None) -> list[str]:
    """Drop what trafilatura lets through on news pages; keep the story's order."""
    total = sum(len(b.text) for b in blocks) or 1
    kept: list[Block] = []
    seen_body = 0
    ntitle = _norm(title or "")
    for b in blocks:
        n = b.norm
        words = n.count(" ") + 1 if n else 0
        if not n:
            continue
        # The end of the story: comments, tags and rails follow such a line.
        # A heading ends it sooner than a plain line, which could be a sentence.
        share = 0.2 if b.kind == "head" else 0.5
        if words <= 8 and seen_body > share * total and STORY_END.match(b.text):
            break
        # The headline (and headings) above the first paragraph repeat the page title.
        if not seen_body and b.kind == "head" and (n == ntitle or b.rend == "h1" or not kept):
            continue
        if ntitle and n == ntitle:
            continue
        link_share = b.link_chars / max(1, len(b.text))
        if link_share > 0.8 and (b.kind in {"item", "head"} or words <= 15):
            continue  # link-only teaser or navigation row
        if words <= 40 and PROMO.search(b.text):
            continue
        if _TEASER_TAG.search(b.text) and words <= 20:
            continue
        kept.append(b)
        seen_body += len(b.text)
    # Trailing headings introduce something the filter just cut.
    while kept and kept[-1].kind == "head":
        kept.pop()
    return [b.text for b in kept]


def prestrip(tree: Element) -> None:
    """Remove, with lxml's C code, the elements trafilatura's clean-up drops itself.

    Same lists as trafilatura's ``tree_cleaning`` (its MANUALLY_CLEANED and
    MANUALLY_STRIPPED), so the outcome is the same; its own XPath pruning then
    walks a smaller tree. ``span`` wrappers go too: trafilatura keeps their text
    inline anyway, and a tenth fewer elements is a tenth less XPath work (on the
    extraction benchmark the outcome is F1 0.9760 with them gone, 0.9757 without).
    """
    from trafilatura.settings import MANUALLY_CLEANED, MANUALLY_STRIPPED

    etree.strip_elements(tree, *MANUALLY_CLEANED, "template", with_tail=False)
    etree.strip_tags(tree, *(t for t in MANUALLY_STRIPPED if t != "img"), "span")


def anchor_texts(tree: Element) -> frozenset[str]:
    """Normalised texts of the page's links (of three words or more)."""
    out = set()
    for a in tree.iter("a"):
        text = _norm("".join(a.itertext()))
        if text.count(" ") >= 2:
            out.add(text)
    return frozenset(out)


def _sequence(tree: Element, url: str) -> list[Block] | None:
    """trafilatura's precision cascade run in place on ``tree`` (which it consumes).

    ``trafilatura_sequence`` is the core of ``bare_extraction`` without its deep
    copy of the tree and its text rendering, which we do not use: a tenth of the
    extraction time. It is internal to trafilatura, so any change of its shape
    sends us back to the public function (None).
    """
    try:
        from trafilatura.core import trafilatura_sequence
        from trafilatura.settings import Extractor

        options = Extractor(output_format="python", precision=True, comments=False,
                            tables=True, url=url)
        body = trafilatura_sequence(tree, options, url)[0]
    except (ImportError, TypeError, AttributeError, IndexError):
        logger.debug("trafilatura internals changed; using bare_extraction")
        return None
    return [] if body is None else blocks_from_body(body)


def _trafilatura(tree: Element, url: str, precision: bool) -> list[Block]:
    from trafilatura import bare_extraction

    try:
        doc = bare_extraction(
            tree,
            url=url,
            favor_precision=precision,
            include_comments=False,
            include_links=False,
            include_formatting=False,
            include_tables=True,
            with_metadata=False,
        )
    except ValueError:
        return []
    if doc is None or doc.body is None:
        return []
    return blocks_from_body(doc.body)


def _with_anchors(blocks: list[Block], anchors: frozenset[str]) -> list[Block]:
    for b in blocks:
        if not b.link_chars and b.norm in anchors:
            b.link_chars = len(b.text)
    return blocks


def extract_story(
    tree: Element,
    url: str,
    title: str | None,
    article_body: str | None,
    fresh: Callable[[], Element] | None = None,
) -> Story:
    """The story of a page, by the fallback order of the module docstring.

    ``tree`` is consumed (pruned in place). ``fresh`` returns a new parse of the
    page for the balanced-mode retry; without it that step reuses a copy made
    up front.
    """
    anchors = anchor_texts(tree)
    spare = None if fresh is not None else deepcopy(tree)
    blocks = _sequence(tree, url)
    if blocks is None:
        blocks = _trafilatura(tree, url, True)
    paragraphs = filter_paragraphs(_with_anchors(blocks, anchors), title)
    if sum(len(p) for p in paragraphs) >= MIN_STORY_CHARS:
        return Story(paragraphs, "trafilatura-precision")
    retry = fresh() if fresh is not None else spare
    if retry is not None:
        blocks = _trafilatura(retry, url, False)
        paragraphs = filter_paragraphs(_with_anchors(blocks, anchors), title)
        if sum(len(p) for p in paragraphs) >= MIN_STORY_CHARS:
            return Story(paragraphs, "trafilatura")
    if article_body and len(article_body) >= MIN_STORY_CHARS:
        parts = [_clean(p) for p in re.split(r"\n\s*\n|\n", article_body)]
        return Story([p for p in parts if p], "json-ld")
    return Story([], "none")
