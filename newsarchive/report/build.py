"""Building a crawl report file: gather the numbers, draw the charts, write the HTML."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from newsarchive.collection import Collection
from newsarchive.exceptions import StorageError
from newsarchive.memory import release_memory
from newsarchive.report.history import RunInfo, find_run

logger = logging.getLogger(__name__)


def build_report(location: str | Path, run_id: str | None = None,
                 out: Path | None = None) -> Path:
    """Write the report of run ``run_id`` of a collection (its latest run when None).

    A collection without recorded runs gets a report of all it holds. The
    file goes to ``out``, else beside the run's summary
    (``DIR/reports/RUN.html``), else ``DIR/reports/collection.html``.
    """
    coll = Collection.open(location, must_have_warcs=False)
    run = None if coll.remote else find_run(Path(coll.root), run_id)
    if out is None:
        if coll.remote:
            out = Path(f"{coll.name}-report.html")
        elif run is not None:
            out = run.report
        else:
            out = Path(coll.root) / "reports" / "collection.html"
    return write_report(coll, run, out)


def write_report(coll: Collection, run: RunInfo | None, out: Path) -> Path:
    """Gather, draw and write; the file appears complete or not at all."""
    from newsarchive.report.chartproc import ChartProcess
    from newsarchive.report.charts import draw_all
    from newsarchive.report.data import gather
    from newsarchive.report.page import render
    from newsarchive.report.status import articles_without_sidecar

    # The chart engine starts in a child, on the other core, while the numbers are gathered.
    drawer = ChartProcess()
    try:
        release_memory()  # after the crawl's last catalog part (newsarchive.memory)
        data = gather(coll, run, articles_without_sidecar(coll))
        text = render(data, draw_all(data, drawer))
    finally:
        drawer.close()
    tmp = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write the report {out}: {exc.strerror or exc}") from exc
    logger.info("report: %s", out)
    return out


def report_after_crawl(run: RunInfo, summary: dict[str, Any]) -> str | None:
    """The end-of-crawl report of a collection folder; its path, or None if it failed.

    A report that cannot be written is logged, never a failed crawl.
    """
    try:
        coll = Collection.open(summary.get("out") or run.path.parent.parent,
                               must_have_warcs=False)
        return str(write_report(coll, run, run.report))
    except Exception as exc:  # the crawl's own outcome must stand whatever happens here
        logger.warning("could not write the crawl report %s: %s", run.report, exc,
                       exc_info=logger.isEnabledFor(logging.DEBUG))
        return None


def crawl_with_report(out: Path, spider_kwargs: dict[str, Any],
                      overrides: dict[str, Any] | None = None, report: bool = True) -> Any:
    """Run a crawl (:func:`newsarchive.crawl.run_crawl`) as a recorded run of ``out``.

    Its summary is kept in ``out/reports/RUN.json`` (``running`` until it
    ends), and its report written to ``out/reports/RUN.html`` unless
    ``report`` is False; the summary names both. With a remote ``STORE_URI``
    the collection's state is restored from the store into an empty spool
    before, and saved there after (:mod:`newsarchive.store.snapshot`).
    """
    from newsarchive.crawl import run_crawl
    from newsarchive.report.history import discard_run, finish_run, start_run
    from newsarchive.store.snapshot import StateSync, restore_before_run, save_after_run

    # With --store, a spool without a crawl state first gets the collection's
    # own back from the store, and every run's state goes there after it.
    sync = StateSync.from_overrides(Path(out), overrides or {})
    restore_before_run(sync)
    log_offset = sync.log_offset() if sync is not None else 0
    try:
        run = start_run(Path(out))
    except OSError as exc:
        raise StorageError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    try:
        summary = run_crawl(out, spider_kwargs, overrides)
    except BaseException:
        discard_run(run)  # it never started (a busy folder, a bad setting, Ctrl-C)
        raise
    summary.run_id = run.run_id
    code = summary.exit_code()
    report = report and not summary.stopped_at_once  # a hard stop must not wait for charts
    if report:
        summary.report = str(run.report)
    finish_run(run, summary.as_dict(), code)
    if report and report_after_crawl(run, run.summary) is None:
        summary.report = None
        finish_run(run, summary.as_dict(), code)  # no report to name
    if save_after_run(sync, run.run_id, log_offset) is not None:
        summary.storage_error = True  # logged; the next run would not be incremental: exit 3
    return summary
