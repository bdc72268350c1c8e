"""The egress policy: which addresses a crawl may connect to.

A crawler fetches what strangers wrote. A page that links, redirects or loads
a subresource toward ``http://169.254.169.254/`` (cloud metadata), the
crawler's own loopback or the office network must not get those replies into
a published archive. So every connection a crawl makes -- Scrapy's requests,
redirects, robots.txt and sitemaps, and everything Chromium loads -- is
checked here, and by default refused when it goes to a non-public address:

======================  ==================================================
reason                  ranges
======================  ==================================================
``loopback``            127.0.0.0/8, ::1, ``localhost`` and ``*.localhost``
``private``             10/8, 172.16/12, 192.168/16 (RFC 1918)
``link-local``          169.254/16 (cloud metadata), fe80::/10
``cgnat``               100.64/10
``ula``                 fc00::/7
``this-network``        0.0.0.0/8, ::
``multicast``           224/4, ff00::/8
``reserved``            240/4, broadcast, documentation, benchmarking and
                        IETF ranges, site-local fec0::/10, anything else
                        Python's :mod:`ipaddress` does not call global
``scheme``              a URL scheme other than http(s)/ws(s)
======================  ==================================================

An address counts in every spelling a resolver or a browser accepts:
IPv4-mapped and -compatible IPv6 (``::ffff:127.0.0.1``), NAT64 and 6to4
addresses embedding an IPv4 one, and the decimal, octal, hex and short
IPv4 forms (``2130706433``, ``017700000001``, ``0x7f.1``, ``127.1``) --
:func:`parse_ip` reads them the way the WHATWG URL standard (browsers) and
``inet_aton`` (``getaddrinfo``) do.

The address is checked *after* DNS resolution, by the component that then
connects to exactly the address it checked (:mod:`.egress_scrapy` for
Scrapy, :mod:`.egress_proxy` for Chromium), so a name that resolves to a
public address when checked and a private one a moment later (DNS
rebinding) gains nothing. :meth:`EgressPolicy.check_url` is the cheap check
before resolution: literal addresses and scheme.

Allowed even when private: the origins (scheme, host, port) of the crawl's
own start URLs, so the demo site on ``127.0.0.1:PORT`` and intranet sites
still work, and what ``EGRESS_ALLOW`` (or a site file's ``allow:``) lists --
origins like ``http://10.0.0.5:8080`` or networks like ``10.20.0.0/16``.
Only the port of an allowed origin is allowed: the same host on another port
is another server. An http origin on port 80 also allows https on 443 and
the reverse, since sites redirect between the two. Public addresses are
allowed on any port: which public hosts a crawl visits is its scope
(``allowed_domains``), not a question of safety.

Everything here is pure (no I/O): the adapters resolve and connect.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from newsarchive.exceptions import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https", "ws", "wss")
LOCAL_SCHEMES = ("data", "about", "blob")  # no network: nothing to check
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

_N = ipaddress.ip_network
# Most specific first; the first range holding an address names the reason.
DENIED: tuple[tuple[IPNetwork, str], ...] = (
    (_N("0.0.0.0/8"), "this-network"),
    (_N("127.0.0.0/8"), "loopback"),
    (_N("10.0.0.0/8"), "private"),
    (_N("172.16.0.0/12"), "private"),
    (_N("192.168.0.0/16"), "private"),
    (_N("169.254.0.0/16"), "link-local"),
    (_N("100.64.0.0/10"), "cgnat"),
    (_N("224.0.0.0/4"), "multicast"),
    (_N("240.0.0.0/4"), "reserved"),  # includes 255.255.255.255
    (_N("192.0.0.0/24"), "reserved"),  # IETF protocol assignments
    (_N("192.0.2.0/24"), "reserved"),  # documentation
    (_N("198.51.100.0/24"), "reserved"),
    (_N("203.0.113.0/24"), "reserved"),
    (_N("198.18.0.0/15"), "reserved"),  # benchmarking
    (_N("192.88.99.0/24"), "reserved"),  # 6to4 relay anycast
    (_N("::/128"), "this-network"),
    (_N("::1/128"), "loopback"),
    (_N("fe80::/10"), "link-local"),
    (_N("fc00::/7"), "ula"),
    (_N("fec0::/10"), "reserved"),  # site-local, deprecated
    (_N("ff00::/8"), "multicast"),
    (_N("100::/64"), "reserved"),  # discard
    (_N("2001:db8::/32"), "reserved"),  # documentation
    (_N("2001::/32"), "reserved"),  # Teredo: the IPv4 inside is obfuscated, refuse them all
)
_NAT64 = (_N("64:ff9b::/96"), _N("64:ff9b:1::/48"))
_6TO4 = _N("2002::/16")

_LOCALHOST_RE = re.compile(r"(?:^|\.)localhost\.?$")
_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]*")
_OCT_RE = re.compile(r"0[0-7]+")
_DEC_RE = re.compile(r"0|[1-9][0-9]*")


# --- addresses ------------------------------------------------------------------
def _ipv4_number(part: str) -> int | None:
    """One part of an IPv4 address as ``inet_aton`` reads it (0x hex, 0 octal, decimal)."""
    if _HEX_RE.fullmatch(part):
        return int(part[2:] or "0", 16)
    if _OCT_RE.fullmatch(part):
        return int(part, 8)
    if _DEC_RE.fullmatch(part):
        return int(part)
    return None


def _parse_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as a (possibly short, decimal, octal or hex) IPv4 address, or None."""
    parts = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    numbers = [_ipv4_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


# A crawl checks every URL it schedules (a page's links: the same few hosts again and
# again); parsing the host each time was ~2% of a crawl's CPU (issue #19, py-spy).
# Addresses are immutable, so a bounded cache of the pure host functions is safe.
@lru_cache(maxsize=4096)
def parse_ip(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a browser or resolver accepts; None for a name.

    ``[::1]`` and ``::1``, ``fe80::1%eth0``, ``127.0.0.1``, ``2130706433``,
    ``0x7f.1``, ``017700000001`` and ``127.1`` are addresses; ``example.com``
    and ``1.2.3.4.5`` are not.
    """
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.replace("%25", "%", 1))
        except ValueError:
            return None
    return _parse_ipv4(host)


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: mapped, compatible, NAT64 or 6to4."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    value = int(ip)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, IPv4-compatible (:: and ::1 are not)
        return ipaddress.IPv4Address(value)
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip in _6TO4:
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    return None


def classify(ip: IPAddress) -> str | None:
    """Why connecting to ``ip`` is denied by default (a reason of the table above); None if public."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return classify(inner)
    for net, reason in DENIED:
        if ip.version == net.version and ip in net:
            return reason
    return None if ip.is_global else "reserved"


def is_localhost(host: str) -> bool:
    """``localhost`` and its subdomains: loopback by definition (RFC 6761), whatever DNS says."""
    return bool(_LOCALHOST_RE.search(host.lower()))


@lru_cache(maxsize=4096)
def canonical_host(host: str) -> str:
    """A host as a key: an address in its standard form (``2130706433`` -> ``127.0.0.1``), a name lower-case."""
    ip = parse_ip(host)
    if ip is not None:
        return str(ip)
    return host.strip().lower().strip("[]").rstrip(".")


# --- the policy -------------------------------------------------------------------
Origin = tuple[str, str, int]  # scheme, canonical host, port


def origin_of(url: str) -> Origin | None:
    """``(scheme, canonical host, port)`` of a URL; None if it has no host or a bad port."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not parts.hostname:
        return None
    return scheme, canonical_host(parts.hostname), port or DEFAULT_PORTS.get(scheme, 0)


@dataclass(frozen=True)
class Blocked:
    """A refused fetch: the reason (``loopback``, ``private``, ...) and what was refused."""

    reason: str
    detail: str

    def __str__(self) -> str:
        return f"blocked:egress:{self.reason} {self.detail}"


@dataclass(frozen=True)
class EgressPolicy:
    """What a crawl may connect to; build it with :meth:`for_crawl`."""

    enabled: bool = True
    endpoints: frozenset[tuple[str, int]] = frozenset()  # allowed (host, port), any address
    origins: frozenset[Origin] = frozenset()
    networks: tuple[IPNetwork, ...] = field(default=())  # allowed addresses, any port

    @classmethod
    def for_crawl(
        cls, start_urls: Iterable[str], allow: Iterable[str] = (), enabled: bool = True
    ) -> EgressPolicy:
        """The policy of a crawl of ``start_urls``, with the extra ``allow`` entries (origins or networks)."""
        origins: set[Origin] = set()
        networks: list[IPNetwork] = []
        for entry in allow:
            parsed = parse_allow(entry)
            if isinstance(parsed, tuple):
                origins.add(parsed)
            else:
                networks.append(parsed)
        for url in start_urls:
            origin = origin_of(url)
            if origin is not None:
                origins.add(origin)
        for scheme, host, port in list(origins):
            # http://h/ and https://h/ are one site that redirects between the two.
            if (scheme, port) in (("http", 80), ("https", 443)):
                origins.add(("https", host, 443) if scheme == "http" else ("http", host, 80))
        endpoints = frozenset((host, port) for _, host, port in origins)
        return cls(enabled, endpoints, frozenset(origins), tuple(networks))

    def allows_endpoint(self, host: str, port: int) -> bool:
        """True when ``host:port`` is an allowed origin's: any address it resolves to is fine."""
        return (canonical_host(host), port) in self.endpoints

    def check_address(self, ip: IPAddress | str, host: str, port: int) -> Blocked | None:
        """After DNS: may the crawl connect to ``ip`` for ``host:port``? None if so."""
        if not self.enabled or self.allows_endpoint(host, port):
            return None
        if isinstance(ip, str):
            ip = ipaddress.ip_address(ip.split("%", 1)[0])
        reason = classify(ip)
        if reason is None or any(ip.version == n.version and ip in n for n in self.networks):
            return None
        return Blocked(reason, endpoint_text(host if canonical_host(host) == str(ip) else f"{host} ({ip})", port))

    def check_url(self, url: str) -> Blocked | None:
        """Before DNS: the scheme, and a host that is an address or ``localhost``. None if it may go on.

        A host name that is not ``localhost`` passes here; its addresses are
        checked when it is resolved (:meth:`check_address`).
        """
        if not self.enabled:
            return None
        scheme = url.split(":", 1)[0].strip().lower() if ":" in url else ""
        if scheme in LOCAL_SCHEMES:
            return None
        if scheme not in SCHEMES:
            return Blocked("scheme", f"{scheme[:20]}:")
        origin = origin_of(url)
        if origin is None:  # no host, or a bad port: the fetch fails on its own
            return None
        _, host, port = origin
        if self.allows_endpoint(host, port):
            return None
        if is_localhost(host):
            return Blocked("loopback", endpoint_text(host, port))
        ip = parse_ip(host)
        return self.check_address(ip, host, port) if ip is not None else None


def endpoint_text(host: str, port: int) -> str:
    """``host:port`` for a message, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_allow(entry: str) -> Origin | IPNetwork:
    """An ``EGRESS_ALLOW`` entry: an origin (``http://10.0.0.5:8080``) or a network (``10.20.0.0/16``)."""
    text = str(entry).strip()
    if "://" in text:
        origin = origin_of(text)
        parts = urlsplit(text)
        if origin is None or origin[0] not in SCHEMES or parts.path not in ("", "/"):
            raise ConfigError(
                f"allow: {text!r} is not an origin; write scheme://host[:port] such as http://10.0.0.5:8080"
            )
        return origin
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        raise ConfigError(
            f"allow: {text!r} is neither an origin (http://host:port) nor a network (10.0.0.0/8, fd00::/8)"
        ) from None
