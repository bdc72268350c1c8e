"""``newsarchive extract``: clean-text sidecars from saved HTML pages or WARC files.

HTML pages: ``newsarchive extract PAGE.html [--url URL]`` prints the sidecar
JSON on stdout; several files, or a folder, with ``--out DIR`` write
``NAME.json`` (the sidecar) and ``NAME.txt`` (the story as plain text) per page.

WARC files: a WARC, several, a collection folder (its ``warc/`` files) or an
``s3://`` collection or prefix. Every HTML page with status 200 (the browser's
DOM for a rendered one) gives a sidecar pointing at its record; non-articles are
left out unless ``--all``. Per input ``NAME.warc.gz``, ``--out DIR`` gets
``NAME.sidecars.jsonl.gz`` and ``NAME.sidecars.warc.gz`` (one ``metadata``
record per sidecar, ``WARC-Refers-To`` the response); ``--out -`` prints the
sidecars as JSON Lines instead. ``--shard K/N`` keeps only shard K of the WARC
files (:mod:`newsarchive.shard`). ``--jobs N`` spreads the files (or pages) over
N processes (for pages, N extraction workers forked from one warm template,
:mod:`newsarchive.extract.forked`); a big local ``.warc.gz`` (8 MiB and 8,000 records or more) is cut
into parts by its records, extracted side by side, and the sidecar files are the
same, in the same order, as one process writes. Progress and a summary go to
stderr; ``--json`` prints the summary
as JSON on stdout.

Each page is extracted in a worker process under a time and a memory limit
(``--time-limit``, ``--memory-limit``; settings ``SIDECAR_TIME_LIMIT``,
``SIDECAR_MEMORY_LIMIT``) and the parsers see at most ``--max-bytes`` of it. A
page over a limit, or one the extractor fails on, still gets its sidecar, with
``extractor.error`` saying why; it is counted as failed and the rest go on.

The work itself (the process pool, the per-file runs, the totals) is
:mod:`newsarchive.extract.runner`; this module checks the options and prints.

Exit codes: 0 every input was read; 1 some page or WARC file could not be read
or extracted (each named in a one-line message; the sidecars of a damaged
WARC's records before the damage are still written); 2 a usage mistake;
3 the output could not be written.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from newsarchive import collection, settings
from newsarchive.cli.common import add_s3_options, apply_s3_options, check_url, print_json
from newsarchive.exceptions import ConfigError
from newsarchive.shard import add_shard_option

logger = logging.getLogger(__name__)

HTML_SUFFIXES = (".html", ".htm", ".xhtml", ".shtml")
WARC_SUFFIXES = (*collection.WARC_SUFFIXES,
                 ".warc.lz4", ".warc.zst")  # the last two only to say they are not read


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``extract`` verb."""
    p = sub.add_parser(
        "extract",
        help="write clean-text sidecars of saved HTML pages or of WARC files",
        description="Extract the story, metadata, ads and related links of pages as sidecar "
        "JSON (schema newsarchive.sidecar/1). HTML: one file without --out prints the "
        "sidecar; several files or a folder write NAME.json and NAME.txt per page in --out "
        "DIR. WARC files, collection folders or s3:// collections: NAME.sidecars.jsonl.gz "
        "and NAME.sidecars.warc.gz per WARC in --out DIR (or JSON Lines on stdout with "
        "--out -). Exit 1 when some page or WARC could not be read.",
    )
    p.add_argument("inputs", nargs="+", metavar="PATH",
                   help="HTML file(s) or folder(s) of .html files; or WARC file(s), collection "
                   "folder(s) or s3://BUCKET/PREFIX")
    p.add_argument("--url", default=None,
                   help="address the page was fetched from (one HTML file only; default file://)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="write the outputs here instead of printing (WARC input: required; "
                   "'-' for JSON Lines on stdout)")
    p.add_argument("--render", action="store_true",
                   help="HTML only: run the page's scripts in Chromium first (as if served from "
                   "--url) and extract the rendered DOM")
    p.add_argument("--all", action="store_true",
                   help="WARC input: also write the sidecars of pages that are not articles "
                   "(section fronts, error pages)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="processes extracting side by side (default 1): HTML pages and WARC "
                   "files are spread over them, a big local .warc.gz is cut into parts by "
                   "its records; the outputs are the same as with 1")
    p.add_argument("--json", action="store_true",
                   help="WARC input: print the summary as JSON on stdout")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop extracting a page after this long and write its sidecar with "
                   f"extractor.error (default {settings.SIDECAR_TIME_LIMIT:g}; 0: no limit)")
    p.add_argument("--memory-limit", type=float, default=None, metavar="MB",
                   help="memory one page may take, in MiB (default "
                   f"{settings.SIDECAR_MEMORY_LIMIT >> 20}; 0: no limit)")
    p.add_argument("--max-bytes", type=int, default=None, metavar="BYTES",
                   help="the parsers see at most this much of a page (default "
                   f"{settings.SIDECAR_MAX_BYTES}; 0: no limit)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    add_shard_option(p)
    add_s3_options(p)
    p.set_defaults(func=run)


def _has_warcs(folder: Path) -> bool:
    """A collection (``warc/`` inside), or a folder of WARC files and no HTML pages."""
    if (folder / "warc").is_dir():
        return True
    if next(_html_files([folder]), None) is not None:
        return False
    return any(p.is_file() and p.name.endswith(WARC_SUFFIXES) for p in folder.rglob("*"))


def _is_warc_input(text: str) -> bool:
    if "://" in text:
        return True
    path = Path(text)
    if path.is_dir():
        return _has_warcs(path)
    return path.name.lower().endswith(WARC_SUFFIXES)


def limits_of(args: argparse.Namespace) -> Any:
    """The per-page :class:`~newsarchive.extract.bounded.Limits` of the options."""
    from newsarchive.extract.bounded import Limits

    given = {"--time-limit": args.time_limit, "--memory-limit": args.memory_limit,
             "--max-bytes": args.max_bytes}
    for option, value in given.items():
        if value is not None and value < 0:
            raise ConfigError(f"{option} must be 0 (no limit) or more")
    return Limits(
        seconds=settings.SIDECAR_TIME_LIMIT if args.time_limit is None else args.time_limit,
        memory=(settings.SIDECAR_MEMORY_LIMIT if args.memory_limit is None
                else int(args.memory_limit * 2**20)),
        max_bytes=settings.SIDECAR_MAX_BYTES if args.max_bytes is None else args.max_bytes,
    )


def run(args: argparse.Namespace) -> int:
    """Dispatch on the input type: WARCs to :func:`extract_warc_inputs`, else HTML."""
    if args.jobs < 1:
        raise ConfigError("--jobs must be 1 or more")
    args.limits = limits_of(args)
    for text in args.inputs:
        if text.startswith("s3://"):
            continue
        if "://" in text:
            raise ConfigError(f"{text}: give a local path or an s3:// URI")
        if not Path(text).exists():
            raise ConfigError(f"{text}: no such file or folder")
    kinds = {_is_warc_input(t) for t in args.inputs}
    if kinds == {True, False}:
        raise ConfigError("give either HTML pages or WARC files/collections, not both at once")
    from newsarchive.extract.bounded import close_shared

    try:
        if kinds == {True}:
            return extract_warc_inputs(args.inputs, args)
        return extract_html_inputs([Path(t) for t in args.inputs], args)
    finally:
        close_shared()  # this process's extraction worker, if it started one


def _html_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in HTML_SUFFIXES
            )
        else:
            yield path


def extract_html_inputs(paths: list[Path], args: argparse.Namespace) -> int:
    """Sidecars of HTML files: stdout for one file, ``--out DIR`` for more."""
    if args.shard is not None:
        raise ConfigError("--shard splits a collection's WARC files; give WARC input")
    files = list(_html_files(paths))
    if not files:
        raise ConfigError(f"no .html files in {', '.join(map(str, paths))}")
    if args.url is not None:
        check_url(args.url)
        if len(files) > 1:
            raise ConfigError("--url names the address of one page; give one file with it")
    single = len(files) == 1 and not any(p.is_dir() for p in paths)
    if args.out == "-":
        raise ConfigError("--out - (JSON Lines on stdout) is for WARC input; give a folder")
    if args.out is None:
        if not single:
            raise ConfigError("several pages: give --out DIR for their NAME.json files")
        from newsarchive.extract.bounded import extraction_error
        from newsarchive.extract.runner import extract_file

        sidecar = extract_file(files[0], args.url, args.render, args.limits)
        json.dump(sidecar, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        error = extraction_error(sidecar)
        if error:
            print(f"newsarchive: error: {files[0]}: {error}", file=sys.stderr)
        return 1 if error else 0
    out = _out_folder(args.out)
    stems = [f.stem for f in files]
    if len(set(stems)) != len(stems):
        dup = next(s for s in stems if stems.count(s) > 1)
        raise ConfigError(f"two inputs are named {dup}.*; their NAME.json would collide in --out")
    from newsarchive.extract.runner import run_html

    results = run_html(files, out, url=args.url, render=args.render, limits=args.limits,
                       jobs=args.jobs)
    failed = with_error = 0
    for _, error, written in results:
        if error:
            failed += 1
            with_error += written
            print(f"newsarchive: error: {error}", file=sys.stderr)
    print(f"extract: {len(files) - failed} sidecars written to {out}, {failed} failed"
          f"{f' ({with_error} written with extractor.error)' if with_error else ''}",
          file=sys.stderr)
    return 1 if failed else 0


def _out_folder(text: str) -> Path:
    out = Path(text)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{out}: cannot create the output folder ({exc.strerror})") from None
    return out


# -- WARC input ----------------------------------------------------------------


class _Progress:
    """Totals of the running extraction, shown by the shared progress display."""

    def __init__(self, files: int, quiet: bool) -> None:
        from newsarchive.progress import Progress

        self.records = self.sidecars = 0
        self._lock = threading.Lock()
        self.display = Progress("extract", total=files, unit="WARC files", enabled=not quiet,
                                detail=self._detail, rate=False)
        self.start = self.display.start

    def _detail(self, shown: Any) -> str:
        return (f"{self.records} records | {self.sidecars} sidecars | "
                f"{self.records / max(shown.elapsed, 1e-9):.0f} records/s")

    def add(self, records: int, sidecars: int) -> None:
        with self._lock:
            self.records += records
            self.sidecars += sidecars
        self.display.refresh()

    def file_done(self) -> None:
        self.display.advance()

    def finish(self) -> None:
        self.display.close()


def _copy_jsonl(path: Path, dest: Any) -> None:
    with gzip.open(path, "rb") as fh:
        shutil.copyfileobj(fh, dest)
    dest.flush()


def extract_warc_inputs(inputs: list[str], args: argparse.Namespace) -> int:
    """Sidecars of WARC files, collections or ``s3://`` prefixes (see the module docstring)."""
    from newsarchive.extract.batch import output_stem
    from newsarchive.extract.runner import run_warcs, summarize, warc_sources

    if args.url is not None:
        raise ConfigError("--url is for one saved HTML page; a WARC record has its own URL")
    if args.render:
        raise ConfigError("--render is for saved HTML pages; pages rendered during the crawl "
                          "are extracted from their archived DOM")
    if args.out is None:
        raise ConfigError("WARC input: give --out DIR for the sidecar files (or --out - for "
                          "JSON Lines on stdout)")
    to_stdout = args.out == "-"
    if to_stdout and args.json:
        raise ConfigError("--json prints the summary on stdout, where --out - puts the "
                          "sidecars; use one of them")
    apply_s3_options(args)
    sources = warc_sources(inputs, args.endpoint_url, args.region)
    if args.shard is not None:
        sources = args.shard.select(sources)
    stems = [output_stem(s) for s in sources]
    if len(set(stems)) != len(stems):
        dup = next(s for s in stems if stems.count(s) > 1)
        raise ConfigError(f"two WARC inputs are named {dup}; their sidecar files would collide "
                          "in --out")
    temp = tempfile.TemporaryDirectory(prefix="newsarchive-extract-") if to_stdout else None
    out = Path(temp.name) if temp is not None else _out_folder(args.out)
    options = {"include_all": args.all, "write_warc": not to_stdout,
               "endpoint_url": args.endpoint_url, "region": args.region,
               "limits": args.limits}
    progress = _Progress(len(sources), args.quiet)
    results: list[dict[str, Any]] = []
    try:
        for result in run_warcs(sources, out, options, args.jobs, progress.add,
                                 progress.file_done):
            results.append(result)
            if result["error"]:
                progress.finish()
                print(f"newsarchive: error: {result['error']}", file=sys.stderr)
            if to_stdout and result["outputs"]:
                _copy_jsonl(Path(result["outputs"][0]), sys.stdout.buffer)
                Path(result["outputs"][0]).unlink()
    finally:
        if temp is not None:
            temp.cleanup()
    progress.finish()
    summary = summarize(results, time.monotonic() - progress.start, None if to_stdout else out)
    _print_summary(summary, args.json)
    return 1 if summary["errors"] or summary["failed_pages"] else 0


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(summary)
        return
    s = summary
    where = f" to {s['out']}" if s["out"] != "-" else ""
    print(f"extract: {s['files']} WARC files, {s['records']} records, {s['pages']} HTML pages "
          f"({s['rendered']} rendered): {s['sidecars']} sidecars written{where}, "
          f"{s['not_articles']} not articles, {s['failed_pages']} failed "
          f"({s['error_sidecars']} written with extractor.error), "
          f"{len(s['errors'])} damaged files in {s['seconds']:.1f} s "
          f"({s['records_per_second']:.0f} records/s)", file=sys.stderr)
