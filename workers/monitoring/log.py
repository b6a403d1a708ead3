"""Reading much of the prediction log at once: the garbage collector paused meanwhile.

Reading the log is :class:`core.prediction_log.PredictionLog`'s job and turning it
into columns :mod:`workers.monitoring.columns`'; decoding a window of 100,000
predictions makes many small objects, and this keeps the collector from
traversing them all again and again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while ~100,000 small objects are created.

    Each collection would traverse every object decoded so far: on a window of
    100,000 entries that doubles the reading time. Reference counting still frees
    everything; the collector runs again as soon as the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
