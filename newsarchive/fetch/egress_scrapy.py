"""The egress policy (:mod:`newsarchive.discover.egress`) in Scrapy: a name resolver and a downloader middleware.

Two places, because a check before the download cannot see what a name
resolves to when the connection is made:

- :class:`EgressResolver` wraps the reactor's name resolver (whichever
  ``TWISTED_DNS_RESOLVER`` installed). Twisted's ``HostnameEndpoint`` -- what
  Scrapy's HTTP/1.1 agent connects through -- asks it for a host's addresses
  and connects to exactly those; the wrapper passes on only the addresses the
  policy allows. This is the enforcement: whatever DNS answers, and however
  often it changes its mind (rebinding), no connection goes to an address
  that was not checked.
- :func:`bundled_public_suffixes`: the crawl's only other connection,
  tldextract's download of the public suffix list, is replaced by the list
  bundled with tldextract.
- :class:`EgressMiddleware` (priority 40, before the offsite filter and
  robots.txt) refuses a request whose URL is refused outright (a scheme other
  than http(s), a literal address in any spelling, ``localhost``) and, for
  a host name, resolves it first through the same resolver (Scrapy's DNS
  cache makes the connection's own lookup a cache hit). A refused request is
  dropped with ``IgnoreRequest`` -- so it is not retried -- and gets a line
  in ``crawl.log`` (:func:`log_blocked`).

With an HTTP proxy (``HttpProxyMiddleware``) the connection goes to the
proxy, which does its own resolving: then only the URL check applies, and the
proxy's own address must be allowed (``EGRESS_ALLOW``).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import implementer

from newsarchive.discover.egress import Blocked, EgressPolicy, canonical_host, origin_of, parse_ip
from newsarchive.wiring import wiring_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from scrapy.crawler import Crawler
    from scrapy.http import Request

logger = logging.getLogger(__name__)

BLOCKED_CODE = -5002  # Heritrix's "blocked by a custom processor"
_REMEMBERED = 10_000  # refused host:port pairs, and URLs logged, kept in memory


def policy_for(crawler: Crawler) -> EgressPolicy:
    """The crawl's policy, built once from its spider's URLs and the ``EGRESS_*`` settings."""
    wiring = wiring_of(crawler)
    policy: EgressPolicy | None = wiring.egress
    if policy is None:
        spider = crawler.spider
        urls = getattr(spider, "all_urls", None) or getattr(spider, "start_urls", None) or ()
        policy = EgressPolicy.for_crawl(
            urls,
            allow=crawler.settings.getlist("EGRESS_ALLOW"),
            enabled=crawler.settings.getbool("EGRESS_ENABLED", True),
        )
        wiring.egress = policy  # shared with the browser
    return policy


def log_blocked(crawler: Crawler, url: str, blocked: Blocked) -> None:
    """Count a refused URL (``egress/blocked/REASON``) and give it its ``crawl.log`` line.

    Once per URL and crawl: a blocked image in a site's template is refused on
    every page, and is one line, not thousands.
    """
    wiring = wiring_of(crawler)
    logged = wiring.egress_logged
    if url in logged:
        return
    logged[url] = None
    if len(logged) > _REMEMBERED:
        logged.popitem(last=False)
    crawler.stats.inc_value("egress/blocked")  # type: ignore[union-attr]
    crawler.stats.inc_value(f"egress/blocked/{blocked.reason}")  # type: ignore[union-attr]
    logger.info("egress policy refused %s: %s", url, blocked)
    service = wiring.capture
    if service is not None:
        service.log_failure(BLOCKED_CODE, url, "egress", str(blocked))


def bundled_public_suffixes() -> None:
    """Make Scrapy's cookie middleware read tldextract's bundled public suffix list.

    Scrapy builds its extractor with tldextract's defaults, which download the
    list from publicsuffix.org the first time a site sets a cookie: a
    connection that is not the crawl's, from every run on a fresh machine. The
    snapshot shipped in the pinned tldextract is used instead (no cache
    directory either: nothing to go stale or be written).
    """
    from scrapy.downloadermiddlewares import cookies
    from tldextract import TLDExtract

    extractor = cookies._split_domain
    if extractor.suffix_list_urls or extractor._cache.enabled:
        cookies._split_domain = TLDExtract(
            cache_dir=None, suffix_list_urls=(), include_psl_private_domains=True
        )


@implementer(IResolutionReceiver)
class _Done:
    """Fires ``done`` when a resolution is complete."""

    def __init__(self, done: Deferred[Any]) -> None:
        self.done = done

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 (Twisted's naming)
        pass

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        pass

    def resolutionComplete(self) -> None:  # noqa: N802
        self.done.callback(None)


@implementer(IResolutionReceiver)
class _Filter:
    """Passes on the addresses the policy allows; remembers why the others were refused."""

    def __init__(self, receiver: Any, resolver: EgressResolver, host: str, port: int) -> None:
        self.receiver = receiver
        self.resolver = resolver
        self.host = host
        self.port = port
        self.passed = 0
        self.refused: Blocked | None = None

    def resolutionBegan(self, resolution: Any) -> None:  # noqa: N802 (Twisted's naming)
        self.receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # noqa: N802
        blocked = self.resolver.policy.check_address(address.host, self.host, self.port)
        if blocked is None:
            self.passed += 1
            self.receiver.addressResolved(address)
        elif self.refused is None:
            self.refused = blocked

    def resolutionComplete(self) -> None:  # noqa: N802
        if self.refused is not None and not self.passed:
            self.resolver.remember(self.host, self.port, self.refused)
        self.receiver.resolutionComplete()


@implementer(IHostnameResolver)
class EgressResolver:
    """The reactor's name resolver, keeping back the addresses the policy refuses."""

    def __init__(self, upstream: Any, policy: EgressPolicy) -> None:
        self.upstream = upstream
        self.policy = policy
        self.refused: OrderedDict[tuple[str, int], Blocked] = OrderedDict()

    @classmethod
    def install(cls, reactor: Any, policy: EgressPolicy) -> EgressResolver:
        """Wrap ``reactor``'s resolver (once per process; a later crawl's policy replaces the first's)."""
        current = reactor.nameResolver
        if isinstance(current, cls):
            current.policy = policy
            current.refused.clear()
            return current
        resolver = cls(current, policy)
        reactor.installNameResolver(resolver)
        return resolver

    def resolveHostName(  # noqa: N802 (Twisted's interface)
        self,
        resolutionReceiver: Any,  # noqa: N803
        hostName: str,  # noqa: N803
        portNumber: int = 0,  # noqa: N803
        addressTypes: Sequence[type[Any]] | None = None,  # noqa: N803
        transportSemantics: str = "TCP",  # noqa: N803
    ) -> Any:
        """Resolve through the wrapped resolver, passing on only allowed addresses."""
        return self.upstream.resolveHostName(
            _Filter(resolutionReceiver, self, hostName, portNumber),
            hostName, portNumber, addressTypes, transportSemantics,
        )

    def remember(self, host: str, port: int, blocked: Blocked) -> None:
        """Keep the reason ``host:port`` was refused (bounded)."""
        self.refused[(canonical_host(host), port)] = blocked
        if len(self.refused) > _REMEMBERED:
            self.refused.popitem(last=False)

    def check(self, host: str, port: int) -> Deferred[Blocked | None]:
        """Resolve ``host`` as a connection would; the refusal if no address is allowed, else None."""
        known = self.refused.get((canonical_host(host), port))
        result: Deferred[Blocked | None] = Deferred()
        if known is not None:
            result.callback(known)
            return result
        receiver = _Filter(_Done(result), self, host, port)
        self.upstream.resolveHostName(receiver, host, port)
        return result.addCallback(lambda _: receiver.refused if not receiver.passed else None)


class EgressMiddleware:
    """Refuses requests the egress policy forbids, before they reach the network (module docstring)."""

    def __init__(self, crawler: Crawler, policy: EgressPolicy) -> None:
        self.crawler = crawler
        self.policy = policy
        self.resolver: EgressResolver | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EgressMiddleware:
        """Build the crawl's policy; the filtering resolver goes on the reactor as the spider opens.

        Not now: ``CrawlerProcess.start()`` installs ``TWISTED_DNS_RESOLVER``
        after the middlewares are built, replacing whatever was there.
        Installed even with ``EGRESS_ENABLED`` off (it then passes every
        address), so a policy never lingers from an earlier crawl of the process.
        """
        bundled_public_suffixes()
        middleware = cls(crawler, policy_for(crawler))
        crawler.signals.connect(middleware.install, signal=signals.spider_opened)
        # Connected before the offsite filter's (priority 50, built after us), which
        # would drop a link or redirect to another host without a word.
        crawler.signals.connect(middleware.request_scheduled, signal=signals.request_scheduled)
        return middleware

    def install(self, spider: Any = None) -> EgressResolver:
        """Wrap the reactor's resolver, unless it is our wrapper already."""
        from twisted.internet import reactor

        if self.resolver is None or reactor.nameResolver is not self.resolver:  # type: ignore[attr-defined]
            self.resolver = EgressResolver.install(reactor, self.policy)
        return self.resolver

    def request_scheduled(self, request: Request, spider: Any = None) -> None:
        """Refuse a request the URL alone condemns before it is queued (no DNS here)."""
        blocked = self.policy.check_url(request.url)
        if blocked is not None:
            log_blocked(self.crawler, request.url, blocked)
            raise IgnoreRequest(f"{request.url}: {blocked}")

    async def process_request(self, request: Request, spider: Any = None) -> None:
        """Raise ``IgnoreRequest`` (logged, counted) for a request the policy refuses."""
        resolver = self.install()  # also puts it back if anything replaced it
        if not self.policy.enabled:
            return
        blocked = self.policy.check_url(request.url)
        origin = origin_of(request.url) if blocked is None else None
        if origin is not None:
            _, host, port = origin
            if parse_ip(host) is None and not self.policy.allows_endpoint(host, port):
                blocked = await maybe_deferred_to_future(resolver.check(host, port))
        if blocked is not None:
            log_blocked(self.crawler, request.url, blocked)
            raise IgnoreRequest(f"{request.url}: {blocked}")

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> None:
        """A lookup failure that is the resolver refusing every address (the name changed its
        answer since :meth:`process_request` looked): a blocked request, not a DNS error."""
        origin = origin_of(request.url)
        if self.resolver is None or origin is None or "hostname lookup" not in str(exception):
            return
        blocked = self.resolver.refused.get((origin[1], origin[2]))
        if blocked is not None:
            log_blocked(self.crawler, request.url, blocked)
            raise IgnoreRequest(f"{request.url}: {blocked}")


def refused_lookup(url: str, exception: BaseException) -> bool:
    """Whether ``exception`` is a failed lookup of ``url`` because the egress resolver
    kept every address back (a name that changed its answer): the egress middleware
    reports it as blocked, so it is no DNS failure."""
    from twisted.internet import reactor

    resolver = getattr(reactor, "nameResolver", None)
    origin = origin_of(url)
    if not isinstance(resolver, EgressResolver) or origin is None:
        return False
    return "hostname lookup" in str(exception) and (origin[1], origin[2]) in resolver.refused
