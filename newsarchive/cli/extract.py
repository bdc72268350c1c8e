"""``newsarchive extract``: clean-text sidecars from saved HTML pages.

``newsarchive extract PAGE.html [--url URL]`` prints the sidecar JSON on
stdout; several files, or a folder, with ``--out DIR`` write ``NAME.json``
(the sidecar) and ``NAME.txt`` (the story as plain text) per input page.
``--jobs N`` spreads the pages over N processes.

Exit codes: 0 every page gave a sidecar; 1 some page could not be read or
extracted (each named in a one-line message); 2 a usage mistake.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from newsarchive.cli.common import check_url
from newsarchive.exceptions import ConfigError, ExtractionError, UserError

logger = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
WARC_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``extract`` verb."""
    p = sub.add_parser(
        "extract",
        help="write clean-text sidecars of saved HTML pages",
        description="Extract the story, metadata, ads and related links of saved HTML pages "
        "as sidecar JSON (schema newsarchive.sidecar/1). One file without --out: the "
        "sidecar on stdout. Several files or a folder: NAME.json and NAME.txt per page "
        "in --out DIR. Exit 1 when some page could not be extracted.",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="PATH",
                   help="HTML file(s) or folder(s) of .html files")
    p.add_argument("--url", default=None,
                   help="address the page was fetched from (one file only; default file://)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="write NAME.json and NAME.txt here instead of printing")
    p.add_argument("--render", action="store_true",
                   help="run the page's scripts in Chromium first (as if served from --url) "
                   "and extract the rendered DOM")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="pages extracted in parallel processes (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch on the input type: WARC files go to :func:`extract_warc_inputs`."""
    if args.jobs < 1:
        raise ConfigError("--jobs must be 1 or more")
    for path in args.inputs:
        if not path.exists():
            raise ConfigError(f"{path}: no such file or folder")
    warcs = [p for p in args.inputs if p.is_file() and p.name.lower().endswith(WARC_SUFFIXES)]
    if warcs:
        return extract_warc_inputs(args.inputs, args)
    return extract_html_inputs(args.inputs, args)


def extract_warc_inputs(paths: list[Path], args: argparse.Namespace) -> int:
    """Sidecars of WARC files or collections (owned by WARC capture; not built yet)."""
    raise UserError(
        f"{paths[0]}: WARC input not supported yet; extract saved .html files instead"
    )


def _html_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in HTML_SUFFIXES
            )
        else:
            yield path


def extract_file(path: Path, url: str | None, render: bool = False) -> dict[str, Any]:
    """The sidecar of one saved page; the URL defaults to the file's own address."""
    from newsarchive.extract import extract_sidecar

    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"{path}: cannot read ({exc.strerror})") from None
    if render:  # newsarchive.fetch.render: the DOM once the page's scripts ran
        from newsarchive.fetch.render import render_html_file

        body = render_html_file(path, url).encode("utf-8")
    try:
        sidecar = extract_sidecar(body, url or path.resolve().as_uri())
    except ExtractionError as exc:
        raise ExtractionError(f"{path}: {exc}") from None
    if render:
        sidecar["rendered"] = True
    return sidecar


def _job(item: tuple[Path, Path | None, str | None, bool]) -> tuple[Path, str | None]:
    """Worker: extract one page and write its files; the error message on failure."""
    path, out, url, render = item
    try:
        sidecar = extract_file(path, url, render)
        if out is not None:
            write_outputs(sidecar, out / path.stem)
    except ExtractionError as exc:
        return path, str(exc)
    return path, None


def write_outputs(sidecar: dict[str, Any], stem: Path) -> None:
    """``STEM.json`` (the sidecar) and ``STEM.txt`` (the story text)."""
    stem.with_name(stem.name + ".json").write_text(
        json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    text = sidecar.get("text") or ""
    stem.with_name(stem.name + ".txt").write_text(text + ("\n" if text else ""),
                                                  encoding="utf-8")


def extract_html_inputs(paths: list[Path], args: argparse.Namespace) -> int:
    """Sidecars of HTML files: stdout for one file, ``--out DIR`` for more."""
    files = list(_html_files(paths))
    if not files:
        raise ConfigError(f"no .html files in {', '.join(map(str, paths))}")
    if args.url is not None:
        check_url(args.url)
        if len(files) > 1:
            raise ConfigError("--url names the address of one page; give one file with it")
    single = len(files) == 1 and not any(p.is_dir() for p in paths)
    if args.out is None:
        if not single:
            raise ConfigError("several pages: give --out DIR for their NAME.json files")
        sidecar = extract_file(files[0], args.url, args.render)
        json.dump(sidecar, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{args.out}: cannot create the output folder ({exc.strerror})") from None
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        dup = next(s for s in stems if stems.count(s) > 1)
        raise ConfigError(f"two inputs are named {dup}.*; their NAME.json would collide in --out")
    items = [(f, args.out, args.url, args.render) for f in files]
    failed = 0
    if args.jobs > 1 and len(items) > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            results = list(pool.map(_job, items, chunksize=4))
    else:
        results = [_job(i) for i in items]
    for _, error in results:
        if error:
            failed += 1
            print(f"newsarchive: error: {error}", file=sys.stderr)
    print(f"extract: {len(files) - failed} sidecars written to {args.out}, {failed} failed",
          file=sys.stderr)
    return 1 if failed else 0
