"""Politeness defaults: who we say we are, and how hard we knock.

A crawl of a site on the internet gets AutoThrottle (Scrapy adapts the delay
to the server's latency), a per-host concurrency cap and a User-Agent that
names the tool and, when the site file gives one, a contact (an e-mail
address or a URL) so a webmaster can reach the archivist rather than block
an anonymous bot. A crawl of a loopback host (the demo site, tests) keeps the
fast defaults: there is nobody to be polite to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from newsarchive import __version__

PROJECT_URL = "https://github.com/newsarchive/newsarchive"
INTERNET_PER_HOST = 4  # parallel requests to one host of the internet
INTERNET_START_DELAY = 1.0  # AutoThrottle's first delay, seconds
INTERNET_TARGET_CONCURRENCY = 2.0  # AutoThrottle's target in-flight requests per host


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def user_agent(contact: str | None = None) -> str:
    """``newsarchive/0.1.0 (+https://github.com/...; archivist@example.org)``."""
    details = f"+{PROJECT_URL}" + (f"; {contact}" if contact else "")
    return f"newsarchive/{__version__} ({details})"


def politeness_settings(
    urls: Iterable[str],
    *,
    contact: str | None = None,
    per_host: int | None = None,
    delay: float | None = None,
    autothrottle: bool | None = None,
) -> dict[str, Any]:
    """Setting overrides for crawling ``urls``; ``None`` means "the default".

    AutoThrottle defaults to on unless every host is a loopback one.
    """
    hosts = {urlsplit(u).hostname or "" for u in urls} - {""}
    internet = any(not is_loopback(h) for h in hosts)
    out: dict[str, Any] = {"USER_AGENT": user_agent(contact)}
    if contact:
        out["WARC_OPERATOR"] = contact
    throttle = internet if autothrottle is None else autothrottle
    out["AUTOTHROTTLE_ENABLED"] = throttle
    if throttle:
        out["AUTOTHROTTLE_START_DELAY"] = delay if delay is not None else INTERNET_START_DELAY
        out["AUTOTHROTTLE_TARGET_CONCURRENCY"] = INTERNET_TARGET_CONCURRENCY
    if per_host is not None:
        out["CONCURRENT_REQUESTS_PER_DOMAIN"] = per_host
    elif internet:
        out["CONCURRENT_REQUESTS_PER_DOMAIN"] = INTERNET_PER_HOST
    if delay is not None:
        out["DOWNLOAD_DELAY"] = delay
    return out
