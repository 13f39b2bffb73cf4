"""A scorer wrapper that never pays twice for the same call."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future
from typing import Any, Dict, List, Optional, Sequence, Tuple

from .. import _io
from .._errors import InvalidInputError
from ..recording import (
    CallRecorder,
    ForwardingScorer,
    PathLike,
    _call_parts,
    _jsonable,
    read_calls,
    relay,
    scorer_identity,
)
from ._base import Answer

__all__ = ["Cached"]

#: (kind, qid, query text, doc ids in prompt order, scorer identity)
CacheKey = Tuple[str, str, Optional[str], Tuple[str, ...], Optional[str]]


class Cached(ForwardingScorer):
    """Answers repeated calls of ``scorer`` from a file, so a rerun or a
    ``--resume`` never pays twice for a call already made.

    The file is a call recording (the format of :mod:`rankwise.recording`):
    what it holds is loaded when the wrapper is made, and every new answer is
    appended (one line, written and flushed before the driver sees the
    answer), so the cache is safe under SIGKILL: the torn last line a kill may
    leave is dropped and that call is paid again, and no other call is. Failed
    calls are recorded but not reused: a rerun tries them again. The same
    call asked twice before its answer came (in one batch, or in flight) is
    sent once.

    A call's key is its kind, query id, query text, doc ids in prompt order
    and the scorer's identity, so a cache file may be shared by several
    scorers and a changed query is asked again. Answers come back from the
    cache as the scorer gave them (plain values: a cache hit costs no tokens).

    The wrapper forwards ``kind``, ``batch_size``, ``max_in_flight``, the token
    counters, ``submit`` and ``prepare``/``run`` (exactly when ``scorer`` has
    them) unchanged; a cache hit is never sent to the scorer's halves either.

    Args:
        scorer: any rankwise scorer.
        path: the cache file (created if missing; a :class:`~rankwise.recording.Recording`
            of the same scorer works as a cache as it stands).
        identity: what identifies the scorer in keys (default:
            :func:`~rankwise.recording.scorer_identity`, its ``repr`` without
            memory addresses). Pass a string that names the model and prompt
            when the ``repr`` does not; pass the old one to reuse a cache after
            changing something that does not change answers.

    Attributes:
        hits: calls answered from the cache so far.
        misses: calls sent to ``scorer`` so far.
    """

    def __init__(self, scorer: Any, path: PathLike, *, identity: Optional[str] = None) -> None:
        if not callable(scorer):
            raise InvalidInputError(
                f"scorer: must be callable (a batch of calls -> answers), got {type(scorer).__name__}"
            )
        if identity is not None and not isinstance(identity, str):
            raise InvalidInputError(f"identity: must be a string, got {type(identity).__name__}")
        self.scorer = scorer
        self.identity = scorer_identity(scorer) if identity is None else identity
        self.path = _io.where_of(path, "path")
        self._answers: Dict[CacheKey, Any] = {}
        if os.path.exists(self.path):
            for rec in read_calls(self.path):
                if rec.error is None:
                    self._answers[(rec.kind, rec.qid, rec.query, rec.docids, rec.scorer)] = rec.value
        self._recorder = CallRecorder(self.path, self.identity, getattr(scorer, "kind", None))
        self._lock = threading.Lock()
        self._pending: Dict[CacheKey, "Future[Any]"] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """Answers in the cache."""
        return len(self._answers)

    def _key(self, call: Any) -> CacheKey:
        kind, qid, query, docids = _call_parts(call, getattr(self.scorer, "kind", None))
        return (kind, qid, query, docids, self.identity)

    @staticmethod
    def _copy(value: Any) -> Any:
        return list(value) if isinstance(value, list) else value

    def _store(self, key: CacheKey, call: Any, answer: Any, error: Optional[BaseException]) -> None:
        """Append a paid call to the file (answers and failures alike); keep its answer when it is one."""
        self._recorder.record(call, answer, error=error)
        value = answer.value if isinstance(answer, Answer) else answer
        if error is not None or isinstance(value, BaseException):
            return
        try:
            stored = _jsonable(value)  # as a rerun will read it back
        except TypeError:
            return
        with self._lock:
            self._answers[key] = stored

    def _lookup(self, calls: List[Any]) -> Tuple[List[Any], Dict[CacheKey, List[int]], List[Any]]:
        """The answers the cache has (None elsewhere), the missing keys with
        their positions, and the distinct missing calls to ask."""
        out: List[Any] = [None] * len(calls)
        todo: Dict[CacheKey, List[int]] = {}
        keys = [self._key(c) for c in calls]
        with self._lock:
            for i, k in enumerate(keys):
                if k in self._answers:
                    out[i] = self._copy(self._answers[k])
                    self.hits += 1
                else:
                    todo.setdefault(k, []).append(i)
        return out, todo, [calls[ix[0]] for ix in todo.values()]

    def _fill(self, out: List[Any], todo: Dict[CacheKey, List[int]], ask: List[Any], answers: List[Any]) -> List[Any]:
        """Store the scorer's ``answers`` to ``ask`` and put them in their places."""
        if len(answers) != len(ask):  # a protocol error: the driver rejects the batch
            return answers
        for (k, ix), call, a in zip(todo.items(), ask, answers):
            self._store(k, call, a, None)
            for i in ix:
                out[i] = a
        return out

    def __call__(self, calls: List[Any]) -> Sequence[Any]:
        """Answers from the cache; the missing calls (each distinct one once)
        go to the scorer in one batch and are appended to the file."""
        calls = list(calls)
        out, todo, ask = self._lookup(calls)
        if not ask:
            return out
        self.misses += len(ask)
        return self._fill(out, todo, ask, list(self.scorer(ask)))

    def _prepare_half(self, calls: List[Any]) -> Tuple[List[Any], Dict[CacheKey, List[int]], List[Any], Any]:
        out, todo, ask = self._lookup(list(calls))
        return out, todo, ask, (self.scorer.prepare(ask) if ask else None)

    def _run_half(self, prepared: Tuple[List[Any], Dict[CacheKey, List[int]], List[Any], Any]) -> List[Any]:
        out, todo, ask, inner = prepared
        if not ask:
            return out
        self.misses += len(ask)
        return self._fill(out, todo, ask, list(self.scorer.run(inner)))

    def _submit(self, calls: List[Any]) -> List["Future[Any]"]:
        calls = list(calls)
        keys = [self._key(c) for c in calls]
        out: List[Optional[Future[Any]]] = [None] * len(calls)
        ask: Dict[CacheKey, int] = {}  # a distinct missing call -> its first index
        with self._lock:
            for i, k in enumerate(keys):
                pend = self._pending.get(k)
                if pend is not None and pend.done():  # answered (then cached) or failed (then asked again)
                    del self._pending[k]
                    pend = None
                if k in self._answers:
                    out[i] = _resolved(self._copy(self._answers[k]))
                    self.hits += 1
                elif pend is not None:
                    out[i] = relay(pend, lambda r, e: None)
                    self.hits += 1
                elif k not in ask:
                    ask[k] = i
        if ask:
            self.misses += len(ask)
            futures = list(self.scorer.submit([calls[i] for i in ask.values()]))
            if len(futures) != len(ask):  # a protocol error: the driver rejects it
                return futures
            for (k, i), fut in zip(ask.items(), futures):

                def then(res: Any, exc: Optional[BaseException], k: CacheKey = k, call: Any = calls[i]) -> None:
                    self._store(k, call, res, exc)

                r = relay(fut, then)
                out[i] = r
                with self._lock:
                    self._pending[k] = r
        for i, k in enumerate(keys):
            if out[i] is None:  # asked twice in this batch: a relay of the first one's future
                first = out[ask[k]]
                assert first is not None
                out[i] = relay(first, lambda r, e: None)
        return [f for f in out if f is not None]

    def close(self) -> None:
        """Close the cache file (answers are already on disk)."""
        self._recorder.close()

    def __repr__(self) -> str:
        return f"Cached({self.scorer!r}, {self.path!r}, {len(self)} answers)"


def _resolved(value: Any) -> "Future[Any]":
    f: Future[Any] = Future()
    f.set_result(value)
    return f
