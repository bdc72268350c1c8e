"""The egress policy in the render handler: route Chromium through the proxy, log its refusals.

Two calls from :mod:`newsarchive.fetch.render.handler`: :func:`route` before
the browser is launched (the proxy flags join ``RENDER_CHROMIUM_ARGS``) and
:func:`report` after each page, which gives every URL the page asked for and
the proxy refused its ``crawl.log`` line (:func:`~.egress_scrapy.log_blocked`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING

from scrapy.exceptions import IgnoreRequest

from newsarchive.discover.egress import Blocked, origin_of
from newsarchive.exceptions import ConfigError
from newsarchive.fetch.egress_proxy import EgressProxy
from newsarchive.fetch.egress_scrapy import log_blocked, policy_for
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from newsarchive.fetch.render.config import RenderConfig


NAVIGATION_REFUSED = "net::ERR_SOCKS_CONNECTION_FAILED"  # how Chromium reports the proxy's refusal


class BrowserEgress:
    """One crawl's proxy."""

    def __init__(self, proxy: EgressProxy) -> None:
        self.proxy = proxy


def _of(crawler: Crawler) -> BrowserEgress | None:
    wiring = wiring_of(crawler)
    egress: BrowserEgress | None = wiring.egress_browser
    if egress is None:
        policy = policy_for(crawler)
        if not policy.enabled:
            return None
        egress = wiring.egress_browser = BrowserEgress(EgressProxy(policy))
    return egress


def route(crawler: Crawler, config: RenderConfig) -> RenderConfig:
    """``config`` with Chromium flags that send every connection through the egress proxy."""
    egress = _of(crawler)
    if egress is None:
        return config
    if any(arg.startswith("--proxy-") for arg in config.extra_args):
        raise ConfigError(
            "RENDER_CHROMIUM_ARGS sets a proxy, which would take the browser around the egress "
            "policy; remove it, or set EGRESS_ENABLED = False"
        )
    return dataclasses.replace(config, extra_args=(*config.extra_args, *egress.proxy.chromium_args()))


def report(crawler: Crawler, urls: Iterable[str]) -> list[Blocked]:
    """Log and count each of ``urls`` (asked for by a rendered page) whose connection was refused."""
    egress = wiring_of(crawler).egress_browser
    found: list[Blocked] = []
    if egress is None:
        return found
    for url in urls:
        origin = origin_of(url)
        blocked = egress.proxy.refusal(origin[1], origin[2]) if origin is not None else None
        if blocked is not None:
            log_blocked(crawler, url, blocked)
            found.append(blocked)
    return found


def raise_if_refused(crawler: Crawler, url: str, error: Exception, urls: Iterable[str]) -> None:
    """Raise ``IgnoreRequest`` when a render failed because the proxy refused its navigation.

    A page that redirects the browser to a refused address is the policy at
    work, as when Scrapy's redirect is refused: logged, not retried, not an error.
    """
    if NAVIGATION_REFUSED in str(error) and report(crawler, urls):
        raise IgnoreRequest(f"{url}: the browser's navigation was refused by the egress policy")


def close(crawler: Crawler) -> None:
    """Stop the crawl's proxy, if it started one."""
    egress = wiring_of(crawler).egress_browser
    if egress is not None:
        egress.proxy.close()
