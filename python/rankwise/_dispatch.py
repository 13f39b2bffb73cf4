"""The dispatcher: the only place that talks to a scorer.

Two ways to talk to one, chosen by what the scorer offers:

* **in flight** (the scorer has ``submit(calls) -> futures``, as the server
  scorers do): every ready call is sent the moment there is room, up to
  ``max_in_flight`` outstanding, and answers are taken in completion order;
* **batches** (a plain batch callable, as in-process models are): full
  batches run one after another on one worker thread, and the next batch
  is formed and queued while the current one runs, so the model never waits
  for the planner. At most two batches are outstanding: one running, one
  waiting. A scorer that splits its work into ``prepare(calls)`` (the CPU
  half: prompts, tokens) and ``run(prepared)`` (the model), as
  :class:`~rankwise.scorers.HFScorer` does, has the waiting batch prepared
  on a second thread while the model runs the current one.

Failure policy, the same for both: a scorer invocation that raises (anything
but :class:`~rankwise.InvalidInputError`, a misconfiguration raised at once)
or returns the wrong number of answers or futures is retried ``retries``
times, then each of its calls is tried alone; an exception given
as one call's answer (or raised by that call's future) fails that call
without a retry (the scorer owns its retries); a call past ``call_timeout``
fails with a :class:`~rankwise.ScorerError`. With ``call_timeout`` set,
``submit`` itself runs on a short-lived thread and may take that long to
return: one that blocks past it (a connection pool that never frees a slot)
counts as a failed submission and is left behind on its thread. A ``submit`` that returns
something other than one distinct future per call raises a
:class:`~rankwise.ScorerError` at once: such a scorer cannot tell its answers
apart, and retrying would not help. What comes back is one outcome
per call: ``(ticket, ok, value)``.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import queue
import threading
import time
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, wait
from concurrent.futures import TimeoutError as FutureTimeout  # not the builtin before Python 3.11
from typing import TYPE_CHECKING, Any, Callable, Dict, Generic, List, Optional, Sequence, Tuple, TypeVar

from ._errors import InvalidInputError, ScorerError

if TYPE_CHECKING:
    from .rerank import RerankStats

T = TypeVar("T")
Outcome = Tuple[T, bool, Any]

#: what a scorer may raise that stops the run instead of failing its calls
_FATAL = (KeyboardInterrupt, SystemExit, GeneratorExit)

#: how long one poll waits at most, so Ctrl-C and progress stay responsive
TICK = 0.2


class _Runner:
    """One daemon thread running jobs in submission order (a batch scorer
    is never entered twice at once). A daemon, so a hung scorer cannot keep
    the interpreter from exiting."""

    def __init__(self) -> None:
        self._jobs: "queue.SimpleQueue[Optional[Tuple[Future[Any], Callable[[], Any]]]]" = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name="rankwise-scorer", daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[[], Any]) -> "Future[Any]":
        f: "Future[Any]" = Future()
        self._jobs.put((f, fn))
        return f

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            f, fn = job
            if not f.set_running_or_notify_cancel():
                continue
            try:
                f.set_result(fn())
            except BaseException as e:  # handed to the driver's thread
                f.set_exception(e)

    def close(self) -> None:
        self._jobs.put(None)


class _Unit(Generic[T]):
    """One submission outstanding at the scorer: a batch, or one call."""

    __slots__ = ("tickets", "batch", "deadline", "started")

    def __init__(self, tickets: List[T], batch: bool, deadline: float) -> None:
        self.tickets, self.batch, self.deadline = tickets, batch, deadline
        #: a batch: when the worker began it (``time.monotonic()``; None: still queued). Its
        #: ``call_timeout`` runs from then, so a batch queued behind another is not charged for the wait.
        self.started: Optional[float] = None


class Dispatcher(Generic[T]):
    """Sends calls (wrapped in tickets) to a scorer and hands back outcomes.

    ``call_of(ticket)`` gives the call to send for a ticket.
    """

    def __init__(
        self,
        scorer: Any,
        call_of: Callable[[T], Any],
        *,
        batch_size: int,
        max_in_flight: int,
        retries: int,
        call_timeout: Optional[float],
        stats: "RerankStats",
    ) -> None:
        submit = getattr(scorer, "submit", None)
        self.scorer = scorer
        self.submit: Optional[Callable[[List[Any]], Sequence[Any]]] = submit if callable(submit) else None
        self.call_of = call_of
        self.batch_size, self.max_in_flight, self.retries = batch_size, max_in_flight, retries
        self.call_timeout = call_timeout
        self.stats = stats
        self.units: Dict["Future[Any]", _Unit[T]] = {}
        self.in_flight = 0  # calls outstanding
        self._deadlines: List[Tuple[float, int, "Future[Any]"]] = []
        self._seq = itertools.count()
        self._runner: Optional[_Runner] = None if self.submit else _Runner()
        two_halves = callable(getattr(scorer, "prepare", None)) and callable(getattr(scorer, "run", None))
        self._prep: Optional[_Runner] = _Runner() if self._runner is not None and two_halves else None
        self._ready_outcomes: List[Outcome[T]] = []

    # --- how much to send -----------------------------------------------------------

    @property
    def mode(self) -> str:
        return "in_flight" if self.submit else "batches"

    def wanted(self) -> int:
        """How many ready calls the driver should keep planned ahead."""
        return self.max_in_flight if self.submit else 2 * self.batch_size

    def room(self, ready: int) -> int:
        """How many of ``ready`` calls to send now."""
        if self.submit:
            return max(0, self.max_in_flight - self.in_flight)
        if not self.units:
            return min(ready, self.batch_size)  # the model is idle: a partial batch beats waiting
        if len(self.units) == 1 and ready >= self.batch_size:
            return self.batch_size  # queue the next full batch behind the running one
        return 0

    @property
    def idle(self) -> bool:
        return not self.units and not self._ready_outcomes

    # --- sending ---------------------------------------------------------------------

    def _deadline(self) -> float:
        return time.monotonic() + self.call_timeout if self.call_timeout is not None else float("inf")

    def _track(self, f: "Future[Any]", unit: _Unit[T]) -> None:
        self.units[f] = unit
        self.in_flight += len(unit.tickets)
        if unit.deadline != float("inf"):
            heapq.heappush(self._deadlines, (unit.deadline, next(self._seq), f))

    def send(self, tickets: List[T]) -> None:
        if not tickets:
            return
        st = self.stats
        st.batches += 1
        st.batch_queries += len({id(getattr(t, "query", t)) for t in tickets})
        if self.submit is None:
            assert self._runner is not None
            calls = [self.call_of(t) for t in tickets]
            unit: _Unit[T] = _Unit(tickets, True, float("inf"))
            job: Callable[[], Any]
            if self._prep is not None:  # build the next batch's prompts while the model runs this one
                prepared = self._prep.submit(functools.partial(self.scorer.prepare, list(calls)))
                job = functools.partial(self._run_prepared, prepared, calls)
            else:
                job = functools.partial(self._run_batch, calls)
            self._track(self._runner.submit(functools.partial(self._started, unit, job)), unit)
            return
        self._submit(tickets, self.retries)

    def _submit(self, tickets: List[T], retries_left: int) -> None:
        """Send calls through ``submit``; a failing submission is retried,
        then split into single calls."""
        assert self.submit is not None
        calls = [self.call_of(t) for t in tickets]  # a fresh list: the scorer may keep or change it
        try:
            futures = list(self.submit(calls) if self.call_timeout is None else self._bounded_submit(calls))
            if len(futures) != len(tickets):
                raise ScorerError(f"submit() returned {len(futures)} futures for {len(tickets)} calls")
        except InvalidInputError:
            raise
        except _FATAL:
            raise
        except BaseException as e:  # an odd BaseException (asyncio.CancelledError, ...) fails the calls too
            if retries_left > 0:
                self._submit(tickets, retries_left - 1)
            elif len(tickets) > 1:
                for t in tickets:
                    self._submit([t], 0)
            else:
                self._ready_outcomes.append((tickets[0], False, e))
            return
        # a scorer that cannot keep its answers apart is broken, not flaky: a clear error, no retry
        bad = next((f for f in futures if not isinstance(f, Future)), None)
        if bad is not None:
            raise ScorerError(f"submit() must return concurrent.futures.Future objects, got {type(bad).__name__}")
        if len({id(f) for f in futures}) != len(futures) or any(f in self.units for f in futures):
            raise ScorerError("submit() returned one future for two calls: each call needs its own answer")
        deadline = self._deadline()
        for f, t in zip(futures, tickets):
            self._track(f, _Unit([t], False, deadline))

    def _bounded_submit(self, calls: List[Any]) -> Sequence[Any]:
        """``submit(calls)`` on a daemon thread, waited for ``call_timeout``
        seconds: a submit that blocks longer is a :class:`ScorerError` (the
        failure policy then applies) and its thread is left behind; whatever it
        returns later is dropped."""
        assert self.submit is not None and self.call_timeout is not None
        submit = self.submit
        box: "Future[Sequence[Any]]" = Future()

        def run() -> None:
            try:
                box.set_result(submit(calls))
            except BaseException as e:  # handed to the driver's thread, which applies the failure policy
                box.set_exception(e)

        threading.Thread(target=run, name="rankwise-submit", daemon=True).start()
        deadline = time.monotonic() + self.call_timeout
        while True:  # short waits, so Ctrl-C reaches the driver's thread
            try:
                return box.result(timeout=max(0.0, min(TICK, deadline - time.monotonic())))
            except FutureTimeout:
                if time.monotonic() >= deadline:
                    raise ScorerError(f"submit() did not return within call_timeout={self.call_timeout} s") from None

    @staticmethod
    def _started(unit: "_Unit[Any]", job: Callable[[], Any]) -> Any:
        """On the worker thread: note when the batch begins, then run it."""
        unit.started = time.monotonic()
        return job()

    def _batch_deadline(self) -> float:
        """When the running batch's ``call_timeout`` runs out (inf: none, or nothing running)."""
        if self.call_timeout is None:
            return float("inf")
        started = [u.started for u in self.units.values() if u.batch and u.started is not None]
        return min(started) + self.call_timeout if started else float("inf")

    def _call(self, calls: List[Any]) -> List[Any]:
        t = time.perf_counter()
        try:
            out = list(self.scorer(list(calls)))  # a copy: a scorer that empties its list changes nothing here
        finally:
            self.stats.scorer_seconds += time.perf_counter() - t
        if len(out) != len(calls):
            raise ScorerError(f"the scorer returned {len(out)} answers for a batch of {len(calls)} calls")
        return out

    def _run_prepared(self, prepared: "Future[Any]", calls: List[Any]) -> List[Tuple[bool, Any]]:
        """On the worker thread: the model half of a batch whose prompts the
        preparing thread built; any failure goes the plain way (retried, then
        call by call)."""
        try:
            ready = prepared.result()
            t = time.perf_counter()
            try:
                out = list(self.scorer.run(ready))
            finally:
                self.stats.scorer_seconds += time.perf_counter() - t
            if len(out) == len(calls):
                return [(True, a) for a in out]
        except (InvalidInputError, *_FATAL):
            raise
        except BaseException:
            pass
        return self._run_batch(calls)

    def _run_batch(self, calls: List[Any]) -> List[Tuple[bool, Any]]:
        """On the worker thread: the batch, retried, then call by call."""
        last: Optional[BaseException] = None
        for _ in range(self.retries + 1):
            try:
                return [(True, a) for a in self._call(calls)]
            except (InvalidInputError, *_FATAL):
                raise
            except BaseException as e:  # a scorer may raise anything; KeyboardInterrupt and SystemExit pass
                last = e
        if len(calls) == 1:
            return [(False, last)]
        out: List[Tuple[bool, Any]] = []
        for c in calls:
            try:
                out.append((True, self._call([c])[0]))
            except (InvalidInputError, *_FATAL):
                raise
            except BaseException as e:
                out.append((False, e))
        return out

    # --- receiving -------------------------------------------------------------------

    def poll(self, timeout: float = TICK) -> List[Outcome[T]]:
        """Outcomes of whatever finished, waiting up to ``timeout`` for one."""
        return poll_all([self], timeout)

    def waiting_on(self) -> Tuple[List["Future[Any]"], float]:
        """The futures this dispatcher waits on, and when its next call
        deadline falls (``time.monotonic()`` clock; inf: none)."""
        heap = self._deadlines[0][0] if self._deadlines else float("inf")
        return list(self.units), min(heap, self._batch_deadline())

    def take_ready(self) -> List[Outcome[T]]:
        """Outcomes known without waiting (a submission that failed outright)."""
        out, self._ready_outcomes = self._ready_outcomes, []
        return out

    def collect(self, done: "set[Future[Any]]") -> List[Outcome[T]]:
        """The outcomes of those of ``done`` that are this dispatcher's, and
        of its calls past their deadline."""
        out: List[Outcome[T]] = []
        for f in done:
            unit = self.units.pop(f, None)
            if unit is None:
                continue  # another dispatcher's
            self.in_flight -= len(unit.tickets)
            out.extend(self._outcomes(f, unit))
        self._expire(out)
        return out

    def _outcomes(self, f: "Future[Any]", unit: _Unit[T]) -> List[Outcome[T]]:
        try:
            value = f.result()
        except InvalidInputError:
            raise
        except CancelledError:
            value = ScorerError("the scorer cancelled the call")
            return [(t, False, value) for t in unit.tickets]
        except _FATAL:
            raise
        except BaseException as e:  # an odd BaseException (asyncio.CancelledError, ...) fails these calls
            return [(t, False, e) for t in unit.tickets]
        if unit.batch:
            return [(t, ok, v) for t, (ok, v) in zip(unit.tickets, value)]
        return [(unit.tickets[0], True, value)]

    def _expire(self, out: List[Outcome[T]]) -> None:
        now = time.monotonic()
        why = ScorerError(f"no answer within call_timeout={self.call_timeout:g} s") if self.call_timeout else None
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, f = heapq.heappop(self._deadlines)
            unit = self.units.pop(f, None)
            if unit is None:
                continue  # answered in time
            self.in_flight -= len(unit.tickets)
            f.cancel()
            out.extend((t, False, why) for t in unit.tickets)
        if self._batch_deadline() > now:
            return
        assert self.call_timeout is not None and self._runner is not None
        for f, unit in list(self.units.items()):
            if unit.batch and unit.started is not None and unit.started + self.call_timeout <= now:
                self.units.pop(f)
                self.in_flight -= len(unit.tickets)
                f.cancel()
                out.extend((t, False, why) for t in unit.tickets)
        # the worker is stuck in the scorer (or waits on a stuck prepare()): leave both threads (daemons)
        # and start fresh ones; batches queued behind the stuck one are sent again on the new worker
        self._runner.close()
        self._runner = _Runner()
        if self._prep is not None:
            self._prep.close()
            self._prep = _Runner()
        for other, u in list(self.units.items()):
            if u.batch:
                self.units.pop(other)
                self.in_flight -= len(u.tickets)
                other.cancel()
                u.started = None
                job = functools.partial(self._run_batch, [self.call_of(t) for t in u.tickets])
                self._track(self._runner.submit(functools.partial(self._started, u, job)), u)

    def close(self) -> None:
        """Cancel what is outstanding (Ctrl-C, an error, a consumer that stopped)."""
        for f in list(self.units):
            f.cancel()
        self.units.clear()
        self.in_flight = 0
        for runner in (self._runner, self._prep):
            if runner is not None:
                runner.close()


def poll_all(dispatchers: Sequence[Dispatcher[T]], timeout: float = TICK) -> List[Outcome[T]]:
    """Outcomes of whatever finished at any of ``dispatchers``, waiting up to
    ``timeout`` (or the earliest call deadline) for one: a single
    :func:`concurrent.futures.wait` over all their outstanding futures, so a
    cascade's stages are served in completion order, whichever scorer
    answers first. Time with calls outstanding at a ``submit`` scorer is
    counted once as scorer time."""
    out: List[Outcome[T]] = []
    for d in dispatchers:
        out.extend(d.take_ready())
    if out:
        return out
    futures: List["Future[Any]"] = []
    wait_for = timeout
    now = time.monotonic()
    busy: Optional[Dispatcher[T]] = None
    for d in dispatchers:
        fs, deadline = d.waiting_on()
        if fs:
            futures.extend(fs)
            wait_for = max(0.0, min(wait_for, deadline - now))
            if d.submit is not None and busy is None:
                busy = d
    if not futures:
        return out
    t0 = time.perf_counter()
    done, _ = wait(futures, timeout=wait_for, return_when=FIRST_COMPLETED)
    if busy is not None:  # time with calls outstanding: the scorer's busy time
        busy.stats.scorer_seconds += time.perf_counter() - t0
    for d in dispatchers:
        out.extend(d.collect(done))
    return out
