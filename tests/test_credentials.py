"""Credentials: a site file's secrets (from environment variables) and DEFAULT_REQUEST_HEADERS
reach the server, and nothing of them reaches any output: WARC, sidecars, indexes,
catalog, logs, state, the crawl's own output, the WACZ export."""

from __future__ import annotations

import base64
import gzip
import http.server
import io
import os
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from newsarchive.capture import records
from newsarchive.discover.site import load_site
from newsarchive.exceptions import ConfigError
from newsarchive.fetch.exchange import Exchange
from tests.plugins.warcs import read_records

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))

KEY, SESSION, PASSWORD = "canary-key-7Qx2", "canary-session-9Vb4", "canary-password-3Lm8"
BEARER, PAYWALL = "canary-bearer-5Tz1", "canary-paywall-8Kd6"
CANARIES = (KEY, SESSION, PASSWORD, BEARER, PAYWALL)
BASIC = base64.b64encode(f"archivist:{PASSWORD}".encode()).decode()


def article(n: int) -> bytes:
    words = f"Members-only story {n}: the harbour wall will be rebuilt before winter, the council said. "
    return (f"<html><head><title>Private story {n}</title></head><body><article>"
            f"<h1>Private story {n}</h1>" + f"<p>{words * 4}</p>" * 4 +
            "</article></body></html>").encode()


class PaywallHandler(http.server.BaseHTTPRequestHandler):
    """Pages only for requests that carry the credentials; every request's headers kept."""

    seen: list[dict[str, str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.seen.append(dict(self.headers.items()))
        if self.path == "/robots.txt":
            return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
        auth = self.headers.get("Authorization", "")
        if auth not in (f"Basic {BASIC}", f"Bearer {BEARER}"):
            return self._send(401, b"<html><body><p>Subscribers only</p></body></html>")
        pages = {"/": b"<html><body><a href='/a1.html'>one</a> <a href='/a2.html'>two</a>"
                      b"</body></html>",
                 "/a1.html": article(1), "/a2.html": article(2)}
        if self.path not in pages:
            return self._send(404, b"<html><body>not here</body></html>")
        self._send(200, pages[self.path])

    def _send(self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "served=by-the-site; Path=/")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def paywall() -> Iterator[str]:
    PaywallHandler.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PaywallHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def site_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "paywalled.yaml"
    path.write_text(f"""name: paywalled
start_urls: [{url}]
depth: 1
render: never
credentials:
  headers:
    X-Api-Key: "${{NA_TEST_KEY}}"
  cookies:
    session: "${{NA_TEST_SESSION}}"
  basic_auth:
    user: archivist
    password: "${{NA_TEST_PASSWORD}}"
""")
    return path


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([NEWSARCHIVE, *args], capture_output=True, timeout=300,
                          env={**os.environ, **(env or {})}, check=False)


def contents(path: Path) -> Iterator[tuple[str, bytes]]:
    """Every file's bytes, decompressed when gzipped, and every member of a zip (WACZ)."""
    data = path.read_bytes()
    yield str(path), data
    if data[:2] == b"\x1f\x8b":
        yield f"{path} (gunzipped)", gzip.decompress(data)
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                member = archive.read(name)
                yield f"{path}!{name}", member
                if member[:2] == b"\x1f\x8b":
                    yield f"{path}!{name} (gunzipped)", gzip.decompress(member)


@pytest.mark.slow
def test_canary_secrets_reach_the_server_and_no_output(tmp_path: Path, paywall: str) -> None:
    coll = tmp_path / "coll"
    env = {"NA_TEST_KEY": KEY, "NA_TEST_SESSION": SESSION, "NA_TEST_PASSWORD": PASSWORD}
    first = run("crawl", str(site_file(tmp_path, paywall)), "--out", str(coll), "--json", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    got = [h for h in PaywallHandler.seen if h.get("Authorization") == f"Basic {BASIC}"]
    assert len(got) >= 3  # the start page and both articles, authorised
    assert all(h.get("X-Api-Key") == KEY and f"session={SESSION}" in h.get("Cookie", "")
               for h in got)
    PaywallHandler.seen = []
    second = run("-vv", "crawl", paywall, "--out", str(coll), "--json", "--recrawl", "--render", "never",
                 "-s", f'DEFAULT_REQUEST_HEADERS={{"Authorization": "Bearer {BEARER}", '
                       f'"Cookie": "paywall={PAYWALL}"}}',
                 "-s", "COOKIES_ENABLED=false")  # else Scrapy's cookie jar drops the header
    assert second.returncode == 0, second.stderr[-2000:]
    assert any(h.get("Authorization") == f"Bearer {BEARER}" and PAYWALL in h.get("Cookie", "")
               for h in PaywallHandler.seen)
    wacz = tmp_path / "export.wacz"
    export = run("export", str(coll), "--format", "wacz", "--out", str(wacz))
    assert export.returncode == 0, export.stderr[-2000:]

    # The crawl archived the private pages (auth worked) ...
    sidecars = b"".join(data for _, data in contents(next((coll / "sidecars").glob("*.gz"))))
    assert b"Members-only story 1" in sidecars
    # ... and no byte of any secret is in any output.
    outputs = [p for p in [*coll.rglob("*"), wacz] if p.is_file()]
    assert len(outputs) > 8
    for path in outputs:
        for where, data in contents(path):
            for canary in CANARIES:
                assert canary.encode() not in data, f"{canary} in {where}"
            assert BASIC.encode() not in data, f"basic credentials in {where}"
    for proc in (first, second, export):
        for canary in CANARIES:
            assert canary.encode() not in proc.stdout + proc.stderr

    # Request records say what was redacted; the site's own Set-Cookie is kept.
    redacted, set_cookies = set(), 0
    for warc in (coll / "warc").glob("*.warc.gz"):
        with open(warc, "rb") as fh:
            for rec in read_records(fh):
                if rec.rec_type == "request":
                    names = rec.rec_headers.get_header(records.REDACTED_HEADER)
                    redacted.update((names or "").split(", "))
                    assert rec.http_headers.get_header("Authorization") in (None, records.REDACTED)
                elif rec.rec_type == "response":
                    set_cookies += rec.http_headers.get_header("Set-Cookie") == "served=by-the-site; Path=/"
    assert {"Authorization", "Cookie", "X-Api-Key"} <= redacted
    assert set_cookies >= 3


def test_request_records_redact_and_set_cookie_can_be_redacted() -> None:
    from datetime import UTC, datetime

    ex = Exchange(url="http://a.example/p", method="GET",
                  request_headers=[(b"Authorization", b"Bearer s3cret"), (b"Cookie", b"a=s3cret"),
                                   (b"X-Token", b"s3cret"), (b"Accept", b"text/html")],
                  status=200, response_headers=[(b"Set-Cookie", b"id=s3cret"),
                                                (b"Content-Type", b"text/html")],
                  body=b"<html></html>", fetched_at=datetime(2026, 1, 1, tzinfo=UTC))
    request = records.request_record(ex, "<urn:uuid:00000000-0000-0000-0000-000000000000>")
    assert b"s3cret" not in request.split(b"X-Token")[0]  # the default three are redacted
    assert b"WARC-Newsarchive-Redacted: Authorization, Cookie\r\n" in request
    redaction = records.Redaction.of(["Authorization", "Cookie", "Proxy-Authorization",
                                      "x-token"], set_cookie=True)
    request = records.request_record(ex, "<urn:uuid:00000000-0000-0000-0000-000000000000>",
                                     redaction)
    assert b"s3cret" not in request and b"Accept: text/html" in request
    response = records.response_record(ex, "<urn:uuid:00000000-0000-0000-0000-000000000001>",
                                       records.sha1_digest(ex.body), redaction)
    assert b"s3cret" not in response and b"Set-Cookie: [redacted]" in response
    assert b"WARC-Newsarchive-Redacted: Set-Cookie\r\n" in response
    kept = records.response_record(ex, "<urn:uuid:00000000-0000-0000-0000-000000000002>",
                                   records.sha1_digest(ex.body))
    assert b"Set-Cookie: id=s3cret" in kept  # what the site sent, by default


@pytest.mark.parametrize(("yaml", "message"), [
    ("credentials:\n  headers:\n    Authorization: Bearer 0123-real-token\n",
     "line 5: credentials.headers.Authorization: take the value from an environment variable"),
    ("credentials:\n  basic_auth:\n    user: me\n    password: hunter22\n",
     "line 6: credentials.basic_auth.password: take the value from an environment variable"),
    ("credentials:\n  cookies:\n    session: [1, 2]\n",
     "line 5: credentials.cookies.session: take the value"),
    ("credentials:\n  basic_auth:\n    user: me\n    password: '${P}'\n  headers:\n"
     "    Authorization: '${T}'\n", "both set Authorization"),
    ("credentials:\n  header:\n    X: '${T}'\n", "unknown key 'credentials.header'"),
])
def test_site_files_hold_no_secrets(tmp_path: Path, yaml: str, message: str) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("name: s\nstart_urls: [http://a.example/]\n" + yaml)
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert message in str(info.value)
    assert "0123-real-token" not in str(info.value) and "hunter22" not in str(info.value)


def test_a_missing_variable_is_one_line_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_text("name: s\nstart_urls: [http://a.example/]\ncredentials:\n  headers:\n"
                    "    X-Api-Key: '${NA_TEST_UNSET_VARIABLE}'\n")
    site = load_site(path)  # `site check` needs no secrets
    assert site.credentials.hosts == ()
    assert "NA_TEST_UNSET_VARIABLE" not in os.environ
    done = run("crawl", str(path), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    err = done.stderr.decode()
    assert err.count("\n") == 1 and "environment variable NA_TEST_UNSET_VARIABLE is not set" in err
    os.environ["NA_TEST_UNSET_VARIABLE"] = "v4lue"
    try:
        settings = load_site(path).settings()
    finally:
        del os.environ["NA_TEST_UNSET_VARIABLE"]
    assert settings["CREDENTIALS_HEADERS"] == {"X-Api-Key": "${NA_TEST_UNSET_VARIABLE}"}
    assert settings["CREDENTIALS_HOSTS"] == ["a.example"]
    assert "v4lue" not in repr(settings)  # the settings carry the template, not the secret


def test_log_lines_and_tracebacks_lose_the_secrets(tmp_path: Path) -> None:
    import logging

    from newsarchive.fetch.credentials import HIDDEN, install_filter

    handler = logging.FileHandler(tmp_path / "log.txt")
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        log_filter = install_filter([KEY, "abc"])  # too short to scrub: would match everywhere
        assert log_filter is not None and log_filter.secrets == [KEY]
        log = logging.getLogger("newsarchive.test")
        log.warning("sent %s to %s", {"X-Api-Key": KEY}, "a.example")
        try:
            raise ValueError(f"server said no to {KEY}")
        except ValueError:
            log.exception("request failed")
    finally:
        root.removeHandler(handler)
        handler.close()
    text = (tmp_path / "log.txt").read_text()
    assert KEY not in text
    assert f"{{'X-Api-Key': '{HIDDEN}'}} to a.example" in text
    assert f"ValueError: server said no to {HIDDEN}" in text
