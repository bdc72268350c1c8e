"""One parse per page: render detection and the link pass read the same tree (issue #19)."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from newsarchive.discover.links import extract_links
from newsarchive.discover.parsed import html_tree
from newsarchive.fetch.render.detect import render_reason

PAGE = (b"<html><head><link rel=stylesheet href=/s.css></head><body>"
        b"<div id=root></div><script src=/app.js></script><a href=/next#x>next</a>"
        b"</body></html>")


def test_a_response_is_parsed_once_and_both_readers_agree_with_their_own_parse() -> None:
    response = HtmlResponse("http://example.com/a", body=PAGE)
    tree = html_tree(response)
    assert tree is not None and html_tree(response) is tree
    shared = extract_links(response.body, response.url, tree)
    own = extract_links(response.body, response.url)
    assert shared == own
    assert shared.links == ["http://example.com/next"]
    assert shared.embeds == ["http://example.com/s.css", "http://example.com/app.js"]
    assert render_reason(response.body, tree) == render_reason(response.body) == "empty app root"


def test_an_empty_or_junk_body_has_no_tree_and_no_links() -> None:
    assert html_tree(HtmlResponse("http://example.com/", body=b"")) is None
    assert extract_links(b"   ", "http://example.com/").links == []


def test_links_resolved_once_per_site_are_what_urljoin_gives_on_each_page() -> None:
    """The link pass's per-site cache never changes where a link leads."""
    from urllib.parse import urldefrag, urljoin

    bases = ["http://example.com/a/b/c.html?q=1", "https://example.com:8443/x/",
             "http://user@example.com/deep/page", "https://example.com", "http://[::1]:8080/p"]
    hrefs = ["/next#frag", "/", "/a/../b/./c?x=1&y=2", "/%7Euser/", "/\t/evil.example/x",
             "//cdn.example/s.css", "/\\evil.example/", "http://other.example/a?#",
             "https://example.com/p?", "HTTP://Upper.example/", "rel/path", "../up", "?only=query",
             "/ space /x", "http://example.com/\u00e9t\u00e9", "/a\nb"]
    for base in bases:
        body = ('<meta charset="utf-8">'
                + "".join(f'<a href="{h}">x</a><img src="{h}">' for h in hrefs)).encode()
        for _ in range(2):  # the second page of the site is answered from the cache
            links = extract_links(body, base)
            expected: list[str] = []
            for href in hrefs:
                url = urldefrag(urljoin(base, href.strip()))[0]
                if url.startswith(("http://", "https://")) and url not in expected:
                    expected.append(url)
            assert links.links == expected, base
            assert links.embeds == expected, base
