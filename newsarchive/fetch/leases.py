"""The two threads of a frontier worker that look after its leases.

:class:`Acker` acknowledges each leased request once its WARC record is
written; :class:`LeaseKeeper` renews what the worker holds, puts dead
workers' expired leases back and beats the heart. Both run beside the
reactor, so a reactor busy in one long callback neither delays an
acknowledgement nor loses a lease. The frontier itself (leases, runs, the
Lua scripts) is :mod:`newsarchive.fetch.frontier`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsarchive.fetch.frontier import Frontier

logger = logging.getLogger(__name__)

# Seconds (at least; 3 leases if longer) the reactor may stand still while the lease
# thread still renews its leases (LeaseKeeper): past that the worker is taken as hung.
HUNG_AFTER = 120.0


class Acker:
    """Acknowledges leases from a thread, each once its WARC record is written."""

    def __init__(self, frontier: Frontier, timeout: float) -> None:
        self.frontier = frontier
        self.timeout = timeout
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="frontier-ack", daemon=True)
        self._thread.start()

    def submit(self, lease: str, ticket: Any = None) -> None:
        """Ack ``lease`` once ``ticket`` (if any) is written."""
        self._queue.put((lease, ticket))

    def close(self, timeout: float = 30.0) -> None:
        """Ack what is queued (bounded), then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            lease, ticket = item
            if ticket is not None:
                done = ticket.done.wait(self.timeout)
                if not done or ticket.location is None:
                    # Not written: the lease expires and another worker fetches it.
                    logger.warning("frontier: record of %s not written; lease %s left to "
                                   "expire", ticket.url, lease)
                    continue
                self.frontier.pages += 1
            try:
                self.frontier.ack(lease)
            except Exception as exc:  # the lease then expires: fetched again, not lost
                logger.warning("frontier: cannot acknowledge lease %s: %s", lease, exc)


class LeaseKeeper:
    """Renews this worker's leases from a thread, every third of the lease.

    On the reactor (a ``LoopingCall``, as it was) a reactor that stood still
    for two thirds of the lease -- a long callback, or an event loop starved
    on a busy machine -- let a live worker's leases expire, and its pages in
    flight were fetched again by another worker. This thread renews while the
    reactor stands, but only while the reactor was seen alive
    (:meth:`alive`, from a reactor timer) within ``hung_after`` seconds: a
    reactor that hangs for good gives its pages back to the other workers.
    Each round also puts dead workers' expired leases back and beats the heart.
    """

    def __init__(self, frontier: Frontier, hung_after: float) -> None:
        self.frontier = frontier
        self.interval = max(1.0, frontier.lease_seconds / 3)
        self.hung_after = hung_after
        self._seen = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="frontier-leases", daemon=True)

    def start(self) -> None:
        """Renew now, then every :attr:`interval` seconds until :meth:`stop`."""
        self._thread.start()

    def alive(self) -> None:
        """The reactor ran a timer just now."""
        self._seen = time.monotonic()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop renewing (before the leases are given back)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self.tick()
            if self._stop.wait(self.interval):
                return

    def tick(self) -> None:
        """Renew (unless the reactor hung), requeue the dead's leases, beat the heart."""
        try:
            stood = time.monotonic() - self._seen
            if stood < self.hung_after:
                self.frontier.renew()
            else:
                logger.warning("frontier: the crawl has not run for %.0f s; its leases are "
                               "left to expire", stood)
            self.frontier.requeue_expired()
            self.frontier.heartbeat()
        except Exception as exc:
            logger.warning("frontier: %s", exc)
