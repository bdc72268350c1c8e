"""Page metadata: title, authors, publisher, dates, dateline, language, canonical URL.

Sources, most trusted first: the page's schema.org JSON-LD (what publishers
fill for search engines), then Open Graph / ``article:*`` meta tags, then the
visible page (``<h1>``, byline elements, ``<time>``), then the URL. Wire copy
is recognised by its dateline ("TALLINN, Estonia (AP) --"): the wire service
becomes the publisher, as it is the originating organisation.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urljoin

from lxml.etree import _Element as Element

logger = logging.getLogger(__name__)

ARTICLE_TYPES = {
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle",
    "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "blogposting",
    "liveblogposting", "socialmediaposting", "techarticle", "scholarlyarticle", "report",
}
WIRES = {
    "AP": "The Associated Press", "Reuters": "Reuters", "AFP": "Agence France-Presse",
    "UPI": "United Press International", "dpa": "Deutsche Presse-Agentur", "PA": "PA Media",
    "Bloomberg": "Bloomberg", "CP": "The Canadian Press", "ANSA": "ANSA", "EFE": "EFE",
    "Xinhua": "Xinhua", "AAP": "Australian Associated Press", "Lusa": "Lusa",
}
_WIRE_NAMES = "|".join(sorted(map(re.escape, WIRES), key=len, reverse=True))
# "TALLINN, Estonia (AP) — ..." / "WASHINGTON (Reuters) - ..." / "PARIS — ..."
DATELINE = re.compile(
    r"^\s*(?P<place>[A-ZÀ-Þ][A-ZÀ-Þ.'’ -]{1,40}(?:,\s*[A-ZÀ-Þ][\w.'’ -]{1,30}){0,2}?)"
    r"\s*(?:\((?P<wire>" + _WIRE_NAMES + r")\))?\s*[—–-]{1,2}\s",
)
BY = re.compile(r"^\s*(by|von|por|par|di|door|av|af)\s+", re.IGNORECASE)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|\bund\b|\be\b|\by\b|\bet\b)\s*")
_BYLINE_ATTR = re.compile(r"byline|author", re.IGNORECASE)
_MONTHS = (r"jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|mai|juni|juli"
           r"|oktober|dezember|janvier|février|mars|avril|juin|juillet|août|septembre|octobre"
           r"|novembre|décembre|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre"
           r"|octubre|noviembre|diciembre")
# Where a byline goes on with its date or time: "Jane Doe January 9, 2026, 9:27 PM UTC".
_BYLINE_DATE = re.compile(
    r"(?:\b(?:" + _MONTHS + r")[a-zé]*\.?\s+\d{1,2}\b|\b\d{1,2}\.?\s+(?:" + _MONTHS + r")[a-zé]*\b"
    r"|\b\d{4}-\d{1,2}-\d{1,2}|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b|\b\d{1,2}:\d{2}\b"
    r"|\b\d+\s+(?:minutes?|mins?|hours?|hrs?|days?)\s+ago\b|\b(?:updated|published|posted)\b)",
    re.IGNORECASE,
)
#: meta names whose every occurrence is an author (pages repeat article:author)
AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator")
_URL_DATE = re.compile(r"/(20\d\d|19\d\d)[/-](\d{1,2})[/-](\d{1,2})(?:/|-|$)")
_TITLE_SUFFIX = re.compile(r"\s+[|–—-]\s+[^|–—-]{2,40}$")
# What client-rendered pages show in <title> until their script sets the real one.
PLACEHOLDER_TITLES = {
    "", "loading", "laden", "wird geladen", "chargement", "cargando", "carregando",
    "caricamento", "загрузка", "untitled", "react app", "vite app", "document",
}


@dataclass
class Metadata:
    """What the page says about itself; every field may be missing."""

    title: str | None = None
    authors: list[str] = field(default_factory=list)
    publisher: str | None = None
    published: str | None = None
    modified: str | None = None
    dateline: str | None = None
    language: str | None = None
    canonical_url: str | None = None
    article_body: str | None = None
    kind: str | None = None  # schema.org / og:type of the page, lower case


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _jsonld_objects(root: Element) -> list[dict]:
    out: list[dict] = []
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = json.loads(script.text)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                out.append(item)
                if "@graph" in item:
                    stack.append(item["@graph"])
    return out


def _types(obj: dict) -> set[str]:
    t = obj.get("@type")
    return {str(x).lower() for x in (t if isinstance(t, list) else [t]) if x}


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def clean_author(name: str) -> str | None:
    """A person's name as written in a byline: no "By", no ALL CAPS, no URL."""
    name = BY.sub("", _clean(name))
    name = re.sub(r"\s*[|,]\s*(staff|reporter|correspondent|contributor|editor)\b.*$", "",
                  name, flags=re.IGNORECASE)
    if (not name or "http" in name or "@" in name or len(name) > 60
            or len(name.split()) > 5 or any(c.isdigit() for c in name)):
        return None
    if name.isupper() or name.islower():
        name = " ".join(w.capitalize() for w in name.split())
    return name


def split_authors(text: str) -> list[str]:
    """Names of a byline such as "By Jane Doe and John Roe | Jan 8, 2026"."""
    # A byline often goes on with the date or the role after a bar or a dot,
    # or straight on with the date and time when both share one element.
    text = re.split(r"\s[|·•]\s|\s[—–]\s", _clean(text))[0]
    dated = _BYLINE_DATE.search(text)
    if dated:
        text = text[: dated.start()].rstrip(" ,;-–—")
    parts = _AUTHOR_SPLIT.split(BY.sub("", text))
    return [a for a in (clean_author(p) for p in parts) if a]


def parse_date(value: object, upper: datetime | None) -> str | None:
    """ISO 8601 text of a date value, or None when unparseable or after ``upper``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        found = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        m = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
        if not m:
            return None
        try:
            found = datetime(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if found.year < 1990:
        return None
    if upper is not None:
        cmp = found if found.tzinfo else found.replace(tzinfo=UTC)
        bound = upper if upper.tzinfo else upper.replace(tzinfo=UTC)
        # A date after the capture cannot be when the page was first published.
        if cmp > bound:
            return None
    if "T" not in text and " " not in text.strip():
        return found.date().isoformat()
    return found.isoformat()


def _meta(root: Element) -> tuple[dict[str, str], dict[str, list[str]]]:
    """First value of every meta name, and every value of the author names."""
    out: dict[str, str] = {}
    authors: dict[str, list[str]] = {}
    head = root.find("head")
    for m in (head if head is not None else root).iter("meta"):
        key = (m.get("property") or m.get("name") or m.get("itemprop") or "").lower()
        content = m.get("content")
        if not key or not content:
            continue
        if key not in out:
            out[key] = content.strip()
        if key in AUTHOR_META:
            authors.setdefault(key, []).append(content.strip())
    return out, authors


def find_dateline(first_paragraph: str) -> tuple[str | None, str | None]:
    """The dateline place and wire service of a story's first paragraph."""
    m = DATELINE.match(first_paragraph or "")
    if not m:
        return None, None
    place = m.group("place").strip(" ,")
    if not any(c.isupper() for c in place.split(",")[0]) or not place.split(",")[0].isupper():
        return None, None
    wire = m.group("wire")
    return place, WIRES.get(wire) if wire else None


def extract_metadata(root: Element, url: str, upper: datetime | None) -> Metadata:
    """Metadata of a parsed page; ``upper`` bounds publication dates (capture time)."""
    md = Metadata()
    meta, meta_authors = _meta(root)
    article: dict = {}
    for obj in _jsonld_objects(root):
        if _types(obj) & ARTICLE_TYPES:
            article = obj
            break
    md.kind = next(iter(_types(article)), None) if article else meta.get("og:type")

    md.title = _title(root, article, meta)

    authors = [a for n in _names(article.get("author")) for a in split_authors(n)]
    for key in AUTHOR_META:
        if authors:
            break
        authors = [a for v in meta_authors.get(key, ()) if "://" not in v
                   for a in split_authors(v)]
    if not authors:
        authors = _byline_authors(root)
    md.authors = list(dict.fromkeys(authors))

    publisher = _names(article.get("publisher"))
    md.publisher = _clean(publisher[0]) if publisher else (meta.get("og:site_name") or None)

    md.published = (
        parse_date(article.get("datePublished"), upper)
        or parse_date(meta.get("article:published_time"), upper)
        or parse_date(meta.get("datepublished"), upper)
        or parse_date(meta.get("date"), upper)
        or _time_element(root, upper)
        or _url_date(url, upper)
    )
    md.modified = parse_date(article.get("dateModified"), upper) or parse_date(
        meta.get("article:modified_time"), upper
    )

    lang = root.get("lang") or meta.get("content-language") or meta.get("og:locale")
    if not lang and isinstance(article.get("inLanguage"), str):
        lang = article["inLanguage"]
    md.language = normalize_language(lang)

    canonical = next(
        (lk.get("href") for lk in root.iter("link")
         if "canonical" in (lk.get("rel") or "").lower().split() and lk.get("href")),
        None,
    ) or meta.get("og:url")
    md.canonical_url = urljoin(url, canonical.strip()) if canonical else None
    body = article.get("articleBody")
    md.article_body = body if isinstance(body, str) else None
    return md


def _title(root: Element, article: dict, meta: dict[str, str]) -> str | None:
    """Headline: JSON-LD, og:title unless it is only the site's name, ``<h1>``, ``<title>``."""
    headline = article.get("headline")
    if isinstance(headline, str) and headline.strip():
        return _clean(headline)
    page_title = _clean(root.findtext(".//title"))
    if " ".join(re.findall(r"\w+", page_title.lower())) in PLACEHOLDER_TITLES:
        page_title = ""  # the headline below, not "Loading…"
    h1 = next(root.iter("h1"), None)
    h1_text = _clean("".join(h1.itertext())) if h1 is not None else ""
    og = _clean(meta.get("og:title") or meta.get("twitter:title"))
    site = _clean(meta.get("og:site_name"))
    if og and og != site and (len(og.split()) > 3 or og in page_title or og == h1_text):
        return og
    stripped = _TITLE_SUFFIX.sub("", page_title)
    if h1_text and (h1_text in page_title or not stripped):
        return h1_text
    return stripped or h1_text or None


def normalize_language(tag: str | None) -> str | None:
    """A BCP 47 tag ("en-US") from what pages write ("en_US", "EN", "en-us")."""
    if not tag:
        return None
    parts = re.split(r"[-_]", tag.strip())
    if not parts[0].isalpha() or not 2 <= len(parts[0]) <= 3:
        return None
    out = [parts[0].lower()]
    for p in parts[1:]:
        if len(p) == 2 and p.isalpha():
            out.append(p.upper())
        elif len(p) == 4 and p.isalpha():
            out.append(p.capitalize())
        elif p:
            out.append(p.lower())
    return "-".join(out)


def _byline_authors(root: Element) -> list[str]:
    for el in root.iter("a", "span", "div", "p"):
        attrs = f"{el.get('class', '')} {el.get('rel', '')} {el.get('itemprop', '')}"
        if _BYLINE_ATTR.search(attrs) and len(el) <= 3:
            names = split_authors("".join(el.itertext()))
            if names:
                return names
    return []


def _time_element(root: Element, upper: datetime | None) -> str | None:
    for t in root.iter("time"):
        found = parse_date(t.get("datetime"), upper)
        if found:
            return found
    return None


def _url_date(url: str, upper: datetime | None) -> str | None:
    m = _URL_DATE.search(url)
    if not m:
        return None
    try:
        found = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    return parse_date(found.isoformat(), upper)
