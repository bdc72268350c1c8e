"""``newsarchive site new URL``: write a starting site file; ``site check FILE``: validate one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from newsarchive.cli.common import check_url
from newsarchive.exceptions import ConfigError


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``site`` verb and its ``new``/``check`` actions."""
    p = sub.add_parser(
        "site",
        help="write or check site files",
        description="Site files describe one news site for 'newsarchive crawl' and "
        "'newsarchive schedule' (see docs/site-file.md).",
    )
    actions = p.add_subparsers(dest="site_action", metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="write a starting site file by probing a site",
        description="Probe URL's robots.txt, home page, sitemaps and feeds (a few requests) "
        "and write a commented site file to start from.",
    )
    new.add_argument("url", metavar="URL", help="the site's home page")
    new.add_argument("--out", default="-", metavar="FILE", help="where to write it (default: stdout)")
    new.add_argument("--contact", help="e-mail or URL to put in the User-Agent")
    new.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    new.set_defaults(func=run_new)
    check = actions.add_parser("check", help="validate site files", description="Validate site files; print one line per file.")
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.set_defaults(func=run_check)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_new(args: argparse.Namespace) -> int:
    """Probe and write the file. Exit 0, or 2 if the site cannot be reached or FILE exists."""
    from newsarchive.discover.probe import probe, render_site_file
    from newsarchive.discover.site import CONTACT_RE, load_site

    url = check_url(args.url)
    if args.contact and not CONTACT_RE.match(args.contact):
        raise ConfigError(f"--contact {args.contact!r} is neither an e-mail address nor an http(s) URL")
    out = None if args.out == "-" else Path(args.out)
    if out is not None and out.exists() and not args.force:
        raise ConfigError(f"{out} exists; choose another --out or add --force")
    result = probe(url)
    text = render_site_file(result, args.contact)
    if out is None:
        sys.stdout.write(text)
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    site = load_site(out)  # what we write must load
    print(
        f"wrote {out}: {len(site.sitemaps)} sitemaps, {len(site.feeds)} feeds, "
        f"{len(site.sections)} sections, article pattern "
        f"{site.article_patterns[0] if site.article_patterns else '(none)'}"
    )
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Validate each file; exit 2 at the first bad one (its one-line error)."""
    from newsarchive.discover.site import load_site

    for path in args.files:
        site = load_site(path)
        print(f"{path}: ok ({site.name}, {len(site.urls)} URLs, schedule {site.schedule or 'none'})")
    return 0
