"""Deterministic articles for the demo site: the ground truth extraction is scored on.

Article *i* is written from its own random stream (seeded by ``SEED`` and *i*),
so the same index gives the same story whatever the site's size; only its
publication time (and so its URL) depends on how many articles day 1 has.
Paragraphs and titles are kept unique across the whole site, because an
extraction test that passes by matching another article's paragraph proves
nothing.

Days: day 1 holds ``base_count`` articles spread over 2026-01-05 .. 2026-03-14;
each later day *d* adds :data:`NEW_PER_DAY` articles published on
2026-03-(13+d). Indices grow with publication time (0 is the oldest).
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from newsarchive.demosite import articlecache
from newsarchive.demosite import vocabulary as v

SEED = "newsarchive-demo-2026"
NEW_PER_DAY = 10
FIRST_PUBLISHED = dt.datetime(2026, 1, 5, 6, 0, tzinfo=dt.UTC)
DAY1_LAST = dt.datetime(2026, 3, 14, 18, 0, tzinfo=dt.UTC)
# A day's articles appear from 06:00 UTC, one every 75 minutes.
_DAY_SPACING = dt.timedelta(minutes=75)


@dataclass(frozen=True)
class Article:
    """One article of the demo site, with the truth a sidecar is compared against.

    ``paragraphs`` are the story as a reader sees it (the wire dateline opens
    the first one, as on real wire copy); ``dateline`` is that place alone.
    The site fills the placement fields (``template`` .. ``rotating_ads``).
    """

    index: int
    number: int
    section: str
    slug: str
    title: str
    summary: str
    authors: tuple[str, ...]
    publisher: str
    wire: str | None  # "AP", "Reuters" or None for a staff story
    published: str  # ISO 8601, UTC, e.g. "2026-03-14T09:30:00Z"
    dateline: str | None
    paragraphs: tuple[str, ...]
    day: int
    template: str = ""
    charset: str = "utf-8"
    related: tuple[str, ...] = ()  # paths of the articles its rail links to
    attachments: tuple[str, ...] = ()  # paths of documents linked from the page
    ads_count: int = 0  # ad slots inside the story body
    rotating_ads: bool = False  # its ads change every day (a re-fetch differs)

    @functools.cached_property
    def path(self) -> str:
        """``/world/2026/03/14/some-slug-12.html`` (computed once: the site asks often)."""
        d = self.published_at
        return f"/{self.section}/{d:%Y/%m/%d}/{self.slug}.html"

    @property
    def published_at(self) -> dt.datetime:
        """The publication time as an aware datetime."""
        return dt.datetime.fromisoformat(self.published)


def day_of(index: int, base_count: int) -> int:
    """The day on which article ``index`` first appears."""
    return 1 if index < base_count else 2 + (index - base_count) // NEW_PER_DAY


def count_on(day: int, base_count: int) -> int:
    """How many articles exist on ``day``."""
    return base_count + NEW_PER_DAY * (max(day, 1) - 1)


def day_end(day: int) -> dt.datetime:
    """The site's notion of "now" on ``day`` (the end of that day, UTC)."""
    return dt.datetime(2026, 3, 14, 23, 59, tzinfo=dt.UTC) + dt.timedelta(days=day - 1)


def published_at(index: int, base_count: int) -> dt.datetime:
    """Publication time of article ``index``: strictly increasing with the index."""
    if index < base_count:
        span = (DAY1_LAST - FIRST_PUBLISHED).total_seconds() // 60
        minutes = int(span * index // max(base_count - 1, 1))
        return FIRST_PUBLISHED + dt.timedelta(minutes=minutes)
    k = index - base_count
    day = 2 + k // NEW_PER_DAY
    start = dt.datetime(2026, 3, 14, 6, 0, tzinfo=dt.UTC) + dt.timedelta(days=day - 1)
    return start + _DAY_SPACING * (k % NEW_PER_DAY)


#: The most articles a demo site writes: beyond it titles and paragraphs repeat
#: so often that the site stops looking like news (and takes minutes to write).
MAX_ARTICLES = 100_000


def slugify(title: str, limit: int = 60) -> str:
    """ASCII, lower-case, dash-separated, cut at a word boundary."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


@functools.lru_cache(maxsize=8)
def writer(base_count: int, wire_pattern: tuple[bool, ...] = (False,)) -> ArticleWriter:
    """A shared writer, so sites of the same size (and later days) reuse its articles."""
    return ArticleWriter(base_count, wire_pattern)


class ArticleWriter:
    """Writes articles 0, 1, 2... in order, keeping titles and paragraphs unique.

    Uniqueness is enforced against everything written before, which keeps the
    output a pure function of the index. ``wire_pattern[i % len]`` forces
    article *i* to be wire copy (for templates that only show wire stories);
    otherwise about 30% are.
    """

    def __init__(
        self, base_count: int, wire_pattern: tuple[bool, ...] = (False,), seed: str = SEED
    ) -> None:
        self.base_count = base_count
        self.wire_pattern = wire_pattern
        self.seed = seed
        self._lock = threading.Lock()
        self._articles: list[Article] = []
        self._titles: set[str] = set()
        self._paragraphs: set[str] = set()
        self._cache_tried = False

    def articles(self, count: int) -> list[Article]:
        """The first ``count`` articles (written once, then cached; on disk for large sites)."""
        with self._lock:
            cached = count >= articlecache.CACHE_FROM
            if cached and len(self._articles) < count and not self._cache_tried:
                self._load_cache()
            if len(self._articles) < count:
                if len(self._titles) < len(self._articles):  # loaded: uniqueness needs them
                    self._titles = {a.title for a in self._articles}
                    self._paragraphs = {p for a in self._articles for p in a.paragraphs}
                while len(self._articles) < count:
                    index = len(self._articles)
                    forced = self.wire_pattern[index % len(self.wire_pattern)]
                    self._articles.append(self._write(index, wire=True if forced else None))
                if cached:
                    rows = [tuple(getattr(a, f) for f in articlecache.FIELDS)
                            for a in self._articles]
                    articlecache.save(self._cache_path(), rows)
            return self._articles[:count]

    def _cache_path(self) -> Path:
        return articlecache.cache_path(self.seed, self.wire_pattern)

    def _load_cache(self) -> None:
        """Take the articles the disk cache holds beyond those written already."""
        self._cache_tried = True
        rows = articlecache.load(self._cache_path())
        for index in range(len(self._articles), len(rows)):
            fields = dict(zip(articlecache.FIELDS, rows[index], strict=True))
            when = published_at(index, self.base_count)
            self._articles.append(Article(
                index=index, number=index + 1,
                published=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                day=day_of(index, self.base_count), **fields))

    # -- writing -------------------------------------------------------------

    def _write(self, index: int, *, wire: bool | None) -> Article:
        rng = random.Random(f"{self.seed}:{index}")
        section = v.SECTIONS[(index + index // 3) % len(v.SECTIONS)]
        slots = _StorySlots(rng, section)
        if wire is None:
            wire = rng.random() < 0.3
        agency = rng.choice(("AP", "AP", "Reuters")) if wire else None
        authors = self._authors(rng, 1 if agency else rng.choice((1, 1, 2)))
        city_caps = slots.city.upper()
        if agency == "AP":
            dateline = f"{city_caps}, {slots.country}"
            opener = f"{dateline} (AP) — "
        elif agency == "Reuters":
            dateline = city_caps
            opener = f"{dateline} (Reuters) — "
        elif rng.random() < 0.5:
            dateline = city_caps
            opener = f"{dateline} — "
        else:
            dateline, opener = None, ""
        title = self._unique(self._titles, lambda: _cap(slots.fill(rng.choice(v.TITLE_SHAPES[section]))))
        paragraphs = tuple(self._paragraphs_for(rng, slots, opener))
        when = published_at(index, self.base_count)
        return Article(
            index=index,
            number=index + 1,
            section=section,
            slug=f"{slugify(title)}-{index + 1}",
            title=title,
            summary=slots.fill(rng.choice(v.SUMMARY_SHAPES)),
            authors=authors,
            publisher=v.WIRE_PUBLISHERS[agency] if agency else v.SITE_NAME,
            wire=agency,
            published=when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            dateline=dateline,
            paragraphs=paragraphs,
            day=day_of(index, self.base_count),
        )

    @staticmethod
    def _authors(rng: random.Random, count: int) -> tuple[str, ...]:
        names: list[str] = []
        while len(names) < count:
            name = f"{rng.choice(v.FIRST_NAMES)} {rng.choice(v.SURNAMES)}"
            if name not in names:
                names.append(name)
        return tuple(names)

    def _paragraphs_for(self, rng: random.Random, slots: _StorySlots, opener: str) -> Iterator[str]:
        count = rng.randint(4, 10)
        deck = list(v.SENTENCES[1:])
        rng.shuffle(deck)
        quote_at = rng.randint(1, 2)

        def sentences(n: int) -> str:
            if len(deck) < n:
                deck.extend(v.SENTENCES[1:])
            return " ".join(slots.fill(deck.pop()) for _ in range(n))

        def paragraph(i: int) -> str:
            if i == 0:
                return opener + slots.fill(v.SENTENCES[0]) + " " + sentences(1)
            if i == quote_at:
                return (slots.quote() + " " + sentences(rng.randint(0, 1))).strip()
            return sentences(rng.randint(1, 3))

        for i in range(count):
            yield self._unique(self._paragraphs, lambda: paragraph(i))  # noqa: B023 (called now)

    @staticmethod
    def _unique(seen: set[str], make: Callable[[], str]) -> str:
        for _ in range(50):
            text = make()
            if text not in seen:
                seen.add(text)
                return text
        # A large site runs out of fresh combinations: number the repeat, as a
        # paper numbers the follow-ups of a running story. Still unique, and
        # still a pure function of the index (articles are written in order).
        number = 2
        while f"{text} ({number})" in seen:
            number += 1
        text = f"{text} ({number})"
        seen.add(text)
        return text


def _money(rng: random.Random) -> str:
    if rng.random() < 0.5:
        amount = f"{rng.randint(12, 950)} million"
    else:
        amount = f"{rng.randint(11, 49) / 10:.1f} billion"
    return rng.choice(("$", "€", "£")) + amount


# The fresh values a sentence may ask for, drawn anew each time.
_NUMBERS: dict[str, Callable[[random.Random], object]] = {
    "weekday": lambda rng: rng.choice(v.WEEKDAYS),
    "month": lambda rng: rng.choice(v.MONTHS),
    "year": lambda rng: rng.randint(2009, 2025),
    "n_small": lambda rng: rng.randint(2, 19),
    "n_people": lambda rng: f"{rng.randint(120, 48_000):,}",
    "pct": lambda rng: rng.randint(3, 78),
    "money": _money,
}


class _StorySlots:
    """The fixed cast of one story (place, people, subject) plus fresh numbers per use."""

    def __init__(self, rng: random.Random, section: str) -> None:
        self.rng = rng
        topic = v.TOPICS[section]
        self.city, self.country = rng.choice(v.PLACES)
        others = [c for _, c in v.PLACES if c != self.country]
        self.fixed = {
            "subject": rng.choice(topic["subject"]),
            "actor": rng.choice(topic["actor"]),
            "obstacle": rng.choice(topic["obstacle"]),
            "group": rng.choice(topic["group"]),
            "document": rng.choice(topic["document"]),
            "measure": rng.choice(topic["measure"]),
            "org": rng.choice(v.ORGANISATIONS[section]),
            "city": self.city,
            "country": self.country,
            "country2": rng.choice(others),
        }
        role, role2 = rng.sample(topic["role"], 2)
        first, last = rng.choice(v.FIRST_NAMES), rng.choice(v.SURNAMES)
        first2, last2 = rng.choice(v.FIRST_NAMES), rng.choice([s for s in v.SURNAMES if s != last])
        self.fixed.update(
            role=role,
            role2=role2,
            person=f"{role} {first} {last}" if role[0].isupper() else f"{first} {last}, {role},",
            surname=last,
            person2=f"{first2} {last2}",
            surname2=last2,
        )
        for key in ("subject", "actor", "org", "person", "person2", "surname", "surname2", "role",
                    "city", "country"):
            self.fixed[_cap(key)] = _cap(self.fixed[key])
        self.fixed["Org_cap"] = self.fixed["Org"]
        self.fixed["Actor_cap"] = self.fixed["Actor"]

    def fill(self, shape: str) -> str:
        """``shape`` with this story's cast and fresh numbers (drawn only for its slots)."""
        text = shape.format_map(self)
        # A person with a lower-case role reads "Anna Kask, chief economist, said";
        # drop the comma that would precede sentence-final punctuation.
        return text.replace(",,", ",").replace(",.", ".")

    def __getitem__(self, name: str) -> object:
        """A slot's value, for ``str.format_map``: the cast, or a fresh number."""
        value = self.fixed.get(name)
        return _NUMBERS[name](self.rng) if value is None else value

    def quote(self) -> str:
        """A quoted remark with curly quotes, as newspapers print them."""
        said = self.fill(self.rng.choice(v.QUOTES))
        return self.fill(self.rng.choice(v.QUOTE_SHAPES).replace("{quote}", said.replace("{", "{{")))
