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

import bisect
import json
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsarchive.collection import SIDECAR_WARC_SUFFIX, WARC_GZ, WARC_WRITTEN_SUFFIXES
from newsarchive.exceptions import ConfigError, ExtractionError, UserError
from newsarchive.extract.batch import Part
from newsarchive.extract.workers import PARENT_ENV, PRELOAD, worker_init
from newsarchive.lifetime import pid_alive

logger = logging.getLogger(__name__)

#: our own outputs, never inputs (they hold metadata records only)
OUTPUT_SUFFIXES = (SIDECAR_WARC_SUFFIX,)

#: a local gzipped WARC file this big or bigger is cut into parts for ``--jobs`` > 1
SPLIT_BYTES = 8 << 20
#: parts per process of a cut file: processes finish closer together with more
PARTS_PER_JOB = 4
#: records a part owns at least (each part also reads a lead and a tail, about
#: the lead and the tail, about 4 x WINDOW_RECORDS records that others own)
MIN_PART_RECORDS = 4000

#: (records, sidecars) read since the last call
ProgressCallback = Callable[[int, int], None]


# -- saved HTML pages -------------------------------------------------------------


def extract_file(path: Path, url: str | None, render: bool = False,
                 limits: Any = None, extractor: Any = None) -> dict[str, Any]:
    """The sidecar of one saved page; the URL defaults to the file's own address.

    Extracted under ``limits`` (:class:`~newsarchive.extract.bounded.Limits`): a
    page over them, or one the extractor fails on, gives a sidecar with
    ``extractor.error``. ``extractor``: the
    :class:`~newsarchive.extract.bounded.BoundedExtractor` to use (default: this
    process's own).
    """
    from newsarchive.extract.bounded import Limits, shared

    try:
        body = path.read_bytes()
    except OSError as exc:
        raise ExtractionError(f"{path}: cannot read ({exc.strerror})") from None
    if render:  # newsarchive.fetch.render: the DOM once the page's scripts ran
        from newsarchive.extract.savedpage import render_html_file

        body = render_html_file(path, url).encode("utf-8")
    try:
        extractor = extractor or shared(limits or Limits())
        sidecar = extractor.extract(body, url or path.resolve().as_uri())
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


def _html_job(item: HtmlItem, extractor: Any = None) -> tuple[Path, str | None, bool]:
    """Extract one page and write its files; the error message on failure, and
    whether a sidecar (with ``extractor.error``) was written all the same."""
    from newsarchive.extract.bounded import extraction_error

    path, out, url, render, limits = item
    try:
        sidecar = extract_file(path, url, render, limits, extractor)
        if out is not None:
            write_outputs(sidecar, out / path.stem)
    except ExtractionError as exc:
        return path, str(exc), False
    error = extraction_error(sidecar)
    return path, f"{path}: {error}" if error else None, error is not None


def run_html(files: list[Path], out: Path, *, url: str | None, render: bool, limits: Any,
             jobs: int) -> list[tuple[Path, str | None, bool]]:
    """Extract ``files`` into ``out``; per file ``(path, error or None, written anyway)``.

    With ``jobs`` > 1 the pages go to ``jobs`` extraction workers (each a
    :class:`~newsarchive.extract.bounded.BoundedExtractor` process) fed by as
    many threads here: reading a file and writing two is light, so no process
    sits between a page and its worker (a process pool of readers, each with its
    own worker, cost more than it gained). The workers are forked from one warm
    template (:mod:`newsarchive.extract.forked`), so a second worker costs no
    second start. Rendering goes through processes: one browser per process.
    """
    from newsarchive.extract.bounded import START_TIMEOUT, BoundedExtractor
    from newsarchive.extract.forked import WorkerTemplate

    items: list[HtmlItem] = [(f, out, url, render, limits) for f in files]
    if jobs <= 1 or len(items) <= 1:
        return [_html_job(i) for i in items]
    if render:
        with ProcessPoolExecutor(max_workers=jobs, initializer=worker_init) as pool:
            return list(pool.map(_html_job, items, chunksize=4))
    template = WorkerTemplate(START_TIMEOUT)
    extractors = [BoundedExtractor(limits, template=template)
                  for _ in range(min(jobs, len(items)))]
    free: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for extractor in extractors:
        free.put(extractor)

    def job(item: HtmlItem) -> tuple[Path, str | None, bool]:
        extractor = free.get()
        try:
            return _html_job(item, extractor)
        finally:
            free.put(extractor)

    try:
        template.start()  # warms up while the threads start
        with ThreadPoolExecutor(max_workers=len(extractors),
                                thread_name_prefix="extract") as threads:
            return list(threads.map(job, items))
    finally:
        for extractor in extractors:
            extractor.close()
        template.close()  # after its workers: they die with it


# -- WARC files ------------------------------------------------------------------


def warc_sources(inputs: Iterable[str], endpoint_url: str | None = None,
                 region: str | None = None) -> list[str]:
    """WARC files of the inputs: files as given, a collection's ``warc/`` files, a
    folder's or ``s3://`` prefix's WARC files (our ``*.sidecars.warc.gz`` outputs left out)."""
    from newsarchive.store import list_inputs

    def listed(where: str) -> list[str]:
        return list_inputs(where, WARC_WRITTEN_SUFFIXES, endpoint_url=endpoint_url,
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
    worker_init()


def _report(records: int, sidecars: int) -> None:
    _QUEUE.put((records, sidecars))


def _warc_job(source: str, out: str, options: dict[str, Any]) -> dict[str, Any]:
    """Worker: one WARC file (or one part of it); returns its :class:`WarcResult` as a dict."""
    from newsarchive.extract.batch import extract_warc

    progress = _report if _QUEUE is not None else options.pop("progress", None)
    return extract_warc(source, Path(out), progress=progress, **options).as_dict()


@dataclass
class _Cut:
    """A file cut into parts: what joining them needs."""

    parts: list[Part]
    warcinfo: bytes  # the sidecar WARC's warcinfo record, its gzip member


def cut_file(source: str, jobs: int) -> _Cut | None:
    """The parts of a local gzipped WARC file worth cutting for ``jobs`` processes, else None.

    A first pass walks the file's gzip members (one record each: inflated and
    dropped, at zlib's speed) for the record offsets; the file is cut at
    about equal byte shares, :data:`PARTS_PER_JOB` per process so they finish
    close together, each part owning at least :data:`MIN_PART_RECORDS`. A file
    with a broken member is not cut (a whole read reports its damage).
    """
    from newsarchive.capture.gzmembers import iter_members
    from newsarchive.extract.archive import lead_records
    from newsarchive.extract.batch import output_stem
    from newsarchive.extract.outputs import WARC_SUFFIX, warcinfo_member

    path = Path(source)
    if jobs <= 1 or "://" in source or not source.endswith(WARC_GZ):
        return None
    try:
        size = path.stat().st_size
        if size < SPLIT_BYTES:
            return None
        with open(path, "rb") as fh:
            offsets = []
            for member in iter_members(fh):
                if not member.complete:
                    return None
                offsets.append(member.offset)
    except OSError:
        return None  # the whole read says what is wrong
    count = min(jobs * PARTS_PER_JOB, len(offsets) // MIN_PART_RECORDS)
    if count < 2:
        return None
    starts = [0] + [bisect.bisect_left(offsets, size * k // count) for k in range(1, count)]
    starts = sorted(set(starts))
    stem = output_stem(source)
    warcinfo_id, warcinfo = warcinfo_member(stem + WARC_SUFFIX, stem, datetime.now(UTC))
    parts = []
    for number, first in enumerate(starts):
        end = starts[number + 1] if number + 1 < len(starts) else len(offsets)
        lead = min(first, lead_records())
        parts.append(Part(number, offsets[first - lead], lead, end - first, warcinfo_id))
    return _Cut(parts, warcinfo)


def _joined(source: str, out: Path, cut: _Cut, results: list[dict[str, Any]],
            write_warc: bool) -> dict[str, Any]:
    """One file's result from its parts' (their sidecar files joined into the file's own)."""
    from newsarchive.extract.batch import output_stem
    from newsarchive.extract.outputs import join_parts

    whole: dict[str, Any] = {"source": source, "outputs": [], "error": None,
                             "seconds": max(r["seconds"] for r in results)}
    for key in ("records", "pages", "rendered", "sidecars", "not_articles", "failed",
                "error_sidecars"):
        whole[key] = sum(int(r[key]) for r in results)
    errors = [r["error"] for r in results if r["error"]]
    whole["error"] = errors[0] if errors else None
    parts = [[Path(p) for p in r["outputs"]] for r in results if r["outputs"]]
    try:
        whole["outputs"] = [str(p) for p in join_parts(
            out, output_stem(source), parts, cut.warcinfo if write_warc else None)]
    except UserError as exc:
        whole["error"] = whole["error"] or str(exc)
    return whole


#: the folder in ``--out`` where the parts of a cut file are extracted, then joined;
#: named with the pid of the run that made it
SCRATCH_PREFIX = ".extract-parts-"


def clear_stale_scratch(out: Path) -> None:
    """Remove the scratch folders in ``out`` of runs that were killed (their pid gone).

    A run removes its own at its end, but not after a ``kill -9``; another run
    into the same folder, still running, keeps its own.
    """
    for folder in out.glob(SCRATCH_PREFIX + "*"):
        pid = folder.name[len(SCRATCH_PREFIX):].partition("-")[0]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        logger.info("removing %s, left by a run that was stopped", folder)
        shutil.rmtree(folder, ignore_errors=True)


def run_warcs(sources: list[str], out: Path, options: dict[str, Any], jobs: int,
              progress: ProgressCallback, file_done: Callable[[], None]
              ) -> Iterator[dict[str, Any]]:
    """Results of :func:`~newsarchive.extract.batch.extract_warc` in input order, from
    this process or from ``jobs`` worker processes. ``options`` are its keyword
    arguments; ``progress`` gets the records and sidecars as they are done,
    ``file_done`` is called after each file.

    With ``jobs`` > 1, a big local file is cut into parts (:func:`cut_file`)
    extracted side by side; their sidecars are joined in the file's order, so
    the outputs are those of a whole read.
    """
    cuts = {s: cut_file(s, jobs) for s in sources} if jobs > 1 else {}
    tasks = sum(len(c.parts) if c else 1 for c in cuts.values())
    if jobs <= 1 or tasks <= 1:
        for source in sources:
            yield _warc_job(source, str(out), {**options, "progress": progress})
            file_done()
        return
    # forkserver: clean workers (no inherited boto3 connections or threads),
    # tied to this process so that a kill -9 of it leaves none running.
    ctx = multiprocessing.get_context("forkserver")
    # Read by the fork server when it starts (with the pool), then restored:
    # a library caller's environment is left as it was.
    previous = os.environ.get(PARENT_ENV)
    os.environ[PARENT_ENV] = str(os.getpid())
    ctx.set_forkserver_preload(PRELOAD)
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
    clear_stale_scratch(out)
    scratch = tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=out)
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, tasks), mp_context=ctx,
                                 initializer=_init_worker, initargs=(queue,)) as pool:
            futures = []
            for source in sources:
                cut = cuts[source]
                if cut is None:
                    futures.append([pool.submit(_warc_job, source, str(out), options)])
                else:
                    futures.append([pool.submit(_warc_job, source, scratch.name,
                                                {**options, "part": part})
                                    for part in cut.parts])
            for source, running in zip(sources, futures, strict=True):  # in input order
                results = [f.result() for f in running]
                cut = cuts[source]
                yield results[0] if cut is None else _joined(
                    source, out, cut, results, options.get("write_warc", True))
                file_done()
    finally:
        stop.set()
        reader.join(timeout=5)
        scratch.cleanup()
        if previous is None:
            os.environ.pop(PARENT_ENV, None)
        else:
            os.environ[PARENT_ENV] = previous


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
