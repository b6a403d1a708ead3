"""A heartbeat: long-running work (a batch plan or part, a report) renews its lease.

A thread of the task's process pushes the lease forward every third of
``LIFEBOAT_RUNNING_LEASE_SECONDS`` while the work runs, so a healthy slow part is
never taken for a dead one; when the process dies (killed, out of memory, its
whole worker gone) the beats stop and the sweeper re-queues the work once the
lease has run out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from workers.runtime import Runtime

log = logging.getLogger(__name__)

BEATS_PER_LEASE = 3  # renewals within one lease: two may fail (a Redis blip) before it expires


@contextmanager
def held(rt: Runtime, job_id: str, owner: str, part: int | None = None) -> Iterator[None]:
    """Renew the lease of the job (or its part) ``owner`` runs while the block runs."""
    lease = rt.settings.running_lease_seconds
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease / BEATS_PER_LEASE):
            try:
                if not rt.store.renew(job_id, owner, lease, part):
                    return  # finished, cancelled, or taken back by the sweeper
            except Exception as exc:  # noqa: BLE001 — the next beat tries again
                log.warning("could not renew the lease of %s (part %s): %s", job_id, part, exc)

    thread = threading.Thread(target=beat, name=f"lease {job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
