"""A small progress line on stderr (no dependency): queries done, calls made,
calls per second and time left."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


def _clock(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Progress:
    """``update(done, calls)`` redraws at most every ``interval`` seconds."""

    def __init__(
        self,
        total: Optional[int],
        enabled: Optional[bool],
        label: str = "rerank",
        stream: Optional[TextIO] = None,
        interval: float = 0.2,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else bool(enabled)
        self.total, self.label, self.interval = total, label, interval
        self.start = self._last = time.perf_counter()
        self.done = self.calls = 0

    def line(self) -> str:
        elapsed = time.perf_counter() - self.start
        rate = self.calls / elapsed if elapsed > 0 else 0.0
        of = f"/{self.total}" if self.total is not None else ""
        text = f"{self.label}: {self.done}{of} queries · {self.calls} calls · {rate:,.1f} calls/s · {_clock(elapsed)}"
        if self.total and self.done:
            left = elapsed / self.done * (self.total - self.done)
            text += f" · {_clock(left)} left"
        return text

    def update(self, done: int, calls: int, force: bool = False) -> None:
        self.done, self.calls = done, calls
        if not self.enabled:
            return
        now = time.perf_counter()
        if force or now - self._last >= self.interval:
            self._last = now
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.update(self.done, self.calls, force=True)
            self.stream.write("\n")
            self.stream.flush()
