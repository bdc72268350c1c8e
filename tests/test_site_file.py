"""Site files: the schema, what a crawl gets from it, and one-line errors for mistakes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from newsarchive.demosite.server import DemoSite
from newsarchive.discover.site import EXAMPLE, load_site, parse_duration, parse_size
from newsarchive.exceptions import ConfigError

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))
DOCS = Path(__file__).resolve().parents[1] / "docs" / "site-file.md"


def write(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_packaged_example_loads_and_feeds_the_crawl() -> None:
    site = load_site(EXAMPLE)
    assert site.name == "daily-planet"
    kwargs = site.spider_kwargs()
    assert kwargs["start_urls"] == ["https://www.dailyplanet.example/"]
    # Paths are relative to the first start URL.
    assert kwargs["sections"][0] == "https://www.dailyplanet.example/world/"
    assert kwargs["sitemaps"] == ["https://www.dailyplanet.example/news-sitemap.xml"]
    assert kwargs["article_patterns"] == [r"/\d{4}/\d{2}/\d{2}/"]
    settings = site.settings()
    assert settings["CLOSESPIDER_PAGECOUNT"] == 5000
    assert settings["CLOSESPIDER_TIMEOUT"] == 45 * 60
    assert settings["CLOSESPIDER_BYTES"] == 2_000_000_000
    assert settings["RENDER_MODE"] == "never"
    assert settings["STATE_REVISIT_ARTICLE_EVERY"] == 6 * 3600
    assert settings["STATE_REVISIT_EMBED_EVERY"] == 86400
    assert "archive-team@example.org" in settings["USER_AGENT"]
    assert settings["USER_AGENT"].startswith("newsarchive/")
    assert settings["AUTOTHROTTLE_ENABLED"] is True
    assert settings["CONCURRENT_REQUESTS_PER_DOMAIN"] == 4
    assert site.schedule == "17 * * * *"


def test_docs_example_is_a_valid_site_file(tmp_path: Path) -> None:
    """The commented example in docs/site-file.md is the packaged one, so it cannot rot."""
    text = DOCS.read_text()
    block = re.search(r"```yaml\n(.*?)```", text, re.S)
    assert block is not None
    assert block.group(1) == EXAMPLE.read_text()


def test_politeness_defaults_depend_on_the_host(tmp_path: Path) -> None:
    local = load_site(write(tmp_path, "start_urls: [http://127.0.0.1:8000/]\n"))
    assert local.settings()["AUTOTHROTTLE_ENABLED"] is False
    assert "CONCURRENT_REQUESTS_PER_DOMAIN" not in local.settings()
    remote = load_site(write(tmp_path, "start_urls: [https://news.example/]\n", "r.yaml"))
    assert remote.settings()["AUTOTHROTTLE_ENABLED"] is True
    assert remote.settings()["CONCURRENT_REQUESTS_PER_DOMAIN"] == 4
    assert local.name == "site" and remote.name == "r"  # default: the file name


def test_revisit_words() -> None:
    assert parse_duration("6h") == 21600 and parse_duration(90) == 90
    assert parse_duration("never", never="never") is None
    assert parse_duration("always") == 0
    assert parse_size("2GB") == 2 * 10**9 and parse_size("1MiB") == 2**20
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nstart_urls: [http://a.example/]\nsitemap: [http://a.example/s.xml]\n",
         "line 3: unknown key 'sitemap'; did you mean 'sitemaps'?"),
        ("start_urls: [http://a.example/]\nschedule: '61 * * * *'\n",
         "line 2: schedule: '61 * * * *' is not a cron expression"),
        ("start_urls:\n  - a.example/news\n",
         "line 1: start_urls: 'a.example/news' is not a URL"),
        ("start_urls: [http://a.example/\nname: x\n",
         "line 2: YAML syntax error"),
        ("start_urls: [http://a.example/]\nlimits:\n  pages: 10\n  byte: 5MB\n",
         "line 4: unknown key 'limits.byte'; did you mean 'bytes'?"),
        ("start_urls: [http://a.example/]\nrender: sometimes\n",
         "line 2: render: 'sometimes' must be one of never, always, auto"),
        ("start_urls: [http://a.example/]\narticle_patterns: ['/(\\d{4}/']\n",
         "line 2: article_patterns: '/(\\\\d{4}/' is not a regular expression"),
        ("name: x\n", "line 1: the site file names no URL"),
        ("start_urls: [http://a.example/]\ncontact: nobody\n",
         "line 2: contact: 'nobody' is neither an e-mail address nor an http(s) URL"),
        ("start_urls: [http://a.example/]\nallow:\n  - 10.0.0.0/8\n  - intranet\n",
         "line 2: allow: 'intranet' is neither an origin (http://host:port) nor a network"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start_urls: [http://a.example/]\nsitemapz: []\n", "unknown key 'sitemapz'; did you mean 'sitemaps'?"),
        ("start_urls: [http://a.example/]\nschedule: every hour\n", "is not a cron expression"),
        ("start_urls: [htp:/a.example]\n", "is not a URL; write an absolute http:// or https:// URL"),
        (None, "not found; check the path"),
    ],
    ids=["unknown-key", "bad-cron", "bad-url", "missing-file"],
)
@pytest.mark.slow  # a CLI process per case
def test_cli_prints_one_line_without_traceback(tmp_path: Path, text: str | None, expected: str) -> None:
    path = tmp_path / "site.yaml"
    if text is not None:
        path.write_text(text)
    done = subprocess.run(
        [NEWSARCHIVE, "crawl", str(path), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("newsarchive: error: ") and expected in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()  # nothing started


@pytest.mark.slow  # a crawl process
def test_limits_and_contact_reach_the_crawl(tmp_path: Path) -> None:
    """limits.bytes stops the crawl; the contact is in the User-Agent the server saw."""
    with DemoSite(articles=40) as site:
        path = write(
            tmp_path,
            f"start_urls: [{site.url}]\ncontact: archivist@example.org\n"
            "limits:\n  bytes: 10KB\npoliteness:\n  concurrency: 1\n",
        )
        done = subprocess.run(
            [NEWSARCHIVE, "crawl", str(path), "--out", str(tmp_path / "out"), "--json"],
            capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        agents = {r.header("User-Agent") for r in site.requests}
        articles = {a.path for a in site.articles}
        fetched = {r.path for r in site.requests} & articles
    assert summary["finish_reason"] == "closespider_bytes"
    # Stopped part-way: the requests already handed to the downloader still finish
    # (as with Scrapy's page limit), so the count past the limit depends on timing.
    assert summary["pages"] > 0 and len(fetched) < len(articles)
    assert len(agents) == 1
    agent = agents.pop() or ""
    assert agent.startswith("newsarchive/") and "archivist@example.org" in agent


def test_infra_examples_hold_valid_site_files_and_commands(tmp_path: Path) -> None:
    """The Kubernetes example's site file loads, and every example runs real verbs."""
    import yaml

    infra = Path(__file__).resolve().parents[1] / "infra"
    docs = list(yaml.safe_load_all((infra / "kubernetes" / "newsarchive-cronjob.yaml").read_text()))
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    for name, text in config["data"].items():
        assert load_site(write(tmp_path, text, name)).name == name.removesuffix(".yaml")
    cron = next(d for d in docs if d["kind"] == "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:1] == ["schedule"] and "--once" in args
    units = {p.name: p.read_text() for p in (infra / "systemd").iterdir()}
    assert "schedule /etc/newsarchive/sites" in units["newsarchive-scheduler.service"]
    assert "--once --site %i" in units["newsarchive-crawl@.service"]
    assert "OnCalendar=" in units["newsarchive-crawl@.timer"]
    # The flags the examples use exist.
    for verb, flags in (("schedule", ["--collections", "--once", "--site"]), ("runs", ["--collections"])):
        help_text = subprocess.run([NEWSARCHIVE, verb, "--help"], capture_output=True, text=True).stdout
        assert all(f in help_text for f in flags)


def test_store_key_sets_store_uri(tmp_path: Path) -> None:
    site = load_site(write(tmp_path, "start_urls: [http://a.example/]\nstore: s3://bucket/news/a/\n"))
    assert site.settings()["STORE_URI"] == "s3://bucket/news/a"
    with pytest.raises(ConfigError, match="is not an S3 URI"):
        load_site(write(tmp_path, "start_urls: [http://a.example/]\nstore: /tmp/x\n", "b.yaml"))
