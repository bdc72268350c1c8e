"""Site files: one YAML file per news site, parsed once into a typed :class:`Site`.

The schema is documented, key by key, in ``docs/site-file.md`` and in the
packaged example :data:`EXAMPLE` (``newsarchive/discover/site.example.yaml``);
``newsarchive site new URL`` writes a starting file. Every mistake -- unknown
key (with a did-you-mean), wrong type, bad URL, bad cron expression, bad
pattern, YAML syntax -- is one :class:`~newsarchive.exceptions.ConfigError`
line naming the file and the line, e.g.::

    sites/daily.yaml: line 4: unknown key 'sitemap'; did you mean 'sitemaps'?

:meth:`Site.spider_kwargs` and :meth:`Site.settings` are what the crawl needs
(``newsarchive crawl SITE.yaml`` calls exactly these).
"""

from __future__ import annotations

import difflib
import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from newsarchive.discover.credentials import Credentials, parse_credentials
from newsarchive.discover.egress import parse_allow
from newsarchive.discover.politeness import politeness_settings
from newsarchive.discover.revisit import RevisitPolicy
from newsarchive.exceptions import ConfigError

EXAMPLE = Path(__file__).with_name("site.example.yaml")
RENDER_MODES = ("never", "always", "auto")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CONTACT_RE = re.compile(r"^(?:[^@\s]+@[^@\s]+\.[^@\s]+|https?://\S+)$")

#: a site file is a page of settings; anything bigger is a mistake (or an attack)
MAX_FILE_BYTES = 1_000_000
#: longest value an error message quotes, and longest message
QUOTE_CHARS = 60
MESSAGE_CHARS = 400

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SIZES = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = QUOTE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = 4
_REPR.maxlevel = 2


def quote(value: Any) -> str:
    """``repr(value)`` of at most :data:`QUOTE_CHARS`: error messages quote what they
    reject, and a value may be megabytes long (reprlib never builds the whole repr)."""
    text = _REPR.repr(value)
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


# --- the typed result ---------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """When a run stops: pages, seconds, bytes (0: no limit)."""

    pages: int = 0
    time: float = 0.0
    bytes: int = 0


@dataclass(frozen=True)
class Politeness:
    """How hard to knock; ``None`` means the default for the site's hosts."""

    concurrency: int | None = None
    delay: float | None = None
    autothrottle: bool | None = None
    robots: bool = True


@dataclass(frozen=True)
class Site:
    """A parsed, validated site file."""

    path: Path
    name: str
    start_urls: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    depth: int = 2
    allowed_domains: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()  # EGRESS_ALLOW: origins and networks besides the URLs' own
    article_patterns: tuple[str, ...] = ()
    fetch_embeds: bool = True
    render: str = "never"
    schedule: str | None = None
    collection: Path | None = None
    store: str | None = None
    contact: str | None = None
    user_agent: str | None = None
    limits: Limits = field(default_factory=Limits)
    revisit: RevisitPolicy = field(default_factory=RevisitPolicy)
    politeness: Politeness = field(default_factory=Politeness)
    credentials: Credentials = field(default_factory=Credentials)

    @property
    def urls(self) -> tuple[str, ...]:
        """Every URL the file names."""
        return self.start_urls + self.sections + self.sitemaps + self.feeds

    def spider_kwargs(self) -> dict[str, Any]:
        """Arguments of the ``news`` spider."""
        return {
            "start_urls": list(self.start_urls),
            "sections": list(self.sections),
            "sitemaps": list(self.sitemaps),
            "feeds": list(self.feeds),
            "allowed_domains": list(self.allowed_domains),
            "depth": self.depth,
            "article_patterns": list(self.article_patterns),
            "fetch_embeds": self.fetch_embeds,
        }

    def settings(self) -> dict[str, Any]:
        """Scrapy setting overrides: render mode, limits, revisit policy, politeness."""
        p = self.politeness
        out = politeness_settings(
            self.urls,
            contact=self.contact,
            per_host=p.concurrency,
            delay=p.delay,
            autothrottle=p.autothrottle,
        )
        if self.user_agent:
            out["USER_AGENT"] = self.user_agent
        out["ROBOTSTXT_OBEY"] = p.robots
        if self.allow:
            out["EGRESS_ALLOW"] = list(self.allow)
        out["RENDER_MODE"] = self.render
        if self.store:
            out["STORE_URI"] = self.store
        if self.limits.pages:
            out["CLOSESPIDER_PAGECOUNT"] = self.limits.pages
        if self.limits.time:
            out["CLOSESPIDER_TIMEOUT"] = self.limits.time
        if self.limits.bytes:
            out["CLOSESPIDER_BYTES"] = self.limits.bytes
        r = self.revisit

        def secs(value: float | None) -> float:
            return -1.0 if value is None else float(value)

        out["STATE_REVISIT_ARTICLE_MAX_AGE"] = secs(r.article_max_age)
        out["STATE_REVISIT_ARTICLE_EVERY"] = secs(r.article_every)
        out["STATE_REVISIT_PAGE_EVERY"] = secs(r.page_every)
        out["STATE_REVISIT_EMBED_EVERY"] = secs(r.embed_every)
        out.update(self.credentials.settings(self.path, self.allowed_domains or tuple(
            dict.fromkeys(urlsplit(u).hostname or "" for u in self.urls))))
        return out


# --- YAML with line numbers --------------------------------------------------------
class _Located:
    """A mapping node's values, and the line of each key, for error messages."""

    def __init__(self, source: str, node: yaml.MappingNode, loader: yaml.SafeLoader) -> None:
        self.source = source
        self.line = node.start_mark.line + 1
        self.values: dict[str, Any] = {}
        self.nodes: dict[str, yaml.Node] = {}
        self.lines: dict[str, int] = {}
        self._loader = loader
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                self.fail(key_node.start_mark.line + 1, f"key {quote(key)} is not a name")
            if key in self.lines:
                self.fail(key_node.start_mark.line + 1, f"key '{key}' appears twice")
            self.lines[key] = key_node.start_mark.line + 1
            self.nodes[key] = value_node
            self.values[key] = loader.construct_object(value_node, deep=True)

    def fail(self, line: int, message: str) -> None:
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 3] + "..."
        raise ConfigError(f"{self.source}: line {line}: {message}")

    def check_keys(self, allowed: tuple[str, ...], where: str = "") -> None:
        for key, line in self.lines.items():
            if key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(allowed)}"
                self.fail(line, f"unknown key '{where}{key}'; {hint}")

    def section(self, key: str) -> _Located | None:
        node = self.nodes.get(key)
        if node is None or self.values.get(key) is None:
            return None
        if not isinstance(node, yaml.MappingNode):
            self.fail(self.lines[key], f"'{key}' must be a mapping of keys (indented below it)")
        assert isinstance(node, yaml.MappingNode)
        return _Located(self.source, node, self._loader)

    def get(self, key: str, parse: Callable[[Any], Any], default: Any = None) -> Any:
        """The value of ``key`` through ``parse``; a ``ValueError`` becomes a located error."""
        if key not in self.values or self.values[key] is None:
            return default
        try:
            return parse(self.values[key])
        except (ValueError, TypeError) as exc:
            self.fail(self.lines[key], f"{key}: {exc}")
        return default  # unreachable


class _PlainLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases.

    An alias is a reference: nine nested lists of nine aliases each make a
    400-byte file that expands to 387 million items once constructed or quoted.
    Site files have no use for them, so the first anchor or alias is refused
    while composing, before anything is expanded.
    """

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise ConfigError(
                f"{self.name}: line {mark.line + 1}: YAML anchors and aliases (&name, *name) "
                "are not allowed in site files; write the values out"
            )
        return super().compose_node(parent, index)


def _read_yaml(path: Path) -> _Located:
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{source} is larger than {MAX_FILE_BYTES} bytes; a site file "
                              "is a page of settings (see docs/site-file.md)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"site file {source} not found; check the path") from None
    except IsADirectoryError:
        raise ConfigError(f"{source} is a folder, not a site file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read site file {source}: {exc}") from None
    loader = _PlainLoader(text)
    loader.name = source
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{source}: {line}YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: YAML syntax error: {exc}") from None
    if node is None:
        raise ConfigError(f"{source}: the site file is empty; see docs/site-file.md")
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(
            f"{source}: line {node.start_mark.line + 1}: a site file is a mapping of keys "
            "(name:, start_urls:, ...); see docs/site-file.md"
        )
    try:
        return _Located(source, node, loader)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    finally:
        loader.dispose()


# --- value parsers (raise ValueError with a short reason) ---------------------------
def parse_duration(value: Any, *, never: str | None = None) -> float | None:
    """``90``/``"90s"``/``"15m"``/``"6h"``/``"2d"``/``"1w"`` in seconds; ``never`` -> None."""
    if isinstance(value, bool):
        raise ValueError(f"{quote(value)} is not a duration; write e.g. 30m, 6h or 2d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    text = str(value).strip().lower()
    if never is not None and text == never:
        return None
    if text in ("always", "0"):
        return 0.0
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text)
    if not m:
        extra = f", '{never}'" if never else ""
        raise ValueError(f"{quote(value)} is not a duration; write e.g. 30m, 6h, 2d{extra} or always")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_size(value: Any) -> int:
    """``1000000``, ``"500MB"``, ``"2GiB"`` in bytes."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?", str(value).strip().lower())
    if not m:
        raise ValueError(f"{quote(value)} is not a size; write e.g. 500MB or 2GB")
    return int(float(m.group(1)) * _SIZES[m.group(2) or ""])


def parse_cron(value: Any) -> str:
    """A cron expression croniter understands (5 fields, or @hourly, @daily...)."""
    from croniter import croniter

    text = str(value).strip()
    if not croniter.is_valid(text):
        raise ValueError(
            f"{quote(text)} is not a cron expression; write 5 fields like '0 * * * *' "
            "(minute hour day month weekday) or @hourly"
        )
    return text


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{quote(value)} is not a whole number of 0 or more")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{quote(value)} is not true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
        raise ValueError(f"{quote(value)} is not a text value")
    return str(value).strip()


def _list(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ValueError("must be a list (one '- item' per line) or a single value")
    return value


# --- the schema ------------------------------------------------------------------------
TOP_KEYS = (
    "name",
    "start_urls",
    "sections",
    "sitemaps",
    "feeds",
    "depth",
    "allowed_domains",
    "allow",
    "article_patterns",
    "fetch_embeds",
    "render",
    "schedule",
    "collection",
    "store",
    "contact",
    "user_agent",
    "limits",
    "revisit",
    "politeness",
    "credentials",
)
LIMIT_KEYS = ("pages", "time", "bytes")

REVISIT_KEYS = ("articles_younger_than", "articles_every", "pages_every", "embeds_every")
POLITENESS_KEYS = ("concurrency", "delay", "autothrottle", "robots")


def _urls(doc: _Located, key: str, base: str | None) -> tuple[str, ...]:
    out = []
    for item in doc.get(key, _list, default=[]):
        text = str(item).strip() if item is not None else ""
        url = urljoin(base, text) if base and text.startswith("/") else text
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            doc.fail(
                doc.lines[key],
                f"{key}: {quote(text)} is not a URL; write an absolute http:// or https:// URL",
            )
        out.append(url)
    return tuple(out)


def _patterns(doc: _Located) -> tuple[str, ...]:
    out = []
    for item in doc.get("article_patterns", _list, default=[]):
        try:
            re.compile(str(item))
        except re.error as exc:
            doc.fail(
                doc.lines["article_patterns"],
                f"article_patterns: {quote(item)} is not a regular expression: {exc}",
            )
        out.append(str(item))
    return tuple(out)


def _domains(doc: _Located, key: str = "allowed_domains", where: str = "allowed_domains"
             ) -> tuple[str, ...]:
    out = []
    for item in doc.get(key, _list, default=[]):
        text = str(item).strip().lower()
        if "/" in text or not re.fullmatch(r"[a-z0-9.-]+(:\d+)?", text):
            doc.fail(
                doc.lines[key],
                f"{where}: {quote(item)} is not a host name; write e.g. example.com "
                "(no scheme, no path)",
            )
        out.append(text.split(":")[0])
    return tuple(out)


def _allow(doc: _Located) -> tuple[str, ...]:
    out = []
    for item in doc.get("allow", _list, default=[]):
        try:
            parse_allow(str(item))
        except ConfigError as exc:
            doc.fail(doc.lines["allow"], str(exc))
        out.append(str(item).strip())
    return tuple(out)


def _limits(doc: _Located) -> Limits:
    sec = doc.section("limits")
    if sec is None:
        return Limits()
    sec.check_keys(LIMIT_KEYS, "limits.")
    return Limits(
        pages=sec.get("pages", _positive_int, 0),
        time=sec.get("time", parse_duration, 0.0) or 0.0,
        bytes=sec.get("bytes", parse_size, 0),
    )


def _revisit(doc: _Located) -> RevisitPolicy:
    sec = doc.section("revisit")
    default = RevisitPolicy()
    if sec is None:
        return default

    def every(key: str, fallback: float | None) -> float | None:
        if key not in sec.values:
            return fallback
        return sec.get(key, lambda v: parse_duration(v, never="never"))  # type: ignore[no-any-return]

    sec.check_keys(REVISIT_KEYS, "revisit.")
    max_age = (
        sec.get("articles_younger_than", lambda v: parse_duration(v, never="forever"))
        if "articles_younger_than" in sec.values
        else default.article_max_age
    )
    return RevisitPolicy(
        article_max_age=max_age,
        article_every=every("articles_every", default.article_every),
        page_every=every("pages_every", default.page_every),
        embed_every=every("embeds_every", default.embed_every),
    )


def _politeness(doc: _Located) -> Politeness:
    sec = doc.section("politeness")
    if sec is None:
        return Politeness()
    sec.check_keys(POLITENESS_KEYS, "politeness.")

    def robots(value: Any) -> bool:
        if value in ("obey", True):
            return True
        if value in ("ignore", False):
            return False
        raise ValueError(f"{quote(value)} must be obey or ignore")

    def concurrency(value: Any) -> int:
        if _positive_int(value) < 1:
            raise ValueError("must be 1 or more")
        return int(value)

    return Politeness(
        concurrency=sec.get("concurrency", concurrency),
        delay=sec.get("delay", parse_duration),
        autothrottle=sec.get("autothrottle", _bool),
        robots=sec.get("robots", robots, True),
    )


def parse_site(doc: _Located, path: Path) -> Site:
    """Validate a located YAML mapping into a :class:`Site`."""
    doc.check_keys(TOP_KEYS)
    name = doc.get("name", _text, default=path.stem)
    if not NAME_RE.match(name):
        doc.fail(
            doc.lines.get("name", doc.line),
            f"name {quote(name)} may hold only letters, digits, '.', '-' and '_'",
        )
    start_urls = _urls(doc, "start_urls", None)
    base = start_urls[0] if start_urls else None
    sections = _urls(doc, "sections", base)
    sitemaps = _urls(doc, "sitemaps", base)
    feeds = _urls(doc, "feeds", base)
    if not (start_urls or sections or sitemaps or feeds):
        doc.fail(
            doc.line,
            "the site file names no URL; give at least one of start_urls, sections, "
            "sitemaps or feeds",
        )
    render = doc.get("render", _text, default="never")
    if render not in RENDER_MODES:
        doc.fail(doc.lines["render"], f"render: {quote(render)} must be one of {', '.join(RENDER_MODES)}")
    contact = doc.get("contact", _text)
    if contact is not None and not CONTACT_RE.match(contact):
        doc.fail(
            doc.lines["contact"],
            f"contact: {quote(contact)} is neither an e-mail address nor an http(s) URL",
        )
    collection = doc.get("collection", _text)
    store = doc.get("store", _text)
    if store is not None and not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,62}(/\S*)?", store):
        doc.fail(
            doc.lines["store"],
            f"store: {quote(store)} is not an S3 URI; write s3://BUCKET/PREFIX",
        )
    return Site(
        path=path,
        name=name,
        start_urls=start_urls,
        sections=sections,
        sitemaps=sitemaps,
        feeds=feeds,
        depth=doc.get("depth", _positive_int, 2),
        allowed_domains=_domains(doc),
        allow=_allow(doc),
        article_patterns=_patterns(doc),
        fetch_embeds=doc.get("fetch_embeds", _bool, True),
        render=render,
        schedule=doc.get("schedule", parse_cron),
        collection=(path.parent / collection) if collection else None,
        store=store.rstrip("/") if store else None,
        contact=contact,
        user_agent=doc.get("user_agent", _text),
        limits=_limits(doc),
        revisit=_revisit(doc),
        politeness=_politeness(doc),
        credentials=parse_credentials(doc),
    )


def load_site(path: Path | str) -> Site:
    """Read and validate a site file; any mistake is a one-line :class:`ConfigError`."""
    path = Path(path)
    return parse_site(_read_yaml(path), path)
