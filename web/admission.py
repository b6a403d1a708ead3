"""Per-key admission: how many of an API key's requests a web process works on at once.

A key may always have ``LIFEBOAT_KEY_MAX_CONCURRENT_REQUESTS`` requests in progress in
one web process. Past that, a request starts only if its key's demand (requests in
progress and waiting) is no more than the mean demand of the keys active in the process
(a request of theirs arrived in the last ``ACTIVE_SECONDS``). So a key alone is never
held (one client's throughput is unchanged: a fixed cap of 2 took one key's 32 clients
from 157 to 53 jobs/s in ``python -m bench throughput`` on the loaded 2-core machine),
nor is a light key beside heavy ones (a fixed cap held the light tenant too, once a slow
machine kept its requests in progress long); keys above the mean are held at the cap.
Their further requests wait, first come first served, for one of them to end (or to
start a long-poll: waiting for a job costs no CPU, so a request that waits gives its
place up), for at most ``LIFEBOAT_KEY_ADMISSION_WAIT_SECONDS``. A request that cannot
be admitted in time, or that finds ``MAX_WAITING`` of its key's requests already
waiting, is a ``429`` at once (``Retry-After: 1``), without asking Redis.

Why: a web process runs its requests as greenlets, first come first served at every
yield (each Redis round trip). One tenant with 32 requests in a process puts 32 CPU
bursts ahead of another tenant's request at each of its yields; capped at a few, the
other tenant's request waits for a few. A flooding key's requests queue here, idle,
instead of on the CPU; its clients wait for their answers rather than send more. Measured
with ``python -m bench.fairness`` (the README's "Benchmarks").

Runs after authentication (it reads ``g.principal``) and before the rate limit (a
request waiting here has not taken from its bucket yet). Public operations and requests
without a key are never held.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, current_app, g, has_request_context

from core.errors import RateLimited
from core.settings import Settings

MAX_WAITING = 256  # a key's requests waiting in one process beyond which more are refused
ACTIVE_SECONDS = 1.0  # a key whose last request arrived this recently competes for the process
RETRY_AFTER_SECONDS = 1  # what a refusal's Retry-After says


@dataclass
class _Key:
    """One key's requests in progress and waiting in this process."""

    busy: int = 0
    waiting: int = 0
    turn: threading.Condition = field(default_factory=threading.Condition)


class Admission:
    """Counts each key's requests in progress; holds a key past ``most`` while its demand is
    above the mean of the keys active in the process, until one of its requests ends."""

    def __init__(
        self,
        most: int,
        wait_seconds: float,
        max_waiting: int = MAX_WAITING,
        active_seconds: float = ACTIVE_SECONDS,
    ) -> None:
        self.most = most
        self.wait_seconds = wait_seconds
        self.max_waiting = max_waiting
        self.active_seconds = active_seconds
        self._keys: dict[str, _Key] = {}
        self._seen: dict[str, float] = {}  # key → when its last request arrived (monotonic)
        self._pruned = 0.0
        self._lock = threading.Lock()

    def enter(self, key_id: str) -> bool:
        """Admit one request of ``key_id`` (waiting for a place if need be); False if refused."""
        with self._lock:
            self._saw(key_id, time.monotonic())
            key = self._keys.get(key_id)
            if key is None:
                key = self._keys[key_id] = _Key()
            if not key.waiting and self._may_start(key_id, key, 1):
                key.busy += 1
                return True
            if key.waiting >= self.max_waiting:
                return False
            key.waiting += 1
        deadline = time.monotonic() + self.wait_seconds
        with key.turn:
            while True:
                with self._lock:
                    if self._may_start(key_id, key, 0):
                        key.busy += 1
                        key.waiting -= 1
                        more = key.waiting > 0 and self._may_start(key_id, key, 0)
                        break
                left = deadline - time.monotonic()
                if left <= 0:
                    with self._lock:
                        key.waiting -= 1
                        self._forget(key_id, key)
                    return False
                key.turn.wait(min(left, self.active_seconds))  # the others may have gone
            if more:  # uncontended again: the next waiter need not wait for a request to end
                key.turn.notify()
        return True

    def leave(self, key_id: str) -> None:
        """One admitted request of ``key_id`` has ended (or started waiting for a job)."""
        with self._lock:
            key = self._keys.get(key_id)
            if key is None:
                return
            key.busy -= 1
            waiting = key.waiting
            self._forget(key_id, key)
        if waiting:
            with key.turn:
                key.turn.notify()

    def in_progress(self, key_id: str) -> int:
        with self._lock:
            key = self._keys.get(key_id)
            return key.busy if key is not None else 0

    def _may_start(self, key_id: str, key: _Key, arriving: int) -> bool:
        """Whether one more request of the key may start now: below ``most`` in progress, or
        its demand (requests in progress and waiting, ``arriving`` included) no more than the
        mean of the active keys' (a key alone, or a light one, is never held)."""
        if key.busy < self.most:
            return True
        self._prune(time.monotonic())
        demand = key.busy + key.waiting + arriving
        others = [self._demand(k) for k in self._seen if k != key_id]
        return demand * (len(others) + 1) <= demand + sum(others)

    def _demand(self, key_id: str) -> int:
        key = self._keys.get(key_id)
        return key.busy + key.waiting if key is not None else 0

    def _saw(self, key_id: str, now: float) -> None:
        self._seen[key_id] = now
        self._prune(now)

    def _prune(self, now: float) -> None:
        """Forget the keys not seen for ``active_seconds`` (looked at every quarter of it)."""
        if now - self._pruned >= self.active_seconds / 4:
            cutoff = now - self.active_seconds
            self._seen = {k: t for k, t in self._seen.items() if t >= cutoff}
            self._pruned = now

    def _forget(self, key_id: str, key: _Key) -> None:
        if key.busy <= 0 and key.waiting <= 0:
            self._keys.pop(key_id, None)


def refusal(key_id: str, admission: Admission) -> RateLimited:
    return RateLimited(
        f"API key {key_id!r} has {admission.most} requests in progress in this server "
        f"process and more waiting than {admission.wait_seconds:g} s allows; "
        f"retry after {RETRY_AFTER_SECONDS} s",
        retry_after=RETRY_AFTER_SECONDS,
    )


def init_app(app: Flask, settings: Settings, key_of: Callable[[], str | None]) -> Admission | None:
    """Hold each key's requests past the cap; register after authentication.

    ``key_of`` gives the id of the request's API key, or None when the request is not
    limited (public, or without a key)."""
    if settings.key_max_concurrent_requests <= 0:
        return None
    admission = Admission(settings.key_max_concurrent_requests, settings.key_admission_wait_seconds)
    app.extensions["lifeboat_admission"] = admission

    @app.before_request
    def admit() -> None:
        key_id = key_of()
        if key_id is None:
            return
        if not admission.enter(key_id):
            raise refusal(key_id, admission)
        g.admitted_key = key_id

    @app.teardown_request
    def release(_exc: BaseException | None) -> None:
        _leave(admission)

    return admission


def _leave(admission: Admission) -> None:
    key_id = g.pop("admitted_key", None)
    if key_id is not None:
        admission.leave(key_id)


@contextmanager
def idle() -> Iterator[None]:
    """A request waiting for something that costs no CPU (a long-poll) gives its place up."""
    if has_request_context():
        admission = current_app.extensions.get("lifeboat_admission")
        if admission is not None:
            _leave(admission)
    yield
