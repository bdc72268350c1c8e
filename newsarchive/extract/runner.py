"""The batch runner of ``newsarchive extract``: pages and WARC files over worker processes.

The CLI (:mod:`newsarchive.cli.extract`) checks the options and prints; this
module does the work:

* saved HTML pages: :func:`extract_file` gives one page's sidecar,
  :func:`run_html` writes ``NAME.json`` and ``NAME.txt`` for many, in this
  process or spread over ``jobs`` processes;
* WARC files: :func:`warc_sources` lists the WARC files of the inputs and
  :func:`run_warcs` extracts them with
  :func:`~newsarchive.extract.batch.extract_warc`, in this process or in
  ``jobs`` worker processes, yielding each file's result in input order;
  :func:`summarize` adds them up.

Every page is extracted under its :class:`~newsarchive.extract.bounded.Limits`
in a bounded worker of the process that reads it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from newsarchive.exceptions import ConfigError, ExtractionError, UserError

logger = logging.getLogger(__name__)

#: our own outputs, never inputs (they hold metadata records only)
OUTPUT_SUFFIXES = (".sidecars.warc.gz",)

#: (records, sidecars) read since the last call
ProgressCallback = Callable[[int, int], None]


# -- saved HTML pages -------------------------------------------------------------


def extract_file(path: Path, url: str | None, render: bool = False,
                 limits: Any = None) -> dict[str, Any]:
    """The sidecar of one saved page; the URL defaults to the file's own address.

    Extracted under ``limits`` (:class:`~newsarchive.extract.bounded.Limits`): a
    page over them, or one the extractor fails on, gives a sidecar with
    ``extractor.error``.
    """
    from newsarchive.extract.bounded import Limits, shared

    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"{path}: cannot read ({exc.strerror})") from None
    if render:  # newsarchive.fetch.render: the DOM once the page's scripts ran
        from newsarchive.fetch.render import render_html_file

        body = render_html_file(path, url).encode("utf-8")
    try:
        sidecar = shared(limits or Limits()).extract(body, url or path.resolve().as_uri())
    except ExtractionError as exc:
        raise ExtractionError(f"{path}: {exc}") from None
    if render:
        sidecar["rendered"] = True
    return sidecar


def write_outputs(sidecar: dict[str, Any], stem: Path) -> None:
    """``STEM.json`` (the sidecar) and ``STEM.txt`` (the story text)."""
    stem.with_name(stem.name + ".json").write_text(
        json.dumps(sidecar, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    text = sidecar.get("text") or ""
    stem.with_name(stem.name + ".txt").write_text(text + ("\n" if text else ""),
                                                  encoding="utf-8")


HtmlItem = tuple[Path, Path | None, str | None, bool, Any]


def _html_job(item: HtmlItem) -> tuple[Path, str | None, bool]:
    """Worker: extract one page and write its files; the error message on failure, and
    whether a sidecar (with ``extractor.error``) was written all the same."""
    from newsarchive.extract.bounded import extraction_error

    path, out, url, render, limits = item
    try:
        sidecar = extract_file(path, url, render, limits)
        if out is not None:
            write_outputs(sidecar, out / path.stem)
    except ExtractionError as exc:
        return path, str(exc), False
    error = extraction_error(sidecar)
    return path, f"{path}: {error}" if error else None, error is not None


def run_html(files: list[Path], out: Path, *, url: str | None, render: bool, limits: Any,
             jobs: int) -> list[tuple[Path, str | None, bool]]:
    """Extract ``files`` into ``out``; per file ``(path, error or None, written anyway)``."""
    items: list[HtmlItem] = [(f, out, url, render, limits) for f in files]
    if jobs > 1 and len(items) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            return list(pool.map(_html_job, items, chunksize=4))
    return [_html_job(i) for i in items]


# -- WARC files ------------------------------------------------------------------


def warc_sources(inputs: Iterable[str], endpoint_url: str | None = None,
                 region: str | None = None) -> list[str]:
    """WARC files of the inputs: files as given, a collection's ``warc/`` files, a
    folder's or ``s3://`` prefix's WARC files (our ``*.sidecars.warc.gz`` outputs left out)."""
    from newsarchive.store import list_inputs

    def listed(where: str) -> list[str]:
        return list_inputs(where, (".warc.gz", ".warc"), endpoint_url=endpoint_url,
                           region=region)

    found: list[str] = []
    for text in inputs:
        if text.startswith("s3://"):
            try:  # a collection: only its warc/ folder (indexes and sidecars sit beside it)
                files = listed(text.rstrip("/") + "/warc/")
            except UserError:
                files = listed(text)
        elif Path(text).is_dir() and (Path(text) / "warc").is_dir():
            files = listed(str(Path(text) / "warc"))
        else:
            files = listed(text)
        found.extend(f for f in files if not f.endswith(OUTPUT_SUFFIXES) or f == text)
    if not found:
        raise ConfigError(f"no WARC files in {', '.join(inputs)}")
    return list(dict.fromkeys(found))


_QUEUE: Any = None  # a worker process's progress queue (set by _init_worker)


def _init_worker(queue: Any) -> None:
    global _QUEUE
    _QUEUE = queue


def _report(records: int, sidecars: int) -> None:
    _QUEUE.put((records, sidecars))


def _warc_job(source: str, out: str, options: dict[str, Any]) -> dict[str, Any]:
    """Worker: one WARC file; returns its :class:`WarcResult` as a dict."""
    from newsarchive.extract.batch import extract_warc

    progress = _report if _QUEUE is not None else options.pop("progress", None)
    return extract_warc(source, Path(out), progress=progress, **options).as_dict()


def run_warcs(sources: list[str], out: Path, options: dict[str, Any], jobs: int,
              progress: ProgressCallback, file_done: Callable[[], None]
              ) -> Iterator[dict[str, Any]]:
    """Results of :func:`~newsarchive.extract.batch.extract_warc` in input order, from
    this process or from ``jobs`` worker processes. ``options`` are its keyword
    arguments; ``progress`` gets the records and sidecars as they are done,
    ``file_done`` is called after each file."""
    if jobs <= 1 or len(sources) <= 1:
        for source in sources:
            yield _warc_job(source, str(out), {**options, "progress": progress})
            file_done()
        return
    # forkserver: clean workers (no inherited boto3 connections or threads).
    ctx = multiprocessing.get_context("forkserver")
    queue = ctx.Queue()
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set() or not queue.empty():
            try:
                progress(*queue.get(timeout=0.2))
            except Exception:  # queue.Empty; also a queue closed at the end
                continue

    reader = threading.Thread(target=drain, name="extract-progress", daemon=True)
    reader.start()
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(sources)), mp_context=ctx,
                                 initializer=_init_worker, initargs=(queue,)) as pool:
            futures = [pool.submit(_warc_job, s, str(out), options) for s in sources]
            for future in futures:  # one WARC per task; collected in input order
                yield future.result()
                file_done()
    finally:
        stop.set()
        reader.join(timeout=5)


def summarize(results: list[dict[str, Any]], seconds: float, out: Path | None) -> dict[str, Any]:
    """The totals of the files' results (what ``--json`` prints)."""
    def total(key: str) -> int:
        return sum(int(r[key]) for r in results)

    return {
        "files": len(results),
        "records": total("records"),
        "pages": total("pages"),
        "rendered": total("rendered"),
        "sidecars": total("sidecars"),
        "not_articles": total("not_articles"),
        "failed_pages": total("failed"),
        "error_sidecars": total("error_sidecars"),
        "errors": [r["error"] for r in results if r["error"]],
        "seconds": round(seconds, 3),
        "records_per_second": round(total("records") / max(seconds, 1e-9), 1),
        "out": str(out) if out is not None else "-",
        "outputs": [p for r in results for p in r["outputs"]],
    }
