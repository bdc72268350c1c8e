"""The story: main text of a page as a list of paragraphs.

Fallback order:

1. trafilatura's extraction core with ``favor_precision`` (without its readability
   and jusText comparison) on the tree from which
   :mod:`newsarchive.extract.boilerplate` already cut the ad slots and related
   rails, followed by our paragraph filter (:func:`filter_paragraphs`);
2. when that result is implausibly short for the page -- under
   ``Options.min_story_chars``, or shorter than the page's three largest text
   blocks while lacking the largest, or under half of the JSON-LD
   ``articleBody`` -- trafilatura in its balanced mode (which itself falls back
   to readability-lxml and jusText) on a fresh parse with the same ads and rails
   cut, same filter; it replaces step 1 when step 1 is under
   ``Options.fallback_share`` of its length;
3. when both are under ``min_story_chars``, the page's JSON-LD ``articleBody``,
   split on blank lines;
4. else the result of steps 1-2, however short: the sidecar labels such a page
   (``is_article``) rather than dropping its text.

Why not trafilatura alone: on ../shared/extraction-bench trafilatura 2.3.1
``favor_precision`` scores F1 0.961 (default 0.951); what it lets through on
news pages is nearly always the same few things -- the headline repeated above
the body, link-only teaser lists, newsletter and subscription promos, comment
threads and "Related"/"Tags" tails -- which the filter below removes with
general rules. ``benchmarks/extraction.py`` measures this module plus
:mod:`boilerplate` against trafilatura's default in the same run, by k-fold
cross-validation on the development pages and on trafeval-dev, and judges each
rule of :data:`RULES` on the folds it was not written from.
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

#: Rules :class:`Options` can switch off (benchmarks/extraction.py --ablate judges each):
#: ``fallback`` the implausibly-short check of step 2 (else only ``min_story_chars``);
#: ``toc_links`` in-page links (a table of contents) do not make a heading a link row;
#: ``company_boilerplate`` an "About <organisation>" tail ends the story;
#: ``keyword_lines`` trailing "Tags: a, b, c" lines are dropped;
#: ``read_also`` "Read also: ..." teasers in many languages are dropped.
RULES = frozenset({"fallback", "toc_links", "company_boilerplate", "keyword_lines", "read_also"})


@dataclass(frozen=True)
class Options:
    """Thresholds and rules of the story extractor; the defaults are what ships.

    ``benchmarks/extraction.py`` picks the thresholds on training folds of the
    development pages and scores them on the held-out fold.
    """

    min_story_chars: int = MIN_STORY_CHARS
    #: step 1 shorter than this share of step 2: step 2 replaces it
    fallback_share: float = 0.5
    #: step 1 shorter than this share of the page's three largest text blocks
    #: (and lacking the largest) is implausibly short
    blocks_share: float = 1.0
    #: step 1 shorter than this share of the JSON-LD articleBody is implausibly short
    article_body_share: float = 0.5
    rules: frozenset[str] = RULES


DEFAULT = Options()

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
# "About Acme" / "Über Acme" / "О компании Acme": the heading of a press release's company tail.
_ABOUT = re.compile(
    r"^\W*(?:about|über|à propos de|a propos de|acerca de|sobre|informazioni su|chi è|over|om"
    r"|o firmie|о компании|об?)\s+(?P<name>\S.{0,60}?)\W*$",
    re.IGNORECASE,
)
# "Read also: <another story>" in the languages of the pages we see; the label
# and a colon (or arrow) open a teaser for a story other than this one.
READ_ALSO = re.compile(
    r"^\W*(?:read (?:also|more|next)|see also|also read|related|lea (?:también|más)|lee también"
    r"|vea también|ver también|mire|mira|leia também|veja também|lesen sie (?:auch|mehr)"
    r"|auch lesen|mehr zum thema|mehr themen|weiterlesen|lire aussi|à lire aussi|voir aussi"
    r"|leggi anche|vedi anche|czytaj (?:też|także|więcej)|zobacz (?:też|także)"
    r"|читайте (?:также|еще|ещё)|см\. также|lees ook|zie ook|läs även|læs også|les også)"
    r"\s*[:：»>|]",
    re.IGNORECASE,
)
ORG_TAIL_WORDS = 20  # a company description is a few sentences, not a one-line credit
# "Tags: a, b, c" / "Schlagwörter: x; y; z" / "#a #b #c": a label, then short terms.
_LABELLED = re.compile(r"^\s*[^\W\d_][\w .-]{0,30}?\s*[:：]\s*(?P<rest>.+)$")
_TERM_SPLIT = re.compile(r"\s*[,;|·•]\s*|\s+(?=#)")


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
    #: share of the text that is the text of the page's links (a list of links: near 1)
    link_share: float = 0.0

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


def filter_paragraphs(blocks: list[Block], title: str | None, options: Options = DEFAULT,
                      names: frozenset[str] = frozenset()) -> list[str]:
    """Drop what trafilatura lets through on news pages; keep the story's order.

    ``names`` are the normalised names of the organisation behind the page
    (publisher, site name, host): a closing description of it is not story.
    """
    total = sum(len(b.text) for b in blocks) or 1
    kept: list[Block] = []
    seen_body = 0
    ntitle = _norm(title or "")
    company = "company_boilerplate" in options.rules
    for i, b in enumerate(blocks):
        n = b.norm
        words = n.count(" ") + 1 if n else 0
        if not n:
            continue
        # The end of the story: comments, tags and rails follow such a line.
        # A heading ends it sooner than a plain line, which could be a sentence.
        share = 0.2 if b.kind == "head" else 0.5
        if words <= 8 and seen_body > share * total and STORY_END.match(b.text):
            break
        if company and words <= 8 and seen_body > 0.5 * total and _about_tail(b, blocks[i + 1:], names):
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
        if "read_also" in options.rules and words <= 40 and READ_ALSO.match(b.text):
            continue  # a teaser for another story
        if _TEASER_TAG.search(b.text) and words <= 20:
            continue
        kept.append(b)
        seen_body += len(b.text)
    # Trailing headings introduce something the filter just cut; so do closing
    # keyword lines and a description of the company behind the page.
    while kept:
        last = kept[-1]
        if last.kind == "head":
            kept.pop()
        elif "keyword_lines" in options.rules and keyword_line(last.text):
            kept.pop()
        elif company and len(kept) > 2 and _describes(last.norm, names):
            kept.pop()
        else:
            break
    return [b.text for b in kept]


def keyword_line(text: str) -> bool:
    """A line of tags or keywords: three or more short terms, no sentence.

    Either a label and terms ("Tags: Brexit, EU, trade") or hashtags alone.
    """
    if len(text) > 300:
        return False
    m = _LABELLED.match(text)
    rest = m.group("rest") if m else text
    terms = [t for t in _TERM_SPLIT.split(rest) if t.strip()]
    if len(terms) < 3 or any(len(t.split()) > 4 or t.rstrip()[-1:] in ".!?" for t in terms):
        return False
    return m is not None or sum(t.lstrip().startswith("#") for t in terms) >= 3


def _describes(norm: str, names: frozenset[str]) -> bool:
    """A paragraph of some length that opens with the organisation's name."""
    return norm.count(" ") + 1 >= ORG_TAIL_WORDS and any(
        norm.startswith(name + " ") for name in names)


def _about_tail(b: Block, rest: list[Block], names: frozenset[str]) -> bool:
    """ "About <organisation>", the organisation named again by the next block or known."""
    m = _ABOUT.match(b.text)
    if not m:
        return False
    name = _norm(m.group("name"))
    if not name:
        return False
    nxt = next((x.norm for x in rest if x.norm), "")
    return name in names or nxt.startswith(name + " ")


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


def anchor_texts(tree: Element, in_page: bool = False) -> frozenset[str]:
    """Normalised texts of the page's links (of three words or more).

    Links within the page (``href="#..."``, a table of contents) are left out
    unless ``in_page``: they repeat the page's own headings, which are no link rows.
    """
    out = set()
    for a in tree.iter("a"):
        if not in_page and (a.get("href") or "").startswith("#"):
            continue
        text = _norm("".join(a.itertext()))
        if text.count(" ") >= 2:
            out.add(text)
    return frozenset(out)


def _sequence(tree: Element, url: str, precision: bool = True) -> list[Block] | None:
    """trafilatura's cascade run in place on ``tree`` (which it consumes).

    ``trafilatura_sequence`` is the core of ``bare_extraction`` without its deep
    copy of the tree and its text rendering, which we do not use: a tenth of the
    extraction time. It is internal to trafilatura, so any change of its shape
    sends us back to the public function (None). The balanced retry runs it too,
    on a tree of its own: its texts are the same as ``bare_extraction``'s.

    ``fast``: the precision pass (not the balanced one) skips trafilatura's
    comparison with readability and jusText (a sixth of the extraction's CPU).
    That comparison rescues short or unclean results, which
    :func:`implausibly_short` already sends to the balanced retry, where it runs.
    Measured by ``benchmarks/extraction.py`` (benchmarks/README.md): a seventh
    less CPU per page for a thousandth of F1 on the development pages, the same
    F on trafeval-dev.
    """
    try:
        from trafilatura.core import trafilatura_sequence
        from trafilatura.settings import Extractor

        options = Extractor(output_format="python", precision=precision, comments=False,
                            tables=True, fast=precision, url=url)
        body = trafilatura_sequence(tree, options, url)[0]
    except (ImportError, TypeError, AttributeError, IndexError):
        logger.debug("trafilatura internals changed; using bare_extraction")
        return None
    except ValueError:  # lxml refusing a string: the balanced retry gets a fresh parse
        logger.debug("trafilatura failed on %s", url, exc_info=True)
        return []
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
    body = getattr(doc, "body", None)  # a Document (None when nothing was found)
    if body is None:
        return []
    return blocks_from_body(body)


def _with_anchors(blocks: list[Block], anchors: frozenset[str]) -> list[Block]:
    for b in blocks:
        if not b.link_chars and b.norm in anchors:
            b.link_chars = len(b.text)
    return blocks


_BLOCK_TAGS = ("p", "li", "blockquote", "pre", "dd", "td", "h2", "h3")
# A div's own text nodes (pages that put the story in bare divs, split by <br>).
_DIV_TEXTS = etree.XPath("//div/text()[string-length(normalize-space(.)) > 40]",
                         smart_strings=False)
_STRING = etree.XPath("string()", smart_strings=False)


def largest_blocks(tree: Element, n: int = 3) -> list[str]:
    """The ``n`` longest texts of the page's prose blocks, longest first.

    Paragraph-like elements with all their text, and the text ``div``s hold
    directly. A block mostly made of link text (a menu in a list item) or
    without sentences (a run of menu labels) is no prose. What a reader sees as
    the page's main text is nearly always among them. Ranked on raw length first
    (lxml's C string value), so that only a few blocks are looked at closely.
    """
    raw: list[tuple[int, str, Element | None]] = []
    for el in tree.iter(*_BLOCK_TAGS):
        text = _STRING(el)
        raw.append((len(text), text, el))
    raw.extend((len(t), t, None) for t in _DIV_TEXTS(tree))
    raw.sort(key=lambda r: r[0], reverse=True)
    out: list[str] = []
    for _, text, el in raw:
        clean = " ".join(text.split())
        if not clean or len(_SENTENCE_END.findall(clean)) * _PROSE_SENTENCE < len(clean):
            continue
        if el is not None and 2 * sum(len(_STRING(a)) for a in el.iter("a")) > len(text):
            continue
        out.append(clean)
        if len(out) == n:
            break
    return out


# Prose has a sentence end every few hundred characters at most, in any script.
_SENTENCE_END = re.compile(r"[.!?。！？؟।]+(?:\s|$)")
_PROSE_SENTENCE = 400


def about_names(tree: Element) -> frozenset[str]:
    """Names the page's own "About <name>" headings give (a press release's company)."""
    out = set()
    for el in tree.iter("h2", "h3", "h4", "h5", "h6", "strong", "b"):
        text = " ".join("".join(el.itertext()).split())
        if len(text) < 70:
            m = _ABOUT.match(text)
            name = _norm(m.group("name")) if m else ""
            if name and name.count(" ") < 4:
                out.add(name)
    return frozenset(out)


def link_share(paragraphs: list[str], anchors: frozenset[str]) -> float:
    """Share of the text made of the page's link texts (of three words or more)."""
    text = _norm(" ".join(paragraphs))
    if not text:
        return 0.0
    return min(1.0, sum(len(a) for a in anchors if a in text) / len(text))


def _chars(paragraphs: list[str]) -> int:
    return sum(len(p) for p in paragraphs)


def implausibly_short(paragraphs: list[str], largest: list[str], article_body: str | None,
                      options: Options) -> bool:
    """Whether a result is too short for the page it came from.

    Shorter than the page's largest text blocks while lacking the largest one (a
    notice or a caption chosen over the story), or than the page's own JSON-LD
    ``articleBody``.
    """
    chars = _chars(paragraphs)
    if chars < options.min_story_chars:
        return True
    if "fallback" not in options.rules:
        return False
    if article_body and chars < options.article_body_share * len(article_body):
        return True
    if not largest or chars >= options.blocks_share * sum(len(t) for t in largest):
        return False
    return _norm(largest[0])[:300] not in _norm(" ".join(paragraphs))


def extract_story(
    tree: Element,
    url: str,
    title: str | None,
    article_body: str | None,
    fresh: Callable[[], Element] | None = None,
    options: Options = DEFAULT,
    names: frozenset[str] = frozenset(),
    largest: list[str] | None = None,
) -> Story:
    """The story of a page, by the fallback order of the module docstring.

    ``tree`` is consumed (pruned in place). ``fresh`` returns a new parse of the
    page with its ads and rails cut, for the balanced-mode retry; without it that
    step reuses a copy made up front. ``names`` are the normalised names of the
    organisation behind the page (see :func:`filter_paragraphs`); ``largest``
    the page's :func:`largest_blocks`, taken before :func:`prestrip` (which
    cuts forms, and with them the story of pages wrapped in one).
    """
    anchors = anchor_texts(tree, in_page="toc_links" not in options.rules)
    if largest is None:
        largest = largest_blocks(tree) if "fallback" in options.rules else []
    if "company_boilerplate" in options.rules:
        names = names | about_names(tree)
    spare = None if fresh is not None else deepcopy(tree)
    blocks = _sequence(tree, url)
    if blocks is None:
        blocks = _trafilatura(tree, url, True)
    precise = filter_paragraphs(_with_anchors(blocks, anchors), title, options, names)
    if not implausibly_short(precise, largest, article_body, options):
        return Story(precise, "trafilatura-precision", link_share(precise, anchors))
    retry = fresh() if fresh is not None else spare
    balanced: list[str] = []
    if retry is not None:
        blocks = _sequence(retry, url, precision=False)
        if blocks is None:
            blocks = _trafilatura(retry, url, False)
        balanced = filter_paragraphs(_with_anchors(blocks, anchors), title, options, names)
    best, method = precise, "trafilatura-precision"
    if _chars(precise) < options.fallback_share * _chars(balanced) or (
            not precise and balanced):
        best, method = balanced, "trafilatura"
    if _chars(best) < options.min_story_chars and article_body and (
            len(article_body) >= options.min_story_chars):
        parts = [_clean(p) for p in re.split(r"\n\s*\n|\n", article_body)]
        return Story([p for p in parts if p], "json-ld")
    if not best:
        return Story([], "none")
    return Story(best, method, link_share(best, anchors))
