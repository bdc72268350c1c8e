"""The scheduler: cron slots with injected time, one run per site at a time, the runs table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from newsarchive.demosite.server import DemoSite
from newsarchive.schedule.lock import SiteLock
from newsarchive.schedule.runs import RunOutcome, RunsDB
from newsarchive.schedule.scheduler import Job, Scheduler, load_sites

NEWSARCHIVE = str(Path(sys.executable).with_name("newsarchive"))
UTC = UTC


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def set(self, hh_mm_ss: str) -> None:
        h, m, s = (int(x) for x in hh_mm_ss.split(":"))
        self.current = self.current.replace(hour=h, minute=m, second=s)


class FakeRun:
    """A run that ends when the test calls :meth:`end`."""

    def __init__(self, job: Job, pid: int) -> None:
        self.job = job
        self.pid: int | None = pid
        self.outcome: RunOutcome | None = None
        self.terminated = False

    def end(self, pages: int, new_articles: int, exit_code: int = 0) -> None:
        summary = {"pages": pages, "new_articles": new_articles, "errors": 0,
                   "warc_files": [f"{self.job.collection}/warc/x-{pages}.warc.gz"]}
        self.outcome = RunOutcome(exit_code=exit_code, summary=summary)

    def poll(self) -> RunOutcome | None:
        return self.outcome

    def terminate(self) -> None:
        self.terminated = True


class FakeLauncher:
    """Records the jobs it was asked to start."""

    def __init__(self) -> None:
        self.runs: list[FakeRun] = []

    def launch(self, job: Job) -> FakeRun:
        run = FakeRun(job, pid=10_000 + len(self.runs))
        self.runs.append(run)
        return run


def write_site(folder: Path, name: str, url: str, schedule: str | None = "* * * * *") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    text = f"name: {name}\nstart_urls: [{url}]\ndepth: 1\n"
    if schedule:
        text += f'schedule: "{schedule}"\n'
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def demo_site_url():
    with DemoSite(articles=12) as site:
        yield site.url


@pytest.fixture
def one_site(tmp_path: Path) -> tuple[Scheduler, FakeClock, FakeLauncher, Path]:
    write_site(tmp_path / "sites", "gazette", "http://127.0.0.1:9/")
    clock = FakeClock(datetime(2026, 3, 15, 10, 0, 30, tzinfo=UTC))
    launcher = FakeLauncher()
    collections = tmp_path / "collections"
    sched = Scheduler(load_sites(tmp_path / "sites"), collections, launcher=launcher, clock=clock)
    yield sched, clock, launcher, collections
    sched.close()


def test_one_minute_cron_runs_twice_and_records_both(one_site) -> None:
    sched, clock, launcher, collections = one_site
    clock.set("10:00:59")
    assert sched.tick().started == []  # the first slot is 10:01, not the start time
    clock.set("10:01:00")
    assert sched.tick().started == ["gazette"]
    launcher.runs[0].end(pages=40, new_articles=12)
    clock.set("10:01:45")
    finished = sched.tick().finished
    assert [r.status for r in finished] == ["ok"]
    clock.set("10:02:00")
    assert sched.tick().started == ["gazette"]
    launcher.runs[1].end(pages=7, new_articles=3)
    clock.set("10:02:20")
    sched.tick()

    rows = sorted(sched.runs.list(), key=lambda r: r.id)
    assert [(r.site, r.status, r.pages, r.new_articles) for r in rows] == [
        ("gazette", "ok", 40, 12),
        ("gazette", "ok", 7, 3),
    ]
    assert [r.started_at for r in rows] == ["2026-03-15T10:01:00+00:00", "2026-03-15T10:02:00+00:00"]
    assert [r.duration for r in rows] == [45.0, 20.0]
    assert rows[0].warc_files == [f"{collections}/gazette/warc/x-40.warc.gz"]
    # Each run went to the site's collection, with its own output files.
    assert launcher.runs[0].job.collection == collections / "gazette"
    assert launcher.runs[0].job.output != launcher.runs[1].job.output


def test_a_run_in_progress_blocks_the_next_slot(one_site) -> None:
    sched, clock, launcher, _ = one_site
    clock.set("10:01:00")
    assert sched.tick().started == ["gazette"]
    clock.set("10:02:00")
    report = sched.tick()
    assert report.started == [] and report.skipped == ["gazette"]
    clock.set("10:03:00")
    assert sched.tick().skipped == ["gazette"]
    assert len(launcher.runs) == 1
    assert [r.status for r in sched.runs.list()] == ["running"]
    launcher.runs[0].end(pages=1, new_articles=0)
    clock.set("10:04:00")
    report = sched.tick()
    assert [r.status for r in report.finished] == ["ok"] and report.started == ["gazette"]
    assert len(launcher.runs) == 2


@pytest.mark.slow  # crawl processes
def test_a_lock_held_by_another_process_blocks_and_dies_with_it(one_site) -> None:
    """A scheduler that crashed left its crawl running: the crawl's lock still counts;
    once that process is gone (even killed), the lock is free."""
    sched, clock, launcher, collections = one_site
    lock_path = collections / "locks" / "gazette.lock"
    lock_path.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock_path)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\n"
         "print('locked', flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        clock.set("10:01:00")
        assert sched.tick().skipped == ["gazette"]
        assert launcher.runs == []
    finally:
        holder.kill()
        holder.wait()
    clock.set("10:02:00")
    assert sched.tick().started == ["gazette"]


@pytest.mark.slow  # crawl processes
def test_the_lock_is_shared_with_the_crawl_it_starts(tmp_path: Path) -> None:
    """The descriptor passed to the crawl keeps the site locked after the scheduler lets go."""
    lock = SiteLock(tmp_path / "s.lock")
    assert lock.acquire()
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], pass_fds=(lock.fd,)
    )
    try:
        lock.release()  # the scheduler died
        assert not SiteLock(tmp_path / "s.lock").acquire()
    finally:
        child.kill()
        child.wait()
    assert SiteLock(tmp_path / "s.lock").acquire()


def test_a_run_left_by_a_dead_scheduler_is_settled(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "gazette", "http://127.0.0.1:9/")
    collections = tmp_path / "collections"
    db = RunsDB(collections / "runs.sqlite")
    output = tmp_path / "finished.json"
    output.write_text(json.dumps({"pages": 5, "new_articles": 2, "errors": 0, "warc_files": []}))
    done = db.start("gazette", collections / "gazette", datetime(2026, 3, 15, 9, 0, tzinfo=UTC), output=output)
    lost = db.start("gazette", collections / "gazette", datetime(2026, 3, 15, 9, 5, tzinfo=UTC),
                    output=tmp_path / "never-written.json")
    db.close()
    clock = FakeClock(datetime(2026, 3, 15, 9, 10, tzinfo=UTC))
    sched = Scheduler(load_sites(tmp_path / "sites"), collections, launcher=FakeLauncher(), clock=clock)
    try:
        assert sched.runs.get(done).status == "ok" and sched.runs.get(done).pages == 5
        assert sched.runs.get(lost).status == "lost"
    finally:
        sched.close()


@pytest.mark.slow  # crawl processes
def test_schedule_once_and_runs_table_with_real_crawls(tmp_path: Path, demo_site_url: str) -> None:
    """``schedule --once`` runs the real ``newsarchive crawl`` and ``runs`` shows it."""
    write_site(tmp_path / "sites", "demo", demo_site_url, schedule="@hourly")
    collections = tmp_path / "collections"
    done = subprocess.run(
        [NEWSARCHIVE, "schedule", str(tmp_path / "sites"), "--collections", str(collections),
         "--once", "--poll", "0.2"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = [ln for ln in done.stdout.splitlines() if "demo: run 1" in ln]
    assert len(lines) == 2 and "started" in lines[0] and "finished" in lines[1]
    runs = subprocess.run(
        [NEWSARCHIVE, "runs", "--collections", str(collections), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert runs.returncode == 0, runs.stderr
    (row,) = json.loads(runs.stdout)
    assert row["site"] == "demo" and row["status"] == "ok" and row["exit_code"] == 0
    assert row["pages"] > 10 and row["new_articles"] > 0 and row["errors"] == 0
    assert row["warc_files"] and all(Path(p).is_file() for p in row["warc_files"])
    assert Path(row["collection"]) == collections / "demo"
    # The run's crawl report, written by the crawl into the collection.
    assert Path(row["report"]).is_file() and Path(row["report"]).parent == collections / "demo" / "reports"
    table = subprocess.run(
        [NEWSARCHIVE, "runs", "--collections", str(collections)],
        capture_output=True, text=True, timeout=60,
    ).stdout.splitlines()
    assert table[0].split() == ["ID", "SITE", "START", "DURATION", "STATUS", "PAGES", "NEW", "ERRORS",
                                "WARC", "REPORT"]
    assert table[1].split()[1] == "demo" and "ok" in table[1].split()
    assert table[1].split()[-1] == row["report"]


def test_runs_without_a_database_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [NEWSARCHIVE, "runs", "--collections", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no runs recorded" in done.stderr


def test_site_without_schedule_is_not_run(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "manual", "http://127.0.0.1:9/", schedule=None)
    clock = FakeClock(datetime(2026, 3, 15, 10, 0, tzinfo=UTC))
    launcher = FakeLauncher()
    sched = Scheduler(load_sites(tmp_path / "sites"), tmp_path / "c", launcher=launcher, clock=clock)
    try:
        clock.sleep(7 * 86400)
        assert sched.tick().started == [] and launcher.runs == []
    finally:
        sched.close()


def test_duplicate_site_names_are_refused(tmp_path: Path) -> None:
    write_site(tmp_path / "sites", "a", "http://127.0.0.1:9/")
    (tmp_path / "sites" / "b.yaml").write_text("name: a\nstart_urls: [http://127.0.0.1:9/]\n")
    from newsarchive.exceptions import ConfigError

    with pytest.raises(ConfigError, match="name 'a' is already used"):
        load_sites(tmp_path / "sites")


def test_pid_in_lock_file(tmp_path: Path) -> None:
    lock = SiteLock(tmp_path / "x.lock")
    assert lock.acquire()
    assert lock.holder() == os.getpid()
    lock.note_pid(4242)
    assert lock.holder() == 4242
    lock.release()
