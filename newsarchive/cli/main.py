"""Entry point of the ``newsarchive`` command.

Exit codes: 0 success; 1 the work ran but found faults (a bad WARC, failed
pages); 2 a usage or configuration mistake; 3 a storage problem (bucket,
credentials, disk); 130 interrupted (143 by SIGTERM).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

from newsarchive import __version__
from newsarchive.exceptions import UserError

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every verb found in :mod:`newsarchive.cli`."""
    parser = argparse.ArgumentParser(
        prog="newsarchive",
        description="Crawl news sites into WARC archives with clean-text sidecars; "
        "replay and export them.",
    )
    parser.add_argument("--version", action="version", version=f"newsarchive {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import newsarchive.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_") or info.name in {"main", "common"}:
            continue
        module = importlib.import_module(f"newsarchive.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (also used by tests)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    # The level sits on our console handler, not on the root logger: a crawl's
    # full log goes to its log file (Scrapy's root handler), the console gets
    # warnings and errors only, unless -v.
    console = logging.StreamHandler(sys.stderr)
    console.setLevel([logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)])
    console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(console)
    logging.getLogger().setLevel(logging.DEBUG if args.verbose >= 2 else logging.INFO)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(f"newsarchive: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("newsarchive: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def run() -> None:
    """Console-script wrapper.

    The work is done and its files are closed when :func:`main` returns; the
    interpreter's exit would then walk every object a crawl left (Scrapy,
    pyarrow, DuckDB...) in its last garbage collections, for nothing: at the
    end of a crawl that garbage is a few hundred argparse objects, no file,
    connection or generator. Frozen, those objects are left to the process's
    end; exit handlers and every finaliser of a reachable object still run.
    """
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    run()
