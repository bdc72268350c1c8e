"""``newsarchive crawl URL|SITE.yaml --out DIR``: crawl into a collection folder."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from newsarchive.cli.common import add_store_options, check_url, print_json, store_overrides
from newsarchive.exceptions import ConfigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``crawl`` verb."""
    p = sub.add_parser(
        "crawl",
        help="crawl a news site into WARC files and sidecars",
        description="Crawl a site from its root URL (robots.txt sitemaps, news sitemaps, "
        "feeds, links) or from a site file, archiving every response as WARC records "
        "in DIR/warc and a sidecar per article in DIR/sidecars.",
    )
    p.add_argument("target", metavar="URL|SITE.yaml", help="root URL of a site, or a site file")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="collection folder")
    p.add_argument("--depth", type=int, default=None, help="link hops to follow from start pages (default 2)")
    p.add_argument("--max-pages", type=int, default=0, help="stop after this many pages (0: no limit)")
    p.add_argument("--concurrency", type=int, default=None, help="parallel requests (default 16)")
    p.add_argument("--no-sidecars", action="store_true", help="archive only, extract nothing")
    p.add_argument(
        "--no-archive",
        action="store_true",
        help="fetch without writing WARC files or sidecars (a baseline for benchmarks)",
    )
    p.add_argument("--no-robots", action="store_true", help="do not obey robots.txt (ask the site first)")
    p.add_argument("--warc-max-size", type=int, default=None, metavar="BYTES", help="rotate WARC files past this size (default 1 GB)")
    p.add_argument("--operator", default=None, help="who runs the crawl (warcinfo record)")
    p.add_argument(
        "--render", choices=("never", "always", "auto"), default=None,
        help="render pages in Chromium: never, always, or auto (only pages whose HTML has no story; default)",
    )
    p.add_argument(
        "--screenshots", action="store_true",
        help="archive a full-page PNG of every rendered page (a resource record "
        "urn:newsarchive:screenshot:URL; thumbnails in the replay's article list)",
    )
    p.add_argument(
        "--recrawl", action="store_true",
        help="fetch pages the collection already holds too (default: only new ones and "
        "those due by the revisit policy)",
    )
    p.add_argument(
        "--frontier", default=None, metavar="redis://HOST:PORT/DB",
        help="join (or start) the site's shared crawl on this Redis, as one of any number "
        "of workers: a shared queue, dedup index and crawl state, leases, and one budget "
        "of requests per host; files named per worker (see infra/distributed/scrapy-redis.md)",
    )
    p.add_argument("--worker", default=None, metavar="NAME",
                   help="with --frontier: this worker's name (default HOST-wN, the lowest "
                   "N free in --out)")
    add_store_options(p)
    p.add_argument(
        "-s", "--set", action="append", default=[], metavar="NAME=VALUE",
        help="set a Scrapy/newsarchive setting, as `scrapy crawl -s` does (repeatable; "
        "see newsarchive/settings.py), e.g. -s SIDECAR_TIME_LIMIT=10",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--no-report", action="store_true",
                   help="do not write the HTML report to DIR/reports/ (the run is still recorded)")
    p.set_defaults(func=run)


def build_job(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any]]:
    """Spider arguments and setting overrides from the command line (and site file)."""
    spider_kwargs: dict[str, Any] = {}
    overrides: dict[str, Any] = {}
    target = args.target
    if target.endswith((".yaml", ".yml")):
        from newsarchive.discover.site import load_site

        site = load_site(Path(target))
        spider_kwargs.update(site.spider_kwargs())
        overrides.update(site.settings())
    else:
        from newsarchive.discover.politeness import politeness_settings

        spider_kwargs["start_urls"] = [check_url(target)]
        overrides.update(politeness_settings(spider_kwargs["start_urls"]))
    if args.recrawl:
        # Everything known is due: fetched again, unchanged bodies become revisits.
        overrides.update({
            "STATE_REVISIT_ARTICLE_MAX_AGE": -1, "STATE_REVISIT_ARTICLE_EVERY": 0,
            "STATE_REVISIT_PAGE_EVERY": 0, "STATE_REVISIT_EMBED_EVERY": 0,
        })
    if args.depth is not None:
        if args.depth < 0:
            raise ConfigError("--depth must be 0 or more")
        spider_kwargs["depth"] = args.depth
    if args.max_pages:
        overrides["CLOSESPIDER_PAGECOUNT"] = args.max_pages
    if args.concurrency:
        overrides["CONCURRENT_REQUESTS"] = args.concurrency
        overrides["CONCURRENT_REQUESTS_PER_DOMAIN"] = args.concurrency
    if args.no_sidecars:
        overrides["SIDECAR_ENABLED"] = False
    if args.no_archive:
        overrides["WARC_ENABLED"] = False
        overrides["SIDECAR_ENABLED"] = False
    if args.no_robots:
        overrides["ROBOTSTXT_OBEY"] = False
    if args.warc_max_size:
        overrides["WARC_MAX_SIZE"] = args.warc_max_size
    if args.operator:
        overrides["WARC_OPERATOR"] = args.operator
    if args.render:
        overrides["RENDER_MODE"] = args.render
    if args.screenshots:
        overrides["RENDER_SCREENSHOT"] = True
    overrides.update(store_overrides(args))
    if args.frontier:
        from newsarchive.fetch.frontier import redis_client, site_id

        redis_client(args.frontier)  # a bad URL or no server: one line, before anything
        # The site's keys: the site file's name, or the start URL's host.
        name = Path(target).stem if target.endswith((".yaml", ".yml")) else target
        overrides["FRONTIER_URL"] = args.frontier
        overrides["FRONTIER_SITE"] = site_id(str(name))
        if args.worker:
            overrides["FRONTIER_WORKER"] = args.worker
    elif args.worker:
        raise ConfigError("--worker goes with --frontier")
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError("-s takes NAME=VALUE, e.g. -s SIDECAR_TIME_LIMIT=10")
        overrides[name.strip()] = value
    overrides["PROGRESS_ENABLED"] = not (args.quiet or args.json)
    return spider_kwargs, overrides


def run(args: argparse.Namespace) -> int:
    """Run the crawl as a recorded run; print the summary; exit as
    :meth:`CrawlSummary.exit_code` says."""
    from newsarchive.crawl import Interrupted
    from newsarchive.report.build import crawl_with_report

    spider_kwargs, overrides = build_job(args)
    try:
        summary = crawl_with_report(args.out, spider_kwargs, overrides,
                                    report=not (args.no_report or args.no_archive))
    except Interrupted as exc:
        print(f"newsarchive: interrupted by {exc} before the crawl started", file=sys.stderr)
        return 128 + exc.signum
    if args.json:
        print_json(summary.as_dict())
    else:
        print(summary.text(), file=sys.stdout)
    return exit_code(summary)


def exit_code(summary: Any) -> int:
    """The crawl's exit code; after a stop at once, exit the process right here."""
    code = int(summary.exit_code())
    if summary.stopped_at_once:
        # Stopped without the reactor's shutdown: its thread pool (and any helper
        # thread) would keep the interpreter from exiting. Files are closed.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
