"""``newsarchive demo-site``: serve the bundled demo news site in the foreground.

For trying crawls by hand and for benchmarks that want the server in its own
process. Renders every page first (so a benchmark's first round is not
slower than the next), prints the URL and serves until Ctrl-C (exit code 130).
"""

from __future__ import annotations

import argparse
import signal
import sys

from newsarchive.exceptions import UserError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``demo-site`` verb."""
    parser = subparsers.add_parser(
        "demo-site",
        help="serve the bundled demo news site on loopback until Ctrl-C",
        description="Serve the bundled demo news site (home, sections, robots.txt, sitemaps, "
        "feeds, articles in three templates, redirects, a 404, gzip and chunked responses) "
        "until interrupted.",
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free "
                        "port; default 8000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--articles", type=int, default=60,
                        help="number of day-1 articles (default 60; thousands for benchmarks)")
    parser.add_argument("--day", type=int, default=1,
                        help="which day to serve: each day after the first adds 10 articles")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="delay every response by this many milliseconds (a distant "
                        "server, to measure crawls with many requests in flight; default 0)")
    parser.add_argument("--no-warm", dest="warm", action="store_false",
                        help="render pages on first request instead of before serving "
                        "(starts faster; the first crawl is then slower than the next)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    from newsarchive.demosite import DemoSite
    from newsarchive.demosite.content import MAX_ARTICLES

    if not 1 <= args.articles <= MAX_ARTICLES:
        raise UserError(f"--articles must be between 1 and {MAX_ARTICLES:,}, not {args.articles}")
    if args.day < 1:
        raise UserError(f"--day must be at least 1, not {args.day}")
    if args.latency < 0:
        raise UserError(f"--latency must be 0 or more milliseconds, not {args.latency:g}")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, not {args.port}")
    site = DemoSite(host=args.host, port=args.port, articles=args.articles, day=args.day,
                    record=False, latency=args.latency / 1000)  # nobody reads the log of a foreground server
    try:
        site.bind()
    except OSError as exc:
        raise UserError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror}; pick another --port"
        ) from None
    if args.warm:
        site.warm()
    # Ctrl-C stops it even when started from a parent that ignores SIGINT (a shell's
    # `cmd &`, a test runner after a crawl's hard stop): Python keeps an inherited SIG_IGN.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"demo site: {site.url} ({len(site.articles)} articles, day {args.day}); "
          "Ctrl-C to stop", flush=True)
    try:
        site.serve_forever()
    except KeyboardInterrupt:
        print("demo site: stopped", file=sys.stderr)
        return 130
    return 0
