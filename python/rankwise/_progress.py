"""A small progress line on stderr (no dependency): queries done, calls made
(of those planned, where the plan knows), calls per second and time left.

On a terminal the line is redrawn in place; elsewhere (a batch job's log) a
plain line is printed every ``log_every`` seconds. A background timer
redraws it even while the driver waits on a slow batch, so the clock and the
rate never sit still."""

from __future__ import annotations

import sys
import threading
import time
import weakref
from typing import Callable, Optional, TextIO


def _clock(seconds: float) -> str:
    s = int(max(0.0, seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _tick_loop(ref: "weakref.ref[Progress]", stop: threading.Event, every: float) -> None:
    """The redraw timer; it holds the line weakly, so an abandoned line stops it."""
    while not stop.wait(every):
        bar = ref()
        if bar is None:
            return
        bar.tick()
        del bar


class Progress:
    """``update(done, calls)`` records the counts (cheap: call it per answer);
    the line is drawn at most every ``interval`` seconds on a terminal, every
    ``log_every`` seconds elsewhere.

    Args:
        total: queries in the job, when known.
        enabled: True draws (redrawn in place), False never draws, None
            (default) redraws in place on a terminal and prints plain lines
            elsewhere.
        label: the line's prefix, default ``"rerank"``.
        stream: where to draw, default stderr.
        interval: least seconds between redraws on a terminal, default 0.2.
        planned: calls the plan will make in all, when known (also settable
            through :meth:`update`); the time left is estimated from calls.
        log_every: seconds between plain lines off a terminal, default 30.
        clock: the time source (tests), default ``time.monotonic``.
    """

    def __init__(
        self,
        total: Optional[int],
        enabled: Optional[bool],
        label: str = "rerank",
        stream: Optional[TextIO] = None,
        interval: float = 0.2,
        *,
        planned: Optional[int] = None,
        log_every: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream or sys.stderr
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.mode = ("redraw" if tty else "log") if enabled is None else ("redraw" if enabled else "off")
        self.enabled = self.mode != "off"
        self.total, self.label, self.planned = total, label, planned
        self.every = interval if self.mode == "redraw" else log_every
        self.clock = clock
        self.start = clock()
        self._next = self.start + self.every
        self.done = self.calls = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drawn = False
        self._timer: Optional[threading.Thread] = None
        if self.enabled and clock is time.monotonic:
            self._timer = threading.Thread(
                target=_tick_loop, args=(weakref.ref(self), self._stop, min(1.0, self.every)), daemon=True
            )
            self._timer.start()

    def left(self) -> Optional[float]:
        """Seconds left, from the call rate: calls still planned (or, without a
        plan, the calls per finished query times the queries left) over the
        calls per second so far; None before the first call."""
        elapsed = self.clock() - self.start
        if self.calls <= 0 or elapsed <= 0:
            return None
        if self.planned is not None and self.planned >= self.calls:
            remaining = float(self.planned - self.calls)
        elif self.total and self.done:
            remaining = max(0.0, self.calls / self.done * self.total - self.calls)
        else:
            return None
        return remaining / (self.calls / elapsed)

    def line(self) -> str:
        elapsed = self.clock() - self.start
        rate = self.calls / elapsed if elapsed > 0 else 0.0
        of = f"/{self.total}" if self.total is not None else ""
        planned = f"/{self.planned:,}" if self.planned is not None else ""
        text = (
            f"{self.label}: {self.done}{of} queries · {self.calls:,}{planned} calls · {rate:,.1f} calls/s · "
            f"{_clock(elapsed)}"
        )
        left = self.left()
        if left is not None and (self.total is None or self.done < self.total):
            text += f" · {_clock(left)} left"
        return text

    def _draw(self, final: bool = False) -> None:
        with self._lock:
            if self.mode == "redraw":
                self.stream.write("\r" + self.line() + "\x1b[K" + ("\n" if final else ""))
            elif self.mode == "log":
                self.stream.write(self.line() + "\n")
            self.stream.flush()
            self._drawn = True
            self._next = self.clock() + self.every

    def update(self, done: int, calls: int, force: bool = False, *, planned: Optional[int] = None) -> None:
        """Record ``done`` queries and ``calls`` made (and the calls ``planned``
        in all, when the plan knows); redraw when due."""
        self.done, self.calls = done, calls
        if planned is not None:
            self.planned = planned
        if self.enabled and (force or self.clock() >= self._next):
            self._draw()

    def tick(self) -> None:
        """Redraw when due, without new counts (the clock and the rate move on)."""
        if self.enabled and not self._stop.is_set() and self.clock() >= self._next:
            self._draw()

    def close(self) -> None:
        """Stop the timer and draw the final line."""
        self._stop.set()
        if self._timer is not None:
            self._timer.join(timeout=2.0)
        if self.mode == "redraw" or (self.mode == "log" and self._drawn):
            self._draw(final=True)
