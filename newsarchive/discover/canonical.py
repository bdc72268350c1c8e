"""One article, one URL: canonical URLs for the crawl state.

News sites hand out the same article under many URLs -- ``?utm_source=rss``
from the feed, ``?fbclid=...`` from a share, ``#comments`` from a teaser,
``HTTP://Example.com:80/`` from a careless link. The crawl state is keyed by
:func:`canonical_url`, so each of these is recognised as the article already
archived.

Two forms, because they serve two purposes:

* :func:`canonical_url` -- the *identity* of a page: scheme and host lower-case,
  default port dropped, fragment dropped, query sorted, tracking parameters
  removed, percent-encoding normalised (w3lib's ``canonicalize_url``). Never
  requested as such: a server may care about the order of its query.
* :func:`clean_url` -- the URL to *request*: only the fragment and the
  tracking parameters removed, everything else as the site wrote it. Removing
  them never changes what the server sends back, and keeps ``utm_*`` noise out
  of the archive.

A page may also name its own canonical URL (``<link rel=canonical>``,
``og:url``); :func:`declared_canonical` picks it, and the crawl state records
the fetched URL as an alias of it. The fetched URL is still what the WARC
record says was fetched -- the archive records what happened.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Exact names, lower-case. ``utm_*`` and friends are matched by prefix below.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
        "cmpid",
        "ocid",
        "ncid",
        "sr_share",
        "spm",
        "ref_src",
        "ref_url",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "at_", "hsa_", "__twitter_impression")
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """True for analytics and click-id parameters that never select content."""
    lower = name.lower()
    return lower in TRACKING_PARAMS or lower.startswith(TRACKING_PREFIXES)


def _netloc(scheme: str, netloc: str) -> str:
    """``netloc`` with the host lower-case and a default port dropped."""
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host += "]"
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    if port and (not port.isdigit() or int(port) == DEFAULT_PORTS.get(scheme)):
        port = ""
    out = f"{host}:{port}" if port else host
    return f"{userinfo}@{out}" if userinfo else out


def clean_url(url: str) -> str:
    """The URL to request: fragment and tracking parameters removed, nothing else.

    Scheme and host are lower-cased and a default port dropped (these never
    change the response); the path and the order of the remaining query
    parameters are kept exactly.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    query = parts.query
    if query:
        # Drop whole ``name=value`` pieces of the raw query, so what remains is
        # byte for byte what the site wrote (re-encoding could change it).
        kept = [
            piece
            for piece in query.split("&")
            if piece and not is_tracking_param(unquote_plus(piece.partition("=")[0]))
        ]
        query = "&".join(kept)
    return urlunsplit((scheme, _netloc(scheme, parts.netloc), parts.path or "/", query, ""))


# A URL already in canonical form, as most sitemap and link URLs are: lower-case
# scheme and host, a non-default port at most, a path of unreserved characters and
# no query, escape, dot segment or fragment. w3lib's canonicalisation leaves it as it is, at
# ~30 us a URL (a re-crawl checks every URL a sitemap lists: issue #19).
_PLAIN = re.compile(r"https?://[a-z0-9][a-z0-9.-]*[a-z0-9](:\d{1,5})?/[A-Za-z0-9._~/-]*")


def canonical_url(url: str) -> str:
    """The identity of a page: the key of the crawl state.

    ``HTTP://Example.COM:80/a?b=2&utm_source=x&a=1#top`` becomes
    ``http://example.com/a?a=1&b=2``.
    """
    if _PLAIN.fullmatch(url) and "/." not in url:  # dot segments are resolved below
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        port = host.partition(":")[2]
        if not port or int(port) != DEFAULT_PORTS[scheme]:
            return url
    return canonicalize_url(clean_url(url), keep_fragments=False)


_SPACE = re.compile(r"\s+")


def declared_canonical(
    page_url: str, link_canonical: str | None, og_url: str | None
) -> str | None:
    """The canonical URL a page declares, made absolute, or ``None``.

    ``<link rel=canonical>`` wins over ``og:url`` (it is the one search engines
    honour). A declaration pointing to another site, or that is not http(s),
    is ignored: a syndicated copy names the original publisher's URL, and this
    copy is still its own page in *this* site's archive.
    """
    page_host = (urlsplit(page_url).hostname or "").lower()
    for candidate in (link_canonical, og_url):
        if not candidate:
            continue
        absolute = urljoin(page_url, _SPACE.sub("", candidate))
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        if _same_site(parts.hostname.lower(), page_host):
            return canonical_url(absolute)
    return None


def _same_site(a: str, b: str) -> bool:
    """``www.example.com`` and ``example.com`` are one site; ``other.com`` is not."""
    strip = lambda h: h[4:] if h.startswith("www.") else h  # noqa: E731
    return strip(a) == strip(b)
