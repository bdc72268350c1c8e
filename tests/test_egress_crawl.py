"""The egress policy end to end: an SSRF canary no crawl may reach, however it is asked.

A site on 127.0.0.1 (``tests/plugins/canary.py``) reaches for a canary on
other local addresses -- another port of 127.0.0.1, 127.0.0.2,
``[::ffff:127.0.0.1]``, ``2130706433``, ``0x7f.1``, ``0.0.0.0``,
``localhost``, the machine's own name, ``[::1]`` -- and for cloud metadata,
through links, redirects, embeds and scripts. The crawl of the site itself
must work (its origin is allowed) while the canary sees no connection, and
every attempt is a ``blocked`` line in ``crawl.log``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsarchive.discover.egress import EgressPolicy
from newsarchive.fetch.egress_proxy import EgressProxy
from tests.plugins.canary import METADATA_URL, Canary, SsrfSite
from tests.plugins.collection import NEWSARCHIVE, ROOT, crawl

BLOCKED = "-5002"


def blocked_lines(out: Path) -> dict[str, str]:
    """URL -> reason of every ``blocked`` line in the collection's crawl.log."""
    lines = {}
    for line in (out / "logs" / "crawl.log").read_text().splitlines():
        fields = line.split(" ")
        if fields[1] == BLOCKED:
            assert fields[6] == "egress" and fields[8].startswith("blocked:egress:"), line
            lines[fields[3]] = " ".join(fields[8:]).removeprefix("blocked:egress:")
    return lines


def archived_urls(out: Path) -> list[str]:
    urls = []
    for path in sorted((out / "warc").glob("*.warc.gz")):
        with path.open("rb") as f:
            urls += [r.rec_headers.get_header("WARC-Target-URI") or "" for r in ArchiveIterator(f)]
    return urls


def blocked_paths(lines: dict[str, str]) -> set[str]:
    return {"/" + url.split("/", 3)[3] for url in lines if url.count("/") >= 3}


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["never", "auto", "always"])
def test_no_connection_reaches_the_canary_and_every_attempt_is_logged(
    mode: str, canary: Canary, ssrf_site: SsrfSite, tmp_path: Path
) -> None:
    out = tmp_path / "coll"
    summary = crawl(ssrf_site.url, out, "--render", mode)

    assert canary.connections == 0, canary.lines
    lines = blocked_lines(out)
    paths = blocked_paths(lines)
    # Scrapy's link and redirect requests; a host *name* (not localhost) on
    # another host is dropped by Scrapy's offsite filter before any lookup.
    named = {f"/f{i}/" for i, form in enumerate(ssrf_site.forms) if form.startswith(socket.gethostname() + ":")}

    def by_address(how: str) -> set[str]:
        return {p for p in ssrf_site.paths[how] if p[: p.index("/", 1) + 1] not in named}

    assert by_address("link") | by_address("redirect") | by_address("embed") <= paths
    if mode != "never":  # the browser loaded the embeds and ran the scripts: fetch(), XHR, WebSocket
        assert set(ssrf_site.paths["embed"]) | set(ssrf_site.paths["script"]) <= paths
    assert lines[METADATA_URL] == "link-local 169.254.169.254:80"
    assert {"loopback", "this-network", "link-local"} <= {r.split(" ")[0] for r in lines.values()}
    # counted in the summary, by reason, once per URL
    assert sum(summary["blocked"].values()) == len(lines)  # type: ignore[union-attr]
    # the site itself was crawled and archived; nothing from a refused address was
    archived = archived_urls(out)
    assert ssrf_site.url in archived
    port = f":{canary.port}/"
    assert not [u for u in archived if port in u or "169.254.169.254" in u]
    assert summary["errors"] == 0


@pytest.mark.slow
def test_the_resolver_connects_only_to_addresses_it_checked(canary: Canary, tmp_path: Path) -> None:
    # Twisted's HostnameEndpoint, as Scrapy's agent uses it, with the egress
    # resolver on the reactor: a name that resolves to loopback (the
    # machine's own name) gets no connection, whatever the URL check said.
    name = socket.gethostname()
    if not socket.gethostbyname(name).startswith("127."):
        pytest.skip("this machine's name does not resolve to loopback")
    allowed = socket.create_server(("127.0.0.1", 0))
    allowed_port = allowed.getsockname()[1]
    script = textwrap.dedent(f"""
        from twisted.internet import asyncioreactor
        asyncioreactor.install()
        from twisted.internet import reactor, defer
        from twisted.internet.endpoints import HostnameEndpoint
        from twisted.internet.protocol import Factory, Protocol
        from newsarchive.discover.egress import EgressPolicy
        from newsarchive.fetch.egress_scrapy import EgressResolver

        resolver = EgressResolver.install(reactor, EgressPolicy.for_crawl(["http://127.0.0.1:{allowed_port}/"]))
        results = []

        @defer.inlineCallbacks
        def main():
            for host, port in (({name!r}, {canary.port}), ("localhost", {canary.port}),
                               ("127.0.0.1", {canary.port}), ("127.0.0.1", {allowed_port})):
                try:
                    proto = yield HostnameEndpoint(reactor, host, port).connect(Factory.forProtocol(Protocol))
                    proto.transport.loseConnection()
                    results.append("connected")
                except Exception as exc:
                    results.append(type(exc).__name__)
            print(" ".join(results), sorted(str(b) for b in resolver.refused.values()))
            reactor.stop()

        reactor.callWhenRunning(main)
        reactor.run()
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    allowed.close()
    assert proc.returncode == 0, proc.stderr
    outcome, refused = proc.stdout.split(" ", 4)[:4], proc.stdout
    assert outcome == ["DNSLookupError", "DNSLookupError", "DNSLookupError", "connected"], proc.stdout
    assert f"blocked:egress:loopback {name} (127.0.0.1):{canary.port}" in refused
    assert canary.connections == 0


def _socks_connect(port: int, host: str, target_port: int) -> tuple[int, socket.socket]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(b"\x05\x01\x00")
    assert sock.recv(2) == b"\x05\x00"
    try:
        packed = ipaddress.ip_address(host).packed
        kind = b"\x01" if len(packed) == 4 else b"\x04"
        address = packed
    except ValueError:
        kind, address = b"\x03", bytes([len(host)]) + host.encode()
    sock.sendall(b"\x05\x01\x00" + kind + address + struct.pack("!H", target_port))
    reply = sock.recv(10)
    return reply[1], sock


@pytest.mark.slow  # Chromium
def test_the_browser_proxy_refuses_local_addresses_and_relays_the_allowed_origin(
    canary: Canary, ssrf_site: SsrfSite
) -> None:
    site_port = int(ssrf_site.url.rsplit(":", 1)[1].strip("/"))
    proxy = EgressProxy(EgressPolicy.for_crawl([ssrf_site.url]))
    port = proxy.start()
    try:
        for host in ("127.0.0.1", "127.0.0.2", "::ffff:127.0.0.1", "::1", "localhost", socket.gethostname()):
            code, sock = _socks_connect(port, host, canary.port)
            sock.close()
            assert code == 2, host  # "connection not allowed by ruleset"
            assert proxy.refusal(host, canary.port) is not None
        code, sock = _socks_connect(port, "127.0.0.1", site_port)
        assert code == 0
        sock.sendall(b"GET /robots.txt HTTP/1.0\r\nHost: x\r\n\r\n")
        body = b""
        while chunk := sock.recv(65536):
            body += chunk
        sock.close()
        assert body.startswith(b"HTTP/1.0 200") and b"User-agent: *" in body
    finally:
        proxy.close()
    assert canary.connections == 0


def test_the_browser_proxy_answers_quietly_once_the_process_is_stopping(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A crawl stopped at once shuts its thread pools down while the browser may
    # still ask the proxy for a host: the answer is "unreachable", not a traceback.
    proxy = EgressProxy(EgressPolicy.for_crawl(["http://news.example/"]))
    port = proxy.start()
    try:
        loop = proxy._loop
        assert loop is not None
        asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(10)
        with caplog.at_level(logging.DEBUG):
            code, sock = _socks_connect(port, "news.example", 80)
            sock.close()
        assert code == 4  # "host unreachable"
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    finally:
        proxy.close()


@pytest.mark.slow
def test_an_origin_allowed_in_the_site_file_is_crawled_and_no_other(
    canary: Canary, ssrf_site: SsrfSite, tmp_path: Path
) -> None:
    # allowed_domains lets links to the machine's own name past Scrapy's offsite
    # filter: the middleware resolves the name and refuses its loopback address.
    name = socket.gethostname()
    site_file = tmp_path / "hostile.yaml"
    site_file.write_text(
        f"start_urls: [{ssrf_site.url}]\ndepth: 1\nfetch_embeds: false\n"
        f"allowed_domains: [127.0.0.1, {name}]\n"
        f"allow:\n  - http://127.0.0.1:{canary.port}\n"
    )
    out = tmp_path / "coll"
    crawl(str(site_file), out, "--render", "never")
    archived = archived_urls(out)
    assert f"http://127.0.0.1:{canary.port}/f0/link" in archived
    assert canary.connections > 0
    lines = blocked_lines(out)
    assert f"http://127.0.0.1:{canary.port}/f0/link" not in lines
    assert lines[f"http://127.0.0.2:{canary.port}/f1/link"] == f"loopback 127.0.0.2:{canary.port}"
    named = [f"http://{form}/f{i}/link" for i, form in enumerate(ssrf_site.forms) if form.startswith(name + ":")]
    for url in named:  # the same canary, by a name that resolves to 127.0.0.1
        assert lines[url] == f"loopback {name} (127.0.0.1):{canary.port}"
    # refused by the middleware's own lookup, before any download: nothing to retry
    assert "retry/count" not in (out / "logs" / "scrapy.log").read_text()


@pytest.mark.slow
def test_the_public_suffix_list_is_the_bundled_one(canary: Canary, ssrf_site: SsrfSite, tmp_path: Path) -> None:
    # The site sets a cookie, so Scrapy's cookie middleware asks tldextract
    # for public suffixes; with an empty tldextract cache it would download the
    # list. Any HTTP(S) request of the process but the crawl's own (127.0.0.1)
    # goes to the canary, posing as a proxy.
    proxy = f"http://127.0.0.1:{canary.port}"
    env = {**os.environ, "HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1",
           "TLDEXTRACT_CACHE": str(tmp_path / "tldextract")}
    proc = subprocess.run(
        [*NEWSARCHIVE, "crawl", ssrf_site.url, "--out", str(tmp_path / "coll"), "--json", "--depth", "0"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["pages"] >= 1
    assert canary.connections == 0, canary.lines
    assert "publicsuffix" not in (tmp_path / "coll" / "logs" / "scrapy.log").read_text()


@pytest.mark.slow
def test_a_name_that_rebinds_to_loopback_after_the_check_gets_no_connection(
    canary: Canary, ssrf_site: SsrfSite, tmp_path: Path
) -> None:
    # The middleware's lookup sees a public address; the connection's own
    # lookup then gets 127.0.0.1, which the resolver on the reactor keeps back.
    name = socket.gethostname()
    if not any(form.startswith(name + ":") for form in ssrf_site.forms):
        pytest.skip("this machine's name does not resolve to loopback")
    out = tmp_path / "coll"
    overrides = {"TWISTED_DNS_RESOLVER": "tests.plugins.canary.RebindingResolver", "ROBOTSTXT_OBEY": False,
                 "RETRY_ENABLED": False, "PROGRESS_ENABLED": False, "RENDER_MODE": "never"}
    kwargs = {"start_urls": [ssrf_site.url], "allowed_domains": ["127.0.0.1", name], "depth": 1,
              "fetch_embeds": False}
    code = ("import json, sys; from pathlib import Path; from newsarchive.crawl import run_crawl; "
            "s = run_crawl(Path(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])); "
            "print(json.dumps(s.as_dict()))")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out), json.dumps(kwargs), json.dumps(overrides)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert canary.connections == 0, canary.lines
    log = (out / "logs" / "scrapy.log").read_text()
    assert f"no results for hostname lookup: {name}" not in log  # not reported as a DNS failure...
    lines = blocked_lines(out)  # ...but as refused, after the download's own lookup
    assert lines[f"http://{name}:{canary.port}/f7/link"] == f"loopback {name} (127.0.0.1):{canary.port}"
    assert not [u for u in archived_urls(out) if u.startswith(f"http://{name}:")]


@pytest.mark.slow  # Chromium
def test_chromium_is_routed_through_the_proxy_and_a_proxy_of_its_own_is_refused() -> None:
    from scrapy.utils.test import get_crawler

    from newsarchive.exceptions import ConfigError
    from newsarchive.fetch import egress_browser
    from newsarchive.fetch.render.config import RenderConfig
    from newsarchive.wiring import wiring_of

    crawler = get_crawler()
    wiring_of(crawler).egress = EgressPolicy.for_crawl(["http://127.0.0.1:8765/"])
    try:
        args = egress_browser.route(crawler, RenderConfig(extra_args=("--lang=en",))).extra_args
        proxy = [a for a in args if a.startswith("--proxy-server=socks5://127.0.0.1:")]
        assert args[0] == "--lang=en" and len(proxy) == 1 and "--proxy-bypass-list=<-loopback>" in args
        port = int(proxy[0].rsplit(":", 1)[1])
        code, sock = _socks_connect(port, "169.254.169.254", 80)
        sock.close()
        assert code == 2
    finally:
        egress_browser.close(crawler)
    with pytest.raises(ConfigError, match="RENDER_CHROMIUM_ARGS sets a proxy"):
        egress_browser.route(crawler, RenderConfig(extra_args=("--proxy-server=http://10.0.0.1:3128",)))
