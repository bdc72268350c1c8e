"""The runs database: one row per scheduled crawl, for ``newsarchive runs``.

``COLLECTIONS/runs.sqlite`` holds, per run: the site, when it started and how
long it took, its status (``running``; then ``ok``, ``partial`` (some pages
failed), ``failed``, ``interrupted`` (SIGINT/SIGTERM), ``time-limited``, or
``lost`` (the process vanished without a summary): see :func:`run_status`), the exit
code, and from the crawl's ``--json`` summary the pages fetched, new articles,
errors and WARC files written. A row is inserted when a run starts, so a run
whose scheduler died is still visible (and is settled on the next start).
"""

from __future__ import annotations

import builtins
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from newsarchive.discover.state import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    site TEXT NOT NULL,
    collection TEXT NOT NULL,
    started_at TEXT NOT NULL,      -- ISO 8601 with offset
    finished_at TEXT,
    duration REAL,                 -- seconds
    status TEXT NOT NULL,          -- running, ok, partial, failed, interrupted, time-limited, lost
    exit_code INTEGER,
    pages INTEGER,
    new_articles INTEGER,
    errors INTEGER,
    warc_files TEXT,               -- JSON list of paths
    pid INTEGER,
    output TEXT,                   -- file holding the crawl's --json summary
    log TEXT,                      -- file holding the crawl's stderr
    message TEXT                   -- why a run failed, in one line
);
CREATE INDEX IF NOT EXISTS runs_site ON runs (site, started_at);
"""


@dataclass
class RunRecord:
    """One run, as stored."""

    id: int
    site: str
    collection: str
    started_at: str
    finished_at: str | None = None
    duration: float | None = None
    status: str = "running"
    exit_code: int | None = None
    pages: int | None = None
    new_articles: int | None = None
    errors: int | None = None
    warc_files: list[str] = field(default_factory=list)
    pid: int | None = None
    output: str | None = None
    log: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form for ``runs --json``."""
        return asdict(self)


#: statuses of a run that did its job (``schedule --once`` exits 0 on them)
GOOD_STATUSES = frozenset({"ok", "time-limited"})
_SIGNAL_EXITS = {130, 143, -2, -15}  # 128+signal from the crawl; -signal if it died of it


def run_status(exit_code: int, summary: dict[str, Any] | None) -> str:
    """A settled run's status: the crawl's own ``outcome`` when it printed a
    summary that agrees with its exit code, else what the exit code says."""
    outcome = (summary or {}).get("outcome")
    if exit_code in _SIGNAL_EXITS:
        return "interrupted"
    if outcome in ("ok", "partial", "failed", "interrupted", "time-limited"):
        if exit_code == 0 or outcome != "ok":
            return str(outcome)
    if exit_code == 0 and summary is not None:
        return "ok"
    return "failed"


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: exit code and the crawl's ``--json`` summary, if it printed one."""

    exit_code: int
    summary: dict[str, Any] | None = None
    message: str | None = None


class RunsDB:
    """The runs database of a collections folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.db = open_db(self.path, SCHEMA, "runs database")

    def start(
        self,
        site: str,
        collection: Path,
        started: datetime,
        *,
        output: Path | None = None,
        log: Path | None = None,
    ) -> int:
        """Insert a ``running`` row; return its id."""
        cur = self.db.execute(
            "INSERT INTO runs (site, collection, started_at, status, output, log)"
            " VALUES (?, ?, ?, 'running', ?, ?)",
            (site, str(collection), started.isoformat(timespec="seconds"),
             str(output) if output else None, str(log) if log else None),
        )
        self.db.commit()
        return int(cur.lastrowid or 0)

    def set_pid(self, run_id: int, pid: int | None) -> None:
        """Record the PID of the crawl process."""
        self.db.execute("UPDATE runs SET pid = ? WHERE id = ?", (pid, run_id))
        self.db.commit()

    def finish(self, run_id: int, finished: datetime, outcome: RunOutcome) -> RunRecord:
        """Settle a run from its outcome; return the stored row."""
        row = self.get(run_id)
        assert row is not None
        summary = outcome.summary or {}
        started = datetime.fromisoformat(row.started_at)
        status = run_status(outcome.exit_code, outcome.summary)
        self.db.execute(
            "UPDATE runs SET finished_at = ?, duration = ?, status = ?, exit_code = ?,"
            " pages = ?, new_articles = ?, errors = ?, warc_files = ?, message = ?"
            " WHERE id = ?",
            (
                finished.isoformat(timespec="seconds"),
                max(0.0, (finished - started).total_seconds()),
                status,
                outcome.exit_code,
                summary.get("pages"),
                summary.get("new_articles"),
                summary.get("failed", summary.get("errors")),
                json.dumps(summary.get("warc_files") or []),
                outcome.message or summary.get("error"),
                run_id,
            ),
        )
        self.db.commit()
        settled = self.get(run_id)
        assert settled is not None
        return settled

    def mark_lost(self, run_id: int, message: str) -> None:
        """A run whose process vanished without a summary."""
        self.db.execute(
            "UPDATE runs SET status = 'lost', message = ? WHERE id = ?", (message, run_id)
        )
        self.db.commit()

    def get(self, run_id: int) -> RunRecord | None:
        """One run by id."""
        rows = self._select("WHERE id = ?", (run_id,))
        return rows[0] if rows else None

    def running(self) -> list[RunRecord]:
        """Runs not settled yet."""
        return self._select("WHERE status = 'running' ORDER BY id", ())

    def list(self, site: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The latest runs, newest first."""
        if site:
            return self._select("WHERE site = ? ORDER BY id DESC LIMIT ?", (site, limit))
        return self._select("ORDER BY id DESC LIMIT ?", (limit,))

    def _select(self, where: str, params: tuple[Any, ...]) -> builtins.list[RunRecord]:
        cols = (
            "id, site, collection, started_at, finished_at, duration, status, exit_code,"
            " pages, new_articles, errors, warc_files, pid, output, log, message"
        )
        out = []
        for row in self.db.execute(f"SELECT {cols} FROM runs {where}", params):
            values = list(row)
            values[11] = json.loads(values[11]) if values[11] else []
            out.append(RunRecord(*values))
        return out

    def close(self) -> None:
        """Close the database."""
        self.db.close()
