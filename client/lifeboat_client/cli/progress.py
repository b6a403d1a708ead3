"""The progress display on stderr: a rich bar on a terminal, a line now and then elsewhere."""

from __future__ import annotations

import time
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

from lifeboat_client.models import Progress

LINE_EVERY_SECONDS = 5.0  # a log (not a terminal) gets a line this often, and on each new phase


class Display:
    """Shows :class:`~lifeboat_client.models.Progress` reports; :meth:`done` ends the line."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._bar: RichProgress | None = None
        self._task: TaskID | None = None
        self._unit = ""
        self._phase = ""
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.tty:
            self._show_bar(p)
        else:
            self._show_line(p)
        self._phase = p.phase

    def _show_bar(self, p: Progress) -> None:
        if self._bar is None or p.unit != self._unit:
            self.done()
            self._unit = p.unit
            count = DownloadColumn() if p.unit == "bytes" else MofNCompleteColumn()
            self._bar = RichProgress(
                TextColumn("{task.description:<11}"),
                BarColumn(),
                TaskProgressColumn(),
                count,
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(p.phase, total=p.total or None)
        assert self._task is not None
        self._bar.update(self._task, description=p.phase, completed=p.done, total=p.total or None)

    def _show_line(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase == self._phase and now - self._last < LINE_EVERY_SECONDS:
            return
        self._last = now
        if p.total > 0:
            share = min(1.0, p.done / p.total)
            text = f"{p.phase:<11} {share:6.1%} {p.done:,}/{p.total:,} {p.unit}"
        else:
            text = f"{p.phase:<11} {p.done:,} {p.unit}"
        self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None
        self._phase = ""
