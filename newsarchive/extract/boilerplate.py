"""Ad slots and related-story rails: found, labelled, then cut from the tree.

Researchers study ads and recommendation rails too, so they are not simply
dropped: :func:`find_ads` and :func:`find_related` return them as data, and
:func:`strip` removes their nodes so the story extractor never sees them.

What news templates have in common, and what is used here:

* ad slots carry an ad word in their class or id (``ad``, ``ad-slot``,
  ``advertisement``, ``dfp``, ``gpt``, ``sponsored``...) or show only an ad label
  ("ADVERTISEMENT", "Anzeige", "Publicidade"...);
* related rails open with a heading from a small vocabulary ("Latest Stories",
  "Read more", "Recommended", "Sponsored stories"...) or carry a rail word in
  their class or id, and consist of repeated teasers: one link to another story
  per item, maybe a summary, and little text outside the items;
* inline teasers ("Related: ...", "READ MORE: ...") are one paragraph made of a
  label and a link.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

from lxml import etree
from lxml.etree import _Element as Element

AD_LABELS = re.compile(
    r"^\W*(advertisement|advertising|ad|ads|sponsored|sponsored content|paid content|"
    r"promoted|story continues below advertisement|continue reading below|"
    r"anzeige|werbung|publicidade|publicidad|publicité|pubblicità|reklama|reclame|"
    r"advertentie|mainos|annons|annonce|реклама|広告|광고)\W*$",
    re.IGNORECASE,
)
_AD_TOKENS = {
    "ad", "ads", "advert", "adverts", "advertisement", "advertising", "adslot",
    "adunit", "adbox", "adcontainer", "adwrapper", "dfp", "gpt", "doubleclick",
    "sponsored", "adsense", "googlead", "banner-ad", "ad-slot", "ad-unit",
}
_AD_PREFIXES = ("ad-", "ads-", "adv-", "advert", "dfp-", "gpt-", "google_ads", "div-gpt")
_RAIL_WORDS = re.compile(
    r"related|recommend|most-?popular|mostread|most-read|trending|more-?stories|"
    r"latest-?stories|latestnews|read-?more|readnext|read-next|outbrain|taboola|"
    r"also-?like|more-?from|you-?may|popular-?posts|top-?stories|further-?reading",
    re.IGNORECASE,
)
RAIL_HEADINGS = re.compile(
    r"^\W*(latest( stories| news| headlines)?|related( stories| articles| content| posts| news"
    r"| coverage| links| reading)?|read (more|next|this next|also)|more (stories|news|from|"
    r"on|in|to read|like this)\b.*|(most )?(popular|read|viewed|shared)( now| stories| articles)?"
    r"|recommended( for you| stories| reading)?|you (may|might) (also )?(like|be interested in)"
    r"|trending( now| stories)?|top (stories|news|headlines)|don'?t miss|see also|also read"
    r"|what to read next|around the web|sponsored (stories|content|links)|from (our|the) "
    r"partners|promoted (stories|links|content)|further reading|editor'?s picks"
    r"|leia (também|mais)|veja também|lesen sie auch|mehr zum thema|lire aussi|à lire aussi"
    r"|leer más|lee también|potrebbe interessarti|leggi anche)\W*$",
    re.IGNORECASE,
)
INLINE_TEASER = re.compile(
    r"^\s*(related|read more|read also|also read|see more|see also|more|don'?t miss|"
    r"recommended|watch|listen|leia também|veja também|lesen sie auch|lire aussi)\s*[:|»>-]",
    re.IGNORECASE,
)
_RAIL_STEMS = re.compile("rel|recom|pop|trend|more|latest|read|outbrain|taboola|like|top"
                         "|further|you")
# Every class/id word the ad, rail and pop-up checks look for contains one of these.
_ANY_STEM = re.compile(r"ad|dfp|gpt|sponsor|doubleclick|banner|rel|recom|pop|trend|more|latest"
                       r"|read|outbrain|taboola|like|top|further|you|title|tip|rollover|hover")
_NOT_RAILS = {"html", "body", "article", "main", "a"}
_TEASER_TAGS = {"p", "li", "h3", "h4", "div"}
_HEADING_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_ITEM_TAGS = {"li", "article"}
MIN_TITLE = 12  # characters: shorter link texts are navigation ("News", "Next"), not teasers
MAX_AD_TEXT = 120  # an ad slot shows a label or a short promo line, not paragraphs


def _text(el: Element) -> str:
    return " ".join("".join(el.itertext()).split())


def _tokens(el: Element) -> list[str]:
    raw = f"{el.get('class', '')} {el.get('id', '')}".lower()
    return raw.split()


def _is_ad_attr(el: Element) -> bool:
    for tok in _tokens(el):
        if tok in _AD_TOKENS or tok.startswith(_AD_PREFIXES):
            return True
        parts = re.split(r"[-_]", tok)
        if any(p in {"ad", "ads", "advert", "advertisement", "dfp", "gpt"} for p in parts):
            return True
    return False


_SKIP = {"script", "style", "noscript", "template", "head", "title", "meta", "svg", "form"}
#: elements without reader-visible text, which extraction may cut before the scan
NOT_TEXT = ("script", "style", "noscript", "template", "svg")
_AD_ATTR = re.compile(
    r"(?:^|[\s_-])(?:ad|ads|adv|advert\w*|adslot\w*|adunit\w*|adbox|adcontainer|adwrapper|"
    r"dfp|gpt|doubleclick|sponsored|adsense|googlead\w*)(?:$|[\s_-])"
)


def _attrs(el: Element) -> str:
    cls, ident = el.get("class"), el.get("id")
    if cls is None and ident is None:
        return ""
    return f"{cls or ''} {ident or ''}".lower()


def _body(root: Element) -> Element:
    """The page's ``<body>``, or the root of a fragment without one."""
    body = root.find("body")
    return body if body is not None else root


def _taken(el: Element, taken: set[Element]) -> bool:
    return el in taken or any(a in taken for a in el.iterancestors())


def _hidden_context(el: Element) -> bool:
    return any(a.tag in _SKIP for a in el.iterancestors())


def _ad_at(el: Element, attrs: str, base_url: str, taken: set[Element]) -> tuple | None:
    """The ad slot that ``el`` opens, with its schema dict, or None."""
    if el.tag in {"html", "body", "main", "article"}:
        return None
    own = el.text
    label = own is not None and len(el) == 0 and len(own) < 60 and bool(
        AD_LABELS.match(own.strip()))
    if not (label or (attrs and _flags(attrs) & _AD)):
        return None
    if _hidden_context(el):
        return None
    text = _text(el)
    if len(text) > MAX_AD_TEXT:
        return None
    # An ad label on its own is usually inside the slot it names: take the slot.
    slot, parent = el, el.getparent()
    while (
        parent is not None
        and parent.tag not in {"body", "article", "main"}
        and len(parent) <= 3
        and _text(parent) == text
    ):
        slot, parent = parent, parent.getparent()
    if _taken(slot, taken):
        return None
    link = slot.find(".//a[@href]")
    href = _absolute(base_url, link.get("href")) if link is not None else None
    taken.add(slot)
    return slot, {"text": text, "position": None, "href": href}


@dataclass
class Found:
    """What :func:`scan` found: labelled ads and rails, and hover cards to cut."""

    ads: list[tuple[Element, dict]]
    related: list[tuple[Element, list[dict]]]
    popups: list[Element]


def scan(root: Element, base_url: str) -> Found:
    """Ad slots, related rails and hover cards of a page in one pass over its body.

    One pass instead of three: the scan runs inside the crawl for every page.
    """
    page = urldefrag(base_url)[0]
    ads: list[tuple[Element, dict]] = []
    related: list[tuple[Element, list[dict]]] = []
    ad_taken: set[Element] = set()
    rail_taken: set[Element] = set()
    # Nodes are visited in page order, so the inside of a found block is a run of
    # nodes ending at its last descendant: skipping to it spares an ancestor walk.
    ad_end: Element | None = None
    rail_end: Element | None = None
    popups: list[Element] = []
    for el in _body(root).iter(etree.Element):
        try:
            tag = el.tag
            if tag in _SKIP:
                continue
            attrs = _attrs(el)
            # Fast path for most nodes: no class or id word of ours and not a heading.
            # Such a node can only be a leaf ad label or an inline teaser, and both
            # open with a label: the two regexes, tested here, spare the calls below
            # for the paragraphs, items and divs that make up most of a page (see
            # benchmarks/README.md).
            if (not attrs or not _flags(attrs) & _ANY) and tag not in _HEADING_TAGS:
                own, size = el.text, len(el)
                if not (own is not None and size == 0 and len(own) < 60
                        and AD_LABELS.match(own.strip())) and not (
                        tag in _TEASER_TAGS and size <= 4 and INLINE_TEASER.match(
                            ((own or "") + ((el[0].text or "") if size else "")).strip() or " ")):
                    continue
            if attrs and _is_popup(el, attrs) and not any(a in popups for a in el.iterancestors()):
                popups.append(el)
            if ad_end is None:
                ad = _ad_at(el, attrs, base_url, ad_taken)
                if ad is not None:
                    ads.append(ad)
                    ad_end = _last(ad[0])
                    rail_end = rail_end if rail_end is not None else ad_end
                    continue
            if rail_end is None:
                block = _rail_at(el, attrs, base_url, page, rail_taken)
                if block is not None:
                    related.append(block)
                    rail_end = _last(block[0])
        finally:
            # Past the last node of a found block (which may be this node, even a
            # skipped one): look for the next.
            if el is ad_end:
                ad_end = None
            if el is rail_end:
                rail_end = None
    related.sort(key=lambda b: _order(b[0]))
    return Found(ads, related, popups)


def _last(block: Element) -> Element:
    """The last element inside ``block`` in page order (``block`` when it is empty)."""
    last = block
    for d in block.iter():
        if isinstance(d.tag, str):
            last = d
    return last


def find_ads(root: Element, base_url: str) -> list[tuple[Element, dict]]:
    """Ad slots in page order, outermost node each, with their schema dict."""
    return scan(root, base_url).ads


def find_related(root: Element, base_url: str) -> list[tuple[Element, list[dict]]]:
    """Related-story rails and inline teasers in page order, with their items."""
    return scan(root, base_url).related


def _absolute(base_url: str, href: str | None) -> str | None:
    if not href or href.startswith(("javascript:", "mailto:", "#")):
        return None
    href = href.strip()
    if href.startswith(_ABSOLUTE) and not _NEEDS_JOIN.search(href):
        # Already absolute and plain: what urljoin would return, at a fiftieth of its
        # cost (urljoin was a fifth of the scan's time on link-heavy pages).
        plain = href.split("#", 1)[0]
        if not plain.endswith("?"):
            return plain
    return urldefrag(urljoin(base_url, href))[0]


_ABSOLUTE = ("https://", "http://")
# Dot segments, whitespace or backslashes: urljoin rewrites those.
_NEEDS_JOIN = re.compile(r"/\.|[\s\\]")


def _story_links(block: Element, base_url: str, page: str) -> list[tuple[Element, str]]:
    out = []
    for a in block.iter("a"):
        url = _absolute(base_url, a.get("href"))
        title = _text(a)
        if url and url != page and len(title) >= MIN_TITLE and len(title.split()) >= 3:
            out.append((a, url))
    return out


def _teaser(a: Element, block: Element) -> Element:
    """The item around a link: its ancestor below ``block`` holding no other link."""
    item = a
    parent = a.getparent()
    while parent is not None and parent is not block and len(parent.findall(".//a")) <= 1:
        item, parent = parent, parent.getparent()
    if parent is not None and parent is not block and parent.tag in _ITEM_TAGS:
        links = {x.get("href") for x in parent.iter("a")}
        if len(links) == 1:  # image link and title link to the same story
            item = parent
    return item


def _rail_items(
    block: Element, base_url: str, page: str, section: str | None
) -> list[dict] | None:
    """Teasers of a rail, or None when the block holds more than teasers."""
    links = _story_links(block, base_url, page)
    if len(links) < 2:
        return None
    total = len(_text(block)) or 1
    items, covered, seen = [], 0, set()
    for a, url in links:
        item = _teaser(a, block)
        heading = next(a.iter("h2", "h3", "h4"), None)
        title = _text(heading if heading is not None else a)
        if url in seen:
            continue
        seen.add(url)
        whole = _text(item)
        covered += len(whole)
        summary = whole.replace(title, "", 1).strip(" -–—|·") if item is not a else ""
        items.append({"title": title, "url": url, "summary": summary or None, "section": section})
    # Repeated teaser shape: nearly all of the block's text sits inside the items.
    if covered < 0.75 * total - len(section or ""):
        return None
    return items


def _rail_at(
    el: Element, attrs: str, base_url: str, page: str, taken: set[Element]
) -> tuple[Element, list[dict]] | None:
    """The related rail or inline teaser that ``el`` opens, with its items, or None."""
    tag = el.tag
    if tag in _HEADING_TAGS or "title" in attrs:
        kind = "heading"
    elif attrs and tag not in _NOT_RAILS and _flags(attrs) & _RAIL:
        kind = "rail"
    elif tag in _TEASER_TAGS and len(el) <= 4:
        kind = "inline"
    else:
        return None
    if kind == "heading":
        block = _rail_under_heading(el, base_url, page)
    elif kind == "rail":
        heading = next(el.iter(*_HEADING_TAGS), None)
        section = _text(heading) if heading is not None else None
        items = _rail_items(el, base_url, page, section or None)
        block = (el, items) if items else None
        if block is None and tag in _TEASER_TAGS and len(el) <= 4:
            block = _inline_teaser(el, base_url)  # a one-link "related" paragraph
    else:
        block = _inline_teaser(el, base_url)
    if block is None or _taken(block[0], taken):
        return None
    taken.add(block[0])
    return block


_ANY, _AD, _RAIL, _POP = 1, 2, 4, 8
_FLAG_CACHE: dict[str, int] = {}
_FLAG_CACHE_SIZE = 50_000


def _flags(attrs: str) -> int:
    """What a class-and-id string says (ad, rail, pop-up words), as bits, cached.

    Pages repeat the same class strings hundreds of times, and these regexes were
    half of the scan's time; the cache makes each distinct string cost one search.
    """
    found = _FLAG_CACHE.get(attrs)
    if found is None:
        found = 0
        if _ANY_STEM.search(attrs) is not None:  # every word below contains a stem
            found = _ANY
            if _AD_ATTR.search(attrs) is not None:
                found |= _AD
            if _rail_attr(attrs):
                found |= _RAIL
            if _POPUP.search(attrs) is not None:
                found |= _POP
        if len(_FLAG_CACHE) >= _FLAG_CACHE_SIZE:
            _FLAG_CACHE.clear()
        _FLAG_CACHE[attrs] = found
    return found


def _rail_attr(attrs: str) -> bool:
    # Substring pre-check first: the regex alone costs more than the rest of the scan.
    return _RAIL_STEMS.search(attrs) is not None and _RAIL_WORDS.search(attrs) is not None


def _order(el: Element) -> int:
    return int(el.sourceline or 0)


def _rail_under_heading(
    el: Element, base_url: str, page: str
) -> tuple[Element, list[dict]] | None:
    text = _text(el)
    if not text or len(text) >= 60 or not RAIL_HEADINGS.match(text):
        return None
    parent = el.getparent()
    for _ in range(3):  # the heading's container, or one or two above it
        if parent is None or parent.tag in {"body", "html"}:
            break
        items = _rail_items(parent, base_url, page, text)
        if items:
            return parent, items
        parent = parent.getparent()
    return None


def _inline_teaser(el: Element, base_url: str) -> tuple[Element, list[dict]] | None:
    head = (el.text or "") + ((el[0].text or "") if len(el) else "")
    if not INLINE_TEASER.match(head.strip() or " "):
        return None
    text = _text(el)
    links = el.findall(".//a[@href]")
    m = INLINE_TEASER.match(text) if len(text) < 200 else None
    if not m or len(links) != 1:
        return None
    url = _absolute(base_url, links[0].get("href"))
    title = _text(links[0])
    if not url or len(title) < MIN_TITLE:
        return None
    section = m.group(1).strip().capitalize()
    return el, [{"title": title, "url": url, "summary": None, "section": section}]


_POPUP = re.compile(r"tooltip|popover|popup|rollover|hover-?card")
MAX_POPUP_TEXT = 600  # a card holds a name and a few headlines, never the story


def _is_popup(el: Element, attrs: str) -> bool:
    """A hover card or pop-up inside the text ("Jane Doe" + photo + her latest stories).

    They sit inside story paragraphs, so the story extractor would glue their text
    into the sentence; they are neither ads nor related rails, just cut.
    """
    return (
        bool(_flags(attrs) & _POP)
        and (el.find(".//img") is not None or len(el.findall(".//a")) >= 2)
        and len(_text(el)) <= MAX_POPUP_TEXT
    )


def strip(nodes: Iterable[Element]) -> None:
    """Remove nodes from their tree, keeping the text that follows them."""
    for node in nodes:
        parent = node.getparent()
        if parent is None:
            continue
        if node.tail and node.tail.strip():
            prev = node.getprevious()
            if prev is not None:
                prev.tail = (prev.tail or "") + node.tail
            else:
                parent.text = (parent.text or "") + node.tail
        parent.remove(node)


_INLINE = {"span", "strong", "em", "b", "i", "font"}
_TEASER_ITEMS = {"li", "article", "div", "section", "td"}
MAX_TEASER_ITEM = 500  # characters: a headline and a short summary, never a story


@dataclass
class Teasers:
    """Story teasers left on a page: headline links, each maybe with a summary."""

    count: int
    summaries: frozenset[str]  # normalised summary texts (see :func:`norm`)


def norm(text: str) -> str:
    """Lower-case words of ``text`` joined by single spaces (for comparing texts)."""
    return " ".join(_WORDS.findall(text.lower()))


_WORDS = re.compile(r"\w+")
# Links with 20 characters of text or more, chosen in C: most links are short.
_LONG_LINKS = etree.XPath(".//a[string-length(normalize-space(.)) >= 20]")


def find_teasers(root: Element, base_url: str) -> Teasers:
    """Headline links to other pages that open their block, and their summaries.

    The shape of a section front or home page: a list of items, each a headline
    link (four words or more, first in its item or in a heading) and perhaps a
    short summary. Links inside prose are not teasers: text comes before them.
    """
    page = urldefrag(base_url)[0]
    count = 0
    summaries: set[str] = set()
    for a in _LONG_LINKS(_body(root)):
        title = _text(a)
        if len(title) < 20 or title.count(" ") < 3:
            continue
        block = a.getparent()
        while block is not None and block.tag in _INLINE:
            block = block.getparent()
        if block is None:
            continue
        if block.tag in _HEADING_TAGS:
            item = block.getparent()
        elif block.tag in _TEASER_ITEMS and not (block.text or "").strip():
            item = block
        else:
            continue
        url = _absolute(base_url, a.get("href"))
        if item is None or not url or url == page:
            continue
        count += 1
        whole = _text(item)
        if len(whole) <= MAX_TEASER_ITEM:
            summary = norm(whole.replace(title, " ", 1))
            if summary:
                summaries.add(summary)
    return Teasers(count, frozenset(summaries))
