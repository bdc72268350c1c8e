"""The bundled demo news site: structure, HTTP behaviours, instrumentation, truth.

Everything is fetched over loopback from a real server, with http.client (which
does not decode gzip or follow redirects) or a raw socket where the framing
matters.
"""

from __future__ import annotations

import gzip
import html
import http.client
import json
import re
import socket
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from newsarchive.demosite import DemoSite
from newsarchive.demosite import site as S
from newsarchive.demosite.content import NEW_PER_DAY, ArticleWriter
from newsarchive.demosite.portal import FIXTURE_PATH

DATA = Path(__file__).parent / "data" / "wire-story"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def get(site: DemoSite, path: str, **headers: str) -> tuple[http.client.HTTPResponse, bytes]:
    """GET ``path``; the body as sent (not decompressed), redirects not followed."""
    conn = http.client.HTTPConnection(site.host, site.port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp, resp.read()
    finally:
        conn.close()


def raw_get(site: DemoSite, path: str, **headers: str) -> tuple[bytes, bytes]:
    """GET over a bare socket: (header block, body bytes exactly as framed on the wire)."""
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    with socket.create_connection((site.host, site.port), timeout=10) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {site.host}\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def tokens(text: str) -> str:
    """Text normalised like the sidecar checker does (NFKC, lower case, word tokens)."""
    return " ".join(re.findall(r"\w+", unicodedata.normalize("NFKC", text).lower()))


def by_template(site: DemoSite) -> dict[str, list]:
    out: dict[str, list] = {}
    for a in site.articles:
        out.setdefault(a.template, []).append(a)
    return out


# -- site structure ------------------------------------------------------------


def test_robots_disallows_private_and_names_sitemaps(demo_site: DemoSite) -> None:
    resp, body = get(demo_site, "/robots.txt")
    text = body.decode()
    assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/plain")
    assert "User-agent: *" in text and "Disallow: /private/" in text
    assert f"Sitemap: {demo_site.url}sitemap.xml" in text
    assert f"Sitemap: {demo_site.url}news-sitemap.xml" in text
    # the disallowed page is real and linked, so a crawler ignoring robots would fetch it
    assert get(demo_site, S.PRIVATE_PATH)[0].status == 200
    assert f'href="{S.PRIVATE_PATH}"'.encode() in get(demo_site, "/")[1]
    flagged = [p.path for p in demo_site.pages() if p.disallowed]
    assert flagged == [S.PRIVATE_PATH]


def test_sitemap_index_lists_every_article_with_lastmod(demo_site: DemoSite) -> None:
    index = ET.fromstring(get(demo_site, "/sitemap.xml")[1])
    children = [e.findtext(f"{SM}loc") for e in index.iter(f"{SM}sitemap")]
    assert demo_site.urljoin("/sitemap-articles.xml") in children
    assert demo_site.urljoin("/news-sitemap.xml") in children
    urlset = ET.fromstring(get(demo_site, "/sitemap-articles.xml")[1])
    entries = {u.findtext(f"{SM}loc"): u.findtext(f"{SM}lastmod") for u in urlset.iter(f"{SM}url")}
    assert set(entries) == {demo_site.urljoin(a.path) for a in demo_site.articles}
    assert all(m and m.startswith("2026-") for m in entries.values())


def test_news_sitemap_has_publication_date_and_title(demo_site: DemoSite) -> None:
    root = ET.fromstring(get(demo_site, "/news-sitemap.xml")[1])
    items = list(root.iter(f"{SM}url"))
    assert len(items) >= 10
    newest = demo_site.articles[::-1]
    for url, article in zip(items, newest, strict=False):
        assert url.findtext(f"{SM}loc") == demo_site.urljoin(article.path)
        news = url.find(f"{NEWS}news")
        assert news.findtext(f"{NEWS}publication/{NEWS}name") == "The Loopback Courier"
        assert news.findtext(f"{NEWS}publication_date").startswith(article.published[:16])
        assert news.findtext(f"{NEWS}title") == article.title


def test_feeds_parse_and_link_the_latest_articles(demo_site: DemoSite) -> None:
    resp, body = get(demo_site, "/feed.xml", **{"Accept-Encoding": "gzip"})
    assert resp.getheader("Content-Encoding") == "gzip"
    rss = ET.fromstring(gzip.decompress(body))
    links = [i.findtext("link") for i in rss.iter("item")]
    assert links[0] == demo_site.urljoin(demo_site.articles[-1].path)
    assert len(links) == 30
    atom = ET.fromstring(gzip.decompress(get(demo_site, "/atom.xml", **{"Accept-Encoding": "gzip"})[1]))
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert entries[0].findtext("{http://www.w3.org/2005/Atom}title") == demo_site.articles[-1].title


def test_home_and_section_fronts_reach_every_article(demo_site: DemoSite) -> None:
    home = get(demo_site, "/")[1].decode()
    for section in ("world", "business", "science"):
        assert f'href="/{section}/"' in home
    linked: set[str] = set()
    for page in demo_site.pages():
        if page.kind == "section":
            linked |= set(re.findall(r'href="(/[a-z]+/2026/[^"]+)"', get(demo_site, page.path)[1].decode()))
    assert linked == {a.path for a in demo_site.articles}


def test_a_crawl_from_home_finds_exactly_the_listed_pages(demo_site: DemoSite) -> None:
    """pages() is what a complete crawl (links, sitemaps, feeds, redirects) meets."""
    base = demo_site.url.rstrip("/")
    seen: set[str] = set()
    queue = ["/", "/robots.txt"]
    while queue:
        path = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        resp, body = get(demo_site, path, **{"Accept-Encoding": "gzip"})
        if resp.getheader("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if resp.getheader("Location"):
            queue.append(resp.getheader("Location").removeprefix(base))
        ctype = resp.getheader("Content-Type") or ""
        if path == FIXTURE_PATH or not ("html" in ctype or "xml" in ctype or "text" in ctype):
            continue  # the fixture's links point to news.example.com
        text = body.decode("utf-8", "replace")
        found = re.findall(r'(?:href|src)=["\']([^"\']+)["\']|<(?:loc|link|id)>([^<]+)<|Sitemap: (\S+)', text)
        for groups in found:
            link = next(g for g in groups if g)
            if link.startswith(base):
                link = link.removeprefix(base)
            if link.startswith("/") and not link.startswith("//"):
                queue.append(link)
    assert seen == {p.path for p in demo_site.pages()}


def test_pages_report_the_status_and_type_served(demo_site: DemoSite) -> None:
    for page in demo_site.pages():
        resp, _ = get(demo_site, page.path)
        assert (resp.status, resp.getheader("Content-Type")) == (page.status, page.content_type), page
        assert page.url == demo_site.urljoin(page.path)


# -- HTTP behaviours -------------------------------------------------------------


def test_gzip_page_is_sent_compressed_and_sent_records_the_wire_bytes(demo_site: DemoSite) -> None:
    article = by_template(demo_site)["portal"][0]
    resp, body = get(demo_site, article.path, **{"Accept-Encoding": "gzip, deflate"})
    assert resp.getheader("Content-Encoding") == "gzip"
    assert int(resp.getheader("Content-Length")) == len(body)
    assert demo_site.sent[article.path] == body
    html = gzip.decompress(body).decode("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "caas-body" in html
    # a client that does not accept gzip gets the same page uncompressed
    resp, plain = get(demo_site, article.path, **{"Accept-Encoding": "gzip;q=0, identity"})
    assert resp.getheader("Content-Encoding") is None and plain.decode() == html
    assert demo_site.sent[article.path] == plain


def test_chunked_page_really_is_chunked(demo_site: DemoSite) -> None:
    article = by_template(demo_site)["divsoup"][0]
    head, framed = raw_get(demo_site, article.path)
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    pieces, rest = [], framed
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        pieces.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]
    assert len(pieces) >= 3
    assert b"".join(pieces) == demo_site.sent[article.path]
    assert b'class="c-paragraph"' in b"".join(pieces)


def test_classic_pages_carry_content_length_and_keep_alive_works(demo_site: DemoSite) -> None:
    conn = http.client.HTTPConnection(demo_site.host, demo_site.port, timeout=10)
    sockets = set()
    for article in by_template(demo_site)["classic"][:3] + by_template(demo_site)["divsoup"][:2]:
        conn.request("GET", article.path)
        resp = conn.getresponse()
        body = resp.read()
        sockets.add(id(conn.sock))
        assert resp.status == 200 and resp.version == 11
        if article.template == "classic":
            assert int(resp.getheader("Content-Length")) == len(body)
    conn.close()
    assert len(sockets) == 1  # one connection served all five


def test_redirects_301_and_302(demo_site: DemoSite) -> None:
    oldest = demo_site.articles[0]
    resp, body = get(demo_site, f"/old/{oldest.slug}")
    assert resp.status == 301 and resp.getheader("Location") == demo_site.urljoin(oldest.path)
    assert b"moved" in body
    resp, _ = get(demo_site, "/latest")
    assert resp.status == 302
    assert resp.getheader("Location") == demo_site.urljoin(demo_site.articles[-1].path)
    home = get(demo_site, "/")[1].decode()
    assert 'href="/latest"' in home and f'href="/old/{oldest.slug}"' in home


def test_unknown_paths_get_a_404_page(demo_site: DemoSite) -> None:
    for path in ("/no/such/page.html", S.BROKEN_PATH):
        resp, body = get(demo_site, path)
        assert resp.status == 404
        assert resp.getheader("Content-Type") == "text/html; charset=utf-8"
        assert b"<h1>Page not found</h1>" in body
    assert f'href="{S.BROKEN_PATH}"'.encode() in get(demo_site, "/")[1]


def test_non_utf8_article_declares_windows_1252(demo_site: DemoSite) -> None:
    article = demo_site.articles[S.NON_UTF8_INDEX]
    assert article.charset == "windows-1252"
    resp, body = get(demo_site, article.path)
    assert resp.getheader("Content-Type") == "text/html; charset=windows-1252"
    assert b'<meta charset="windows-1252">' in body
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("windows-1252")
    assert "\u201c" in text  # curly quotes, bytes 0x93/0x94 in this charset
    assert all(html.escape(p) in text for p in article.paragraphs)


def test_page_without_charset(demo_site: DemoSite) -> None:
    resp, _ = get(demo_site, S.ABOUT_PATH)
    assert resp.status == 200 and resp.getheader("Content-Type") == "text/html"


def test_png_pdf_css(demo_site: DemoSite) -> None:
    resp, png = get(demo_site, "/static/img/photo.png")
    assert resp.getheader("Content-Type") == "image/png"
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png[12:16] == b"IHDR" and png.endswith(
        b"IEND\xaeB`\x82")
    assert get(demo_site, "/ad.png")[1].startswith(b"\x89PNG")
    resp, pdf = get(demo_site, S.PDF_PATH)
    assert resp.getheader("Content-Type") == "application/pdf"
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref : xref + 4] == b"xref"
    pdf_article = demo_site.articles[S.PDF_INDEX]
    page = get(demo_site, pdf_article.path, **{"Accept-Encoding": "identity"})[1]
    assert f'href="{S.PDF_PATH}"'.encode() in page
    resp, css = get(demo_site, "/static/site.css")
    assert resp.getheader("Content-Type") == "text/css; charset=utf-8" and b"body {" in css


def test_etag_revalidation(demo_site: DemoSite) -> None:
    path = demo_site.articles[0].path
    resp, _ = get(demo_site, path)
    resp2, body = get(demo_site, path, **{"If-None-Match": resp.getheader("ETag")})
    assert resp2.status == 304 and body == b""


# -- templates and truth ---------------------------------------------------------


def test_three_templates_with_ads_and_related_rails(demo_site: DemoSite) -> None:
    groups = by_template(demo_site)
    assert set(groups) >= {"classic", "divsoup", "portal"}
    markers = {"classic": b'<div class="ad-slot" ', "divsoup": b"c-promo--sponsored",
               "portal": b"<div class='caas-da'>"}
    paths = {a.path for a in demo_site.articles}
    for name, marker in markers.items():
        for article in groups[name][:3]:
            resp, body = get(demo_site, article.path, **{"Accept-Encoding": "identity"})
            assert body.count(marker) == article.ads_count >= 1
            rail = re.findall(rf"href=['\"]{re.escape(demo_site.base_url)}(/[^'\"]+)['\"]",
                              body.decode(article.charset))
            assert set(article.related) <= set(rail) and set(rail) <= paths | {article.path}
            assert len(article.related) >= 5
    for article in groups["portal"]:
        assert article.wire and article.dateline and article.paragraphs[0].startswith(article.dateline)


def test_portal_keeps_the_fixture_chrome() -> None:
    fixture = (DATA / "yahoo.html").read_text(encoding="utf-8")
    with DemoSite(articles=6) as site:
        article = by_template(site)["portal"][0]
        page = get(site, article.path, **{"Accept-Encoding": "identity"})[1].decode()

    def outline(html: str) -> set[tuple[str, str, str]]:
        """(tag, id without digits, class) of every element that has an id or class."""
        out = set()
        for tag, attrs in re.findall(r"<(\w+)([^>]*)>", html):
            ident = re.search(r"id='([^']*)'", attrs)
            cls = re.search(r"class='([^']*)'", attrs)
            if ident or cls:
                out.add((tag, re.sub(r"\d+", "N", ident[1]) if ident else "", cls[1] if cls else ""))
        return out

    assert outline(page) == outline(fixture)


def test_fixture_page_is_served_byte_for_byte(demo_site: DemoSite) -> None:
    resp, body = get(demo_site, FIXTURE_PATH, **{"Accept-Encoding": "gzip"})
    assert resp.status == 200 and resp.getheader("Content-Encoding") is None
    assert body == (DATA / "yahoo.html").read_bytes()
    expected = json.loads((DATA / "yahoo.expected.json").read_text(encoding="utf-8"))
    assert demo_site.expected_sidecar(demo_site.urljoin(FIXTURE_PATH)) == expected


def test_expected_sidecars_are_consistent_with_the_pages(demo_site: DemoSite) -> None:
    keys = set(json.loads((DATA / "yahoo.expected.json").read_text(encoding="utf-8")))
    for article in demo_site.articles:
        exp = demo_site.expected_sidecar(demo_site.urljoin(article.path))
        assert set(exp) == keys
        assert exp["paragraphs"] == list(article.paragraphs) and 4 <= len(article.paragraphs) <= 10
        assert 1 <= len(article.authors) <= 2 and exp["published"].startswith("2026-")
        page = get(demo_site, article.path, **{"Accept-Encoding": "identity"})[1]
        page_text = tokens(html.unescape(re.sub(r"<[^>]+>", " ", page.decode(article.charset))))
        story = tokens("\n".join(article.paragraphs))
        for bad in exp["must_not_contain"]:
            assert tokens(bad) in page_text, (article.path, bad)  # it is on the page...
            assert tokens(bad) not in story, (article.path, bad)  # ...but not in the story
        for rel in exp["related"]:
            assert rel["url"] == demo_site.urljoin(demo_site.article(rel["url"]).path)
        if article.wire == "AP":
            assert article.paragraphs[0].startswith(f"{article.dateline} (AP) — ")
            assert article.publisher == "The Associated Press"


def test_paragraphs_and_titles_are_unique_across_the_site() -> None:
    with DemoSite(articles=500) as site:
        paragraphs = Counter(p for a in site.articles for p in a.paragraphs)
        titles = Counter(a.title for a in site.articles)
        assert max(paragraphs.values()) == 1 and max(titles.values()) == 1
        assert len({a.section for a in site.articles}) == 3
        publishers = Counter(a.publisher for a in site.articles)
        assert {"The Associated Press", "Reuters", "The Loopback Courier"} <= set(publishers)


# -- days, determinism, scale ------------------------------------------------------


def test_day_two_adds_articles_everywhere(make_demo_site) -> None:
    site = make_demo_site(articles=30)
    day1 = {a.path: a for a in site.articles}
    before = {p: get(site, p, **{"Accept-Encoding": "identity"})[1] for p in list(day1)[:15]}
    site.set_day(2)
    new = [a for a in site.articles if a.path not in day1]
    assert len(new) == NEW_PER_DAY and all(a.day == 2 for a in new)
    assert all(a.published > max(d.published for d in day1.values()) for a in new)
    home = get(site, "/")[1].decode()
    feed = get(site, "/feed.xml", **{"Accept-Encoding": "identity"})[1].decode()
    sitemap = get(site, "/sitemap-articles.xml")[1].decode()
    news = get(site, "/news-sitemap.xml")[1].decode()
    index = get(site, "/sitemap.xml")[1].decode()
    assert new[-1].published.replace("Z", "+00:00") in index  # the index's lastmod moved on
    for article in new:
        assert get(site, article.path)[0].status == 200
        assert f'href="{article.path}"' in home
        assert site.urljoin(article.path) in feed and site.urljoin(article.path) in sitemap
        assert site.urljoin(article.path) in news
    for path, old in before.items():
        now = get(site, path, **{"Accept-Encoding": "identity"})[1]
        assert (now != old) == day1[path].rotating_ads, path  # only rotating ads changed
        assert site.article(path).paragraphs == day1[path].paragraphs


def test_day_two_articles_do_not_exist_on_day_one(make_demo_site) -> None:
    later = make_demo_site(articles=20, day=2)
    first = make_demo_site(articles=20)
    new = [a for a in later.articles if a.day == 2]
    assert new and all(get(first, a.path)[0].status == 404 for a in new)


def test_two_sites_are_identical(make_demo_site) -> None:
    a, b = make_demo_site(articles=40), make_demo_site(articles=40)
    assert [p.path for p in a.pages()] == [p.path for p in b.pages()]
    for page in a.pages():
        body_a = get(a, page.path)[1].replace(a.base_url.encode(), b"BASE")
        body_b = get(b, page.path)[1].replace(b.base_url.encode(), b"BASE")
        assert body_a == body_b, page.path


def test_two_thousand_articles_build_quickly() -> None:
    import time

    started = time.process_time()  # CPU time: the test machine is shared
    with DemoSite(articles=2000) as site:
        built = time.process_time() - started
        assert len(site.articles) == 2000
        assert get(site, site.articles[-1].path)[0].status == 200
        assert any(p.path == "/world/page/30/" for p in site.pages())
    assert built < 3, f"built in {built:.1f}s of CPU"


def test_large_sites_reuse_their_articles_from_the_disk_cache(monkeypatch, tmp_path) -> None:
    from newsarchive.demosite import articlecache

    monkeypatch.setenv("NEWSARCHIVE_CACHE_DIR", str(tmp_path))
    pattern = (False, True)
    monkeypatch.setattr(articlecache, "CACHE_FROM", 10**9)
    fresh = ArticleWriter(200, pattern).articles(260)  # written, no cache involved
    fresh_small = ArticleWriter(150, pattern).articles(150)
    assert not list(tmp_path.rglob("*.pickle"))
    monkeypatch.setattr(articlecache, "CACHE_FROM", 50)
    assert ArticleWriter(200, pattern).articles(200) == fresh[:200]
    assert len(list(tmp_path.rglob("*.pickle"))) == 1

    def no_writing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("written again instead of read from the cache")

    with monkeypatch.context() as m:
        m.setattr(ArticleWriter, "_write", no_writing)
        assert ArticleWriter(200, pattern).articles(200) == fresh[:200]
        # Another size of site: same texts, its own publication times.
        assert ArticleWriter(150, pattern).articles(150) == fresh_small
    # More than the cache holds: the rest is written, exactly as without the cache.
    assert ArticleWriter(200, pattern).articles(260) == fresh
    assert ArticleWriter(200, (True,)).articles(60) != fresh[:60]  # another pattern, other file
    (path,) = [p for p in tmp_path.rglob("*.pickle")
               if p == articlecache.cache_path("newsarchive-demo-2026", pattern)]
    path.write_bytes(b"not a pickle")
    assert ArticleWriter(200, pattern).articles(200) == fresh[:200]
    # A file of an older version of the writer is removed when the current one is written.
    old = path.with_name(path.name.rsplit("-", 1)[0] + "-0123456789abcdef.pickle")
    old.write_bytes(b"older")
    path.unlink()
    assert ArticleWriter(200, pattern).articles(200) == fresh[:200]
    assert path.exists() and not old.exists()


# -- instrumentation -------------------------------------------------------------


def test_requests_are_recorded_with_headers(make_demo_site) -> None:
    site = make_demo_site(articles=6)
    get(site, "/", **{"User-Agent": "probe/1"})
    get(site, "/nothing-here")
    conn = http.client.HTTPConnection(site.host, site.port, timeout=10)
    conn.request("HEAD", "/robots.txt")
    resp = conn.getresponse()
    resp.read()
    conn.close()
    assert [(r.method, r.path, r.status) for r in site.requests] == [
        ("GET", "/", 200), ("GET", "/nothing-here", 404), ("HEAD", "/robots.txt", 200)]
    assert site.requests[0].header("user-agent") == "probe/1"
    assert "/robots.txt" not in site.sent and site.sent["/nothing-here"].startswith(b"<!DOCTYPE")
    site.reset_log()
    assert site.requests == [] and site.sent == {}


def test_a_new_template_can_be_registered(make_demo_site) -> None:
    from newsarchive.demosite.templates import ArticleTemplate, Resource, register_template

    class Bare(ArticleTemplate):
        name = "test-bare"
        labels = ("Sponsored",)

        def render(self, article, ctx):
            return f"<html><body><div id='root' data-src='/api/{article.number}.json'></div></body></html>"

        def resources(self, article, ctx):
            yield Resource(f"/api/{article.number}.json", "application/json",
                           lambda: json.dumps({"title": article.title}).encode())

    register_template(Bare(), weight=0)  # registered, but not in the default rotation
    site = make_demo_site(articles=6, templates=("classic", "test-bare"))
    bare = [a for a in site.articles if a.template == "test-bare"]
    assert len(bare) == 3
    resp, body = get(site, f"/api/{bare[0].number}.json")
    assert resp.status == 200 and json.loads(body) == {"title": bare[0].title}
    default = make_demo_site(articles=6)
    assert "test-bare" not in {a.template for a in default.articles}
    try:  # a site keeps the rotation it was built with, on later days too
        register_template(Bare(), weight=1)
        default.set_day(2)
        assert "test-bare" not in {a.template for a in default.articles}
    finally:
        register_template(Bare(), weight=0)


def test_a_large_site_numbers_repeats_instead_of_failing() -> None:
    seen: set[str] = set()
    texts = [ArticleWriter._unique(seen, lambda: "Markets rally") for _ in range(4)]
    assert texts == ["Markets rally", "Markets rally (2)", "Markets rally (3)", "Markets rally (4)"]
    assert seen == set(texts)


# -- CLI -------------------------------------------------------------------------


NEWSARCHIVE = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "newsarchive"


@pytest.mark.slow  # the demo site in a process of its own
def test_cli_serves_until_interrupted() -> None:
    import signal
    import subprocess
    import urllib.request

    # started as `newsarchive demo-site &` starts it: with SIGINT ignored, which Python keeps
    proc = subprocess.Popen([str(NEWSARCHIVE), "demo-site", "--port", "0", "--articles", "5"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", line)[1]
        assert "5 articles" in line
        with urllib.request.urlopen(url + "robots.txt", timeout=10) as resp:
            assert b"Disallow: /private/" in resp.read()
    finally:
        proc.send_signal(signal.SIGINT)
        # Generous: what is asserted is the exit code, on a machine that may be loaded.
        try:
            _, stderr = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()  # a failed test leaves no server behind
            proc.communicate()
            raise
    assert proc.returncode == 130, stderr[-2000:]


@pytest.mark.parametrize(("args", "message"), [
    (["--articles", "0"], "--articles must be between 1 and 100,000, not 0"),
    (["--articles", "100001"], "--articles must be between 1 and 100,000, not 100001"),
    (["--day", "0"], "--day must be at least 1"),
    (["--port", "70000"], "--port must be between 0 and 65535"),
])
def test_cli_rejects_bad_options_in_one_line(args: list[str], message: str) -> None:
    import subprocess

    proc = subprocess.run([str(NEWSARCHIVE), "demo-site", *args], capture_output=True, text=True,
                          timeout=30, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2
    assert len(lines) == 1 and lines[0].startswith(f"newsarchive: error: {message}")


def test_cli_port_in_use_is_one_line() -> None:
    import subprocess

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run([str(NEWSARCHIVE), "demo-site", "--port", str(port)],
                              capture_output=True, text=True, timeout=30, check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"newsarchive: error: cannot listen on 127.0.0.1:{port}: "
                                   "Address already in use; pick another --port")
