"""A collection's run history: each crawl's ``--json`` summary, kept under ``reports/``.

Every crawl into a collection folder writes ``DIR/reports/RUN.json`` when it
starts (``status: running`` and its PID) and replaces it with its full summary
when it ends, then its report ``DIR/reports/RUN.html``. ``RUN`` is the start
time in UTC (``20261130T095436Z``), so names sort by time. A run killed before
its end keeps the ``running`` file; :func:`load_runs` reports it as ``lost``
once its process is gone. Reports can be rebuilt from these files later.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsarchive.exceptions import UserError
from newsarchive.lifetime import pid_alive

logger = logging.getLogger(__name__)

REPORTS_DIR = "reports"


def run_id_for(when: dt.datetime) -> str:
    """``20261130T095436Z``: a run's id from its start time."""
    return when.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


@dataclass
class RunInfo:
    """One run of a collection, from its file under ``reports/``."""

    run_id: str
    path: Path
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """The crawl's outcome (``ok``, ``partial``, ``failed``, ``interrupted``,
        ``time-limited``), or ``running``, or ``lost`` (killed before its end)."""
        state = self.summary.get("status")
        if state == "running":
            return "running" if pid_alive(self.summary.get("pid")) else "lost"
        if self.summary.get("outcome"):
            return str(self.summary["outcome"])
        if self.summary.get("error") or (self.summary.get("exit_code") or 0) != 0:
            return "failed"
        return "ok"

    @property
    def started(self) -> dt.datetime | None:
        """When the run began (UTC)."""
        text = self.summary.get("started_at")
        return dt.datetime.fromisoformat(text) if isinstance(text, str) else None

    @property
    def finished(self) -> dt.datetime | None:
        """When the run ended (UTC), if it did."""
        text = self.summary.get("finished_at")
        return dt.datetime.fromisoformat(text) if isinstance(text, str) else None

    @property
    def report(self) -> Path:
        """Where its HTML report is (or goes)."""
        return self.path.with_suffix(".html")

    def brief(self) -> dict[str, Any]:
        """The run as ``status --json`` gives it."""
        s = self.summary
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_at": s.get("started_at"),
            "finished_at": s.get("finished_at"),
            "finish_reason": s.get("finish_reason"),
            "pages": s.get("pages"),
            "errors": s.get("errors"),
            "error": s.get("error"),
            "report": str(self.report) if self.report.is_file() else None,
        }


def reports_dir(collection: Path) -> Path:
    """``DIR/reports``."""
    return Path(collection) / REPORTS_DIR


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)


def start_run(collection: Path, now: dt.datetime | None = None) -> RunInfo:
    """Record that a crawl into ``collection`` starts now (a ``running`` file)."""
    started = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    folder = reports_dir(collection)
    folder.mkdir(parents=True, exist_ok=True)
    run_id = run_id_for(started)
    path = folder / f"{run_id}.json"
    serial = 1
    while True:
        # Claimed by creating it: runs started in one second (workers of a
        # frontier into one folder) each get their own id.
        try:
            with open(path, "x", encoding="utf-8"):
                break
        except FileExistsError:
            serial += 1
            run_id = f"{run_id_for(started)}-{serial}"
            path = folder / f"{run_id}.json"
    summary = {"run_id": run_id, "status": "running", "pid": os.getpid(),
               "started_at": started.isoformat(timespec="seconds")}
    _write_json(path, summary)
    return RunInfo(run_id, path, summary)


def finish_run(run: RunInfo, summary: Mapping[str, Any], exit_code: int,
               now: dt.datetime | None = None) -> RunInfo:
    """Replace the ``running`` file with the crawl's summary."""
    finished = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    data = {**summary, "run_id": run.run_id, "status": "finished", "exit_code": exit_code,
            "started_at": run.summary.get("started_at"),
            "finished_at": finished.isoformat(timespec="seconds")}
    _write_json(run.path, data)
    run.summary = data
    return run


def discard_run(run: RunInfo) -> None:
    """Remove the ``running`` file of a run that never started."""
    try:
        run.path.unlink()
    except OSError as exc:
        logger.warning("could not remove %s: %s", run.path, exc)


def load_runs(collection: Path) -> list[RunInfo]:
    """Every run recorded in ``collection``, oldest first (unreadable files skipped)."""
    folder = reports_dir(collection)
    runs = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            logger.warning("skipping %s: %s", path, exc)
            continue
        if isinstance(data, dict):
            runs.append(RunInfo(path.stem, path, data))
    return runs


def find_run(collection: Path, run_id: str | None) -> RunInfo | None:
    """The run ``run_id`` (the latest one when None); None if there is no run at all."""
    runs = load_runs(collection)
    if run_id is None:
        return runs[-1] if runs else None
    for run in runs:
        if run.run_id == run_id:
            return run
    known = ", ".join(r.run_id for r in runs[-5:]) or "none"
    raise UserError(f"no run {run_id!r} in {reports_dir(collection)} (latest: {known})")
