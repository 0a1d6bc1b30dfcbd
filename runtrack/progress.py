"""Progress of long listings on stderr: items read, rate, per source. Only on a terminal, never per item, and
redrawn at most every ``interval`` seconds. Output that shares the terminal (rows streamed to stdout) calls
:meth:`Progress.clear` before writing, so the progress line stays below the rows instead of garbling them."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from ._tables import is_terminal

__all__ = ["Progress"]


class Progress:
    """A one-line, throttled progress display. ``Progress(None)`` is a silent no-op."""

    INTERVAL = 0.5  #: default seconds between redraws

    def __init__(
        self,
        stream: TextIO | None,
        *,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.interval = self.INTERVAL if interval is None else interval
        self.clock = clock
        self.label = ""
        self.count = 0
        self._t0 = self._last = 0.0
        self._width = 0
        self._cleared = False

    @classmethod
    def for_stderr(cls, *, quiet: bool = False) -> Progress:
        """Enabled when stderr is a terminal and not ``quiet``."""
        stream = sys.stderr
        return cls(stream if is_terminal(stream) and not quiet else None)

    @property
    def enabled(self) -> bool:
        return self.stream is not None

    def start(self, label: str) -> None:
        self.label = label
        self.count = 0
        self._t0 = self._last = self.clock()

    def advance(self, n: int) -> None:
        """Count ``n`` more items (call once per page); redraws when ``interval`` has passed."""
        self.count += n
        if self.stream is None:
            return
        now = self.clock()
        if now - self._last >= self.interval or self._cleared:
            self._last = now
            self._draw(now, "")

    def clear(self) -> None:
        """Erase the progress line (before other output goes to the same terminal); the next advance redraws it."""
        if self.stream is None or not self._width:
            return
        self.stream.write("\r" + " " * self._width + "\r")
        self.stream.flush()
        self._width = 0
        self._cleared = True

    def finish(self, *, failed: bool = False) -> None:
        if self.stream is None:
            return
        self._draw(self.clock(), " - failed" if failed else " - done")
        self.stream.write("\n")
        self.stream.flush()
        self._width = 0

    def _draw(self, now: float, suffix: str) -> None:
        assert self.stream is not None
        elapsed = now - self._t0
        rate = f", {self.count / elapsed:,.0f}/s" if elapsed > 0 else ""
        line = f"{self.label}: {self.count:,} runs read{rate}{suffix}"
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._cleared = False
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()
