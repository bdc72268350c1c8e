"""Pool processes of ``extract --jobs`` that never outlive the command that started them.

``extract --jobs N`` on WARC files runs a
:class:`~concurrent.futures.ProcessPoolExecutor` with the ``forkserver`` start
method: the command starts a fork server, which forks the workers (each with
its bounded extraction worker, :mod:`newsarchive.extract.worker`); a resource
tracker sits beside them. After ``kill -9`` of the command nothing tells them:
a worker finishes its part of a WARC and then waits on its task pipe for good,
and the fork server and tracker stay with it.

* :func:`die_with_parent` asks Linux (``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to
  kill the calling process when its parent dies. The fork server runs it on
  start (:data:`PRELOAD`, with the command's pid from :data:`PARENT_ENV`) and
  every pool worker in its initializer (:func:`worker_init`), so kill -9 of the
  command takes the fork server down, which takes the workers down, whose
  bounded workers follow theirs, and whose exit closes the tracker's last pipe.
* SIGINT and SIGTERM are not ignored in pool workers: Ctrl-C reaches the whole
  process group, and the command, which reports the interrupt, must not wait
  for a worker to finish its part of a WARC.
"""

from __future__ import annotations

from newsarchive.lifetime import die_with_parent

#: the command's pid, for the fork server: it may have died while the server started
PARENT_ENV = "NEWSARCHIVE_POOL_PARENT"
#: what the fork server imports on start: never imported by the command itself
PRELOAD = ["newsarchive.extract.forkserver_init"]


def worker_init() -> None:
    """Initializer of each pool worker: it dies with the fork server that forked it."""
    die_with_parent()

