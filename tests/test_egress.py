"""The egress policy's pure parts: addresses in every spelling, origins, the allow list."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from newsarchive.discover.egress import (
    EgressPolicy,
    canonical_host,
    classify,
    parse_allow,
    parse_ip,
)
from newsarchive.exceptions import ConfigError


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("0X7F.0x0.0.1", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("0", "0.0.0.0"),
        ("0x", "0.0.0.0"),
        ("0xa9.254.169.254", "169.254.169.254"),
        ("2852039166", "169.254.169.254"),
        ("[::1]", "::1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[0:0:0:0:0:ffff:7f00:1]", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1%eth0"),
    ],
)
def test_every_spelling_of_an_address_is_read_as_that_address(host: str, address: str) -> None:
    assert str(parse_ip(host)) == address


@pytest.mark.parametrize(
    "host",
    ["2130706433", "017700000001", "0x7f.1", "127.1", "0x7f000001", "0177.0.0.01", "0"],
)
def test_the_spellings_mean_what_the_system_resolver_says(host: str) -> None:
    # inet_aton is what getaddrinfo uses for numeric hosts: our reading must agree.
    assert parse_ip(host) == ipaddress.IPv4Address(socket.inet_aton(host))


@pytest.mark.parametrize(
    "host",
    ["example.com", "1.2.3.4.5", "256.1.1.1", "08", "0x7g.1", "4294967296", "a.1", "", "[::zz]"],
)
def test_names_and_impossible_numbers_are_not_addresses(host: str) -> None:
    assert parse_ip(host) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::127.0.0.1", "loopback"),  # IPv4-compatible
        ("64:ff9b::7f00:1", "loopback"),  # NAT64
        ("2002:7f00:1::", "loopback"),  # 6to4
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("100.64.0.1", "cgnat"),
        ("100.127.255.254", "cgnat"),
        ("fc00::1", "ula"),
        ("fd12:3456::1", "ula"),
        ("0.0.0.0", "this-network"),
        ("0.1.2.3", "this-network"),
        ("::", "this-network"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("2001:db8::1", "reserved"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"),  # Teredo
        ("fec0::1", "reserved"),
    ],
)
def test_non_public_addresses_are_denied_with_their_reason(address: str, reason: str) -> None:
    assert classify(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"],
)
def test_public_addresses_are_allowed(address: str) -> None:
    assert classify(ipaddress.ip_address(address)) is None


def test_canonical_host_makes_one_key_of_every_spelling() -> None:
    assert canonical_host("2130706433") == canonical_host("0x7f.1") == "127.0.0.1"
    assert canonical_host("[::FFFF:127.0.0.1]") == "::ffff:7f00:1"
    assert canonical_host("Example.COM.") == "example.com"


POLICY = EgressPolicy.for_crawl(["http://127.0.0.1:8765/", "http://intranet.corp/news/"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8765/article/1",
        "http://2130706433:8765/",  # the start origin, spelt otherwise: the same server
        "http://intranet.corp/x",
        "https://intranet.corp/x",  # http on 80 also allows https on 443
        "http://example.com/",  # a public name passes before DNS; its addresses are checked later
        "https://93.184.216.34:8443/",
        "data:text/plain,hi",
    ],
)
def test_the_crawls_own_origins_and_public_hosts_pass(url: str) -> None:
    assert POLICY.check_url(url) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/", "loopback"),  # the start host on another port
        ("http://127.0.0.2:8765/", "loopback"),
        ("http://[::ffff:127.0.0.1]:8765/", "loopback"),
        ("http://[::1]:8765/", "loopback"),
        ("http://localhost:8765/", "loopback"),
        ("http://a.b.localhost/", "loopback"),
        ("http://0.0.0.0:8765/", "this-network"),
        ("http://0:8765/", "this-network"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://0xa9fea9fe/", "link-local"),
        ("ws://10.0.0.1/socket", "private"),
        ("http://intranet.corp:8080/", None),  # a name: decided after DNS
        ("file:///etc/passwd", "scheme"),
        ("ftp://example.com/", "scheme"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme"),
    ],
)
def test_other_local_addresses_are_blocked_before_dns(url: str, reason: str | None) -> None:
    blocked = POLICY.check_url(url)
    assert (blocked.reason if blocked else None) == reason
    if blocked:
        assert str(blocked).startswith(f"blocked:egress:{reason} ")


def test_addresses_are_checked_after_dns_per_host_and_port() -> None:
    assert POLICY.check_address("10.1.1.1", "intranet.corp", 80) is None  # the start origin
    blocked = POLICY.check_address("10.1.1.1", "intranet.corp", 8080)
    assert blocked is not None and blocked.reason == "private"
    assert blocked.detail == "intranet.corp (10.1.1.1):8080"
    rebound = POLICY.check_address("169.254.169.254", "news.example", 80)
    assert rebound is not None and rebound.reason == "link-local"
    assert POLICY.check_address("93.184.216.34", "news.example", 80) is None


def test_the_allow_list_takes_origins_and_networks() -> None:
    policy = EgressPolicy.for_crawl(
        ["https://news.example/"], allow=["http://10.0.0.5:8080", "192.168.0.0/16", "fd00::/8"]
    )
    assert policy.check_url("http://10.0.0.5:8080/api") is None
    assert policy.check_url("http://10.0.0.5:8081/api") is not None
    assert policy.check_url("http://192.168.3.4:1234/") is None
    assert policy.check_address("fd00::7", "cdn.example", 443) is None
    assert policy.check_url("http://127.0.0.1/") is not None


def test_a_disabled_policy_blocks_nothing() -> None:
    policy = EgressPolicy.for_crawl([], enabled=False)
    assert policy.check_url("http://169.254.169.254/") is None
    assert policy.check_address("127.0.0.1", "localhost", 80) is None


@pytest.mark.parametrize("entry", ["intranet", "http://10.0.0.5/path", "10.0.0.0/33", "ftp://10.0.0.1"])
def test_a_bad_allow_entry_is_a_one_line_config_error(entry: str) -> None:
    with pytest.raises(ConfigError, match="allow:"):
        parse_allow(entry)
