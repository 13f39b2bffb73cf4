"""Call recordings: every scorer call written down, one JSON object per line.

Users pay per LLM call and need runs they can reproduce. :class:`Recording`
wraps any scorer and appends one line per call to a JSONL file;
:func:`read_calls` reads such a file back (and the rank_llm-style window
files, see below); :class:`~rankwise.scorers.Replay` answers from it and
:class:`~rankwise.scorers.Cached` uses the same format as its cache.

The format (version 1), one object per call, keys in this order::

    {"v": 1, "kind": "listwise", "qid": "264014", "query": "how long is ...",
     "docids_in_prompt_order": ["8531391", "8193533", ...],
     "prompt": "..." | [{"role": ..., "content": ...}] | null,
     "raw": "[12] > [13] > ..." | null,
     "value": [11, 12, 5, ...] | 0.73 | null,
     "error": null | "ScorerError: ...",
     "tokens_in": 1830, "tokens_out": 61, "latency": 1.27 | null,
     "scorer": "OpenAIScorer(...)" | null, "time": 1796160000.5}

* ``kind`` is the call's kind: ``listwise`` (``docids_in_prompt_order`` are
  the shown documents), ``pointwise`` (one doc id), ``pairwise`` (two:
  ``doc_a``, ``doc_b``) or ``groupwise`` (the shown documents of a listwise
  call answered with one score each; ``null`` for a document left unscored).
* ``value`` is the answer as the scorer gave it, in JSON (numpy arrays and
  scalars as lists and numbers, a :class:`~rankwise.ParsedPermutation` as its
  0-based ``order``, a groupwise doc id -> score mapping as an object);
  ``null`` when the call failed. Replaying a recording
  hands the driver exactly these values, so it reproduces the run.
* ``prompt``, ``raw``, ``tokens_in``, ``tokens_out`` and ``latency`` come
  from the scorer's :class:`~rankwise.scorers.Answer` when it returns one
  (``null``/0 otherwise). A scorer that does not time its own calls gets the
  time from submit to answer (non-blocking scorers) or of the whole batch
  call (batch scorers) as ``latency``.
* ``error`` is ``"Type: message"`` when the call failed (the scorer returned
  an exception, its future raised, or the whole batch call raised).
* ``scorer`` is the scorer's identity (its ``repr`` without memory
  addresses, or what was passed as ``identity``); ``time`` is the Unix time
  the line was written. Readers ignore keys they do not know.

Each line is written with a single ``write`` of the whole line and flushed
to the operating system before the driver sees the answer, under a lock, so
threads never interleave lines and a killed process leaves at most one torn
last line. The reader drops such a torn last line (a final line without its
newline that is not valid JSON), as the run writer's resume does, and
raises :class:`~rankwise.InvalidInputError` naming the file and line for
anything else malformed. Opening a recorder on a file that ends in a torn
line cuts that line off first, so appending never glues a new line to it.
"""

from __future__ import annotations

import json
import math
import os
import re
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _io
from ._errors import InvalidInputError
from .parsing import ParsedPermutation, ParsedScores, parse_permutation
from .scorers._base import Answer, ListwiseCall, PairwiseCall, PointwiseCall

__all__ = ["CallRecord", "CallRecorder", "Recording", "read_calls", "call_key", "scorer_identity"]

PathLike = Union[str, "os.PathLike[str]"]
FORMAT_VERSION = 1

#: (kind, qid, doc ids in prompt order)
CallKey = Tuple[str, str, Tuple[str, ...]]


@dataclass(frozen=True)
class CallRecord:
    """One recorded call, as :func:`read_calls` gives it back.

    Attributes:
        kind: ``"listwise"``, ``"pointwise"`` or ``"pairwise"``.
        qid: the query id.
        docids: the doc ids in prompt order.
        query: the query text (None in files that lack it).
        value: the answer as the scorer gave it (JSON form); None when the call failed.
        error: ``"Type: message"`` when the call failed, else None.
        prompt, raw, tokens_in, tokens_out, latency: as in :class:`~rankwise.scorers.Answer`.
        scorer: the scorer's identity (None when not recorded).
        line: the 1-based line number in its file.
    """

    kind: str
    qid: str
    docids: Tuple[str, ...]
    query: Optional[str] = None
    value: Any = None
    error: Optional[str] = None
    prompt: Any = None
    raw: Optional[str] = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency: Optional[float] = None
    scorer: Optional[str] = None
    line: int = 0

    @property
    def key(self) -> CallKey:
        """(kind, qid, doc ids in prompt order): what identifies a call."""
        return (self.kind, self.qid, self.docids)


def _call_parts(call: Any, scorer_kind: Optional[str] = None) -> Tuple[str, str, str, Tuple[str, ...]]:
    """(kind, qid, query, doc ids in prompt order) of a scorer call; the
    listwise calls of a groupwise scorer (answered with scores) are ``groupwise``."""
    if isinstance(call, ListwiseCall):
        kind = "groupwise" if scorer_kind == "groupwise" else "listwise"
        return kind, call.qid, call.query, tuple(d.docid for d in call.docs)
    if isinstance(call, PointwiseCall):
        return "pointwise", call.qid, call.query, (call.doc.docid,)
    if isinstance(call, PairwiseCall):
        return "pairwise", call.qid, call.query, (call.doc_a.docid, call.doc_b.docid)
    raise InvalidInputError(
        f"calls: expected ListwiseCall, PointwiseCall or PairwiseCall objects, got {type(call).__name__}"
    )


def call_key(call: Any, scorer_kind: Optional[str] = None) -> CallKey:
    """The key of a scorer call: (kind, qid, doc ids in prompt order); the
    listwise calls of a groupwise scorer are keyed ``groupwise``."""
    kind, qid, _, docids = _call_parts(call, scorer_kind)
    return kind, qid, docids


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
#: settings that change how fast a scorer answers, not what it answers
_PACE = re.compile(r",? *\b(max_in_flight|batch_size|concurrency)=\d+")


def scorer_identity(scorer: Any) -> str:
    """A scorer's identity for recordings and caches: the ``repr`` of the scorer
    (of the one inside, for :class:`Recording` and
    :class:`~rankwise.scorers.Cached`) without memory addresses
    (``<function f at 0x7f...>``) and without ``max_in_flight=``,
    ``batch_size=`` and ``concurrency=`` settings, so it is the same in the
    next process and at another pace. A scorer whose ``repr`` does not name
    its model and prompt needs an explicit ``identity=``."""
    while isinstance(scorer, ForwardingScorer):
        scorer = scorer.scorer
    return _PACE.sub("", _ADDRESS.sub("", repr(scorer)))


def _jsonable(value: Any) -> Any:
    """An answer value in JSON form (see the module docstring)."""
    if isinstance(value, ParsedPermutation):
        return [int(x) for x in value.order]
    if isinstance(value, ParsedScores):  # a document without a score: null, as a scorer may give it
        return [None if math.isnan(x) else float(x) for x in value.scores]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):  # a groupwise answer: doc id -> score
        bad = next((k for k in value if not isinstance(k, str)), None)
        if bad is not None:  # JSON would make it a string, which a replay could match to a doc id
            raise TypeError(f"cannot record a mapping with the key {bad!r}: its keys must be doc ids (str)")
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # "nan", "inf": strict JSON; float() of it is the same non-answer again
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot record an answer of type {type(value).__name__}")


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def _encode(obj: Dict[str, Any]) -> bytes:
    try:
        text = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)
    except (TypeError, ValueError):  # a prompt that is not JSON (e.g. token tensors): its repr
        obj = dict(obj, prompt=repr(obj.get("prompt")))
        text = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "), default=repr)
    return (text + "\n").encode("utf-8")


def _cut_torn_tail(path: Path) -> None:
    """If ``path`` ends in a line without its newline: cut it off when it is torn
    (not valid JSON), else complete it with a newline."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return
        # find the start of the last line, reading backwards in blocks
        pos, start = size, 0
        while pos > 0:
            step = min(65536, pos)
            pos -= step
            f.seek(pos)
            nl = f.read(step).rfind(b"\n")
            if nl >= 0:
                start = pos + nl + 1
                break
        f.seek(start)
        last = f.read()
        try:
            json.loads(last.decode("utf-8"))
            f.seek(size)
            f.write(b"\n")
        except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting too
            f.truncate(start)


class CallRecorder:
    """Appends call records to ``path`` (created if missing; an existing file is
    appended to, after cutting off a torn last line).

    Thread-safe: each record is one ``write`` of the whole line, under a lock,
    flushed before :meth:`record` returns. Use it as a context manager or call
    :meth:`close`.

    Args:
        path: the JSONL file.
        identity: the scorer identity written with every record (default None).
        kind: the scorer's kind (default None): a groupwise scorer's listwise
            calls are recorded as ``groupwise``, their scores as the value.
    """

    def __init__(self, path: PathLike, identity: Optional[str] = None, kind: Optional[str] = None) -> None:
        self.path = Path(_io.where_of(path, "path"))
        self.identity = identity
        self.kind = kind
        self._lock = threading.Lock()
        try:
            _cut_torn_tail(self.path)
            self._fd: Optional[int] = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as e:
            raise InvalidInputError(f"path: cannot open {os.fspath(path)} for appending: {e}") from None
        self.written = 0

    def record(
        self,
        call: Any,
        answer: Any = None,
        *,
        error: Optional[BaseException] = None,
        latency: Optional[float] = None,
    ) -> None:
        """Write one call: its answer (a plain value or an :class:`Answer`), or
        the ``error`` it failed with (an exception answer counts as one).
        ``latency`` is used when the answer does not carry its own."""
        kind, qid, query, docids = _call_parts(call, self.kind)
        prompt = raw = None
        tokens_in = tokens_out = 0
        if isinstance(answer, Answer):
            prompt, raw = answer.prompt, answer.raw
            tokens_in, tokens_out = int(answer.tokens_in or 0), int(answer.tokens_out or 0)
            if answer.latency is not None:
                latency = float(answer.latency)
            answer = answer.value
        if error is None and isinstance(answer, BaseException):
            error, answer = answer, None
        value: Any = None
        err_text = None if error is None else _error_text(error)
        if error is None:
            try:
                value = _jsonable(answer)
            except TypeError as e:
                err_text = f"unrecordable answer: {e}"
        obj = {
            "v": FORMAT_VERSION,
            "kind": kind,
            "qid": qid,
            "query": query,
            "docids_in_prompt_order": list(docids),
            "prompt": prompt,
            "raw": raw,
            "value": value,
            "error": err_text,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "latency": None if latency is None or not math.isfinite(latency) else round(latency, 6),
            "scorer": self.identity,
            "time": round(time.time(), 3),
        }
        data = _encode(obj)
        with self._lock:
            if self._fd is None:
                raise InvalidInputError(f"path: the recorder of {self.path} is closed")
            view = memoryview(data)
            while view:  # one write for a whole line; the loop only for a short write
                n = os.write(self._fd, view)
                view = view[n:]
            self.written += 1

    def close(self) -> None:
        """Close the file (records are already on disk)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "CallRecorder":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def __repr__(self) -> str:
        return f"CallRecorder({os.fspath(self.path)!r}, {self.written} written)"


def _lines(path: PathLike, what: str) -> Iterator[Tuple[int, Dict[str, Any]]]:
    """(line number, object) of each non-blank JSONL line, read as :mod:`rankwise._io`
    reads text (UTF-8, BOM dropped, lines split at ``\\n`` only); a torn last line is dropped."""
    where = _io.where_of(path, what)
    data = _io.read_bytes(path, what)
    cut = data.rfind(b"\n") + 1
    lineno = 0
    for lineno, line in _io.split_lines(_io.decode(data[:cut], what, where)):
        if line.strip():
            obj = _io.parse_json(line, what, f"{where}, line {lineno}")
            if not isinstance(obj, dict):
                raise InvalidInputError(
                    f"{what}: {where}, line {lineno}: expected a JSON object, got {type(obj).__name__}"
                )
            yield lineno, obj
    tail = data[cut:]
    if cut == 0 and tail.startswith(_io.BOM.encode()):
        tail = tail[len(_io.BOM.encode()) :]
    if tail.strip():  # after the last newline: complete, or a line torn by a kill mid-write (dropped)
        try:
            last = json.loads(tail.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting too
            return
        if not isinstance(last, dict):
            raise InvalidInputError(
                f"{what}: {where}, line {lineno + 1}: expected a JSON object, got {type(last).__name__}"
            )
        yield lineno + 1, last


_KINDS = {"listwise": None, "pointwise": 1, "pairwise": 2, "groupwise": None}


def _record(obj: Dict[str, Any], lineno: int) -> CallRecord:
    """A call record from a rankwise line or a rank_llm-style window line."""
    qid = obj["qid"]
    if isinstance(qid, (dict, list)) or qid is None:
        raise TypeError(f"qid must be a string or number, got {qid!r}")
    docids_raw = obj["docids_in_prompt_order"]
    if not isinstance(docids_raw, list) or not all(isinstance(d, (str, int)) for d in docids_raw):
        raise TypeError("docids_in_prompt_order must be a list of ids")
    docids = tuple(str(d) for d in docids_raw)
    query = obj.get("query")
    if "kind" in obj:  # a rankwise record
        kind = obj["kind"]
        if kind not in _KINDS:
            raise ValueError(f"kind must be listwise, pointwise, pairwise or groupwise, got {kind!r}")
        need = _KINDS[kind]
        if need is not None and len(docids) != need:
            raise ValueError(f"a {kind} call shows {need} document(s), this one {len(docids)}")
        error = obj.get("error")
        if error is None and "value" not in obj:
            raise KeyError("value")
        latency = obj.get("latency")
        return CallRecord(
            kind=kind,
            qid=str(qid),
            docids=docids,
            query=None if query is None else str(query),
            value=obj.get("value"),
            error=None if error is None else str(error),
            prompt=obj.get("prompt"),
            raw=obj.get("raw"),
            tokens_in=int(obj.get("tokens_in") or 0),
            tokens_out=int(obj.get("tokens_out") or 0),
            latency=None if latency is None else float(latency),
            scorer=obj.get("scorer"),
            line=lineno,
        )
    # a rank_llm-style window: the parsed permutation, or the raw response to parse
    perm = obj.get("llm_permutation_0based")
    raw = obj.get("llm_response")
    if perm is None:
        if raw is None:
            raise KeyError("llm_permutation_0based or llm_response")
        perm = parse_permutation(str(raw), len(docids)).order.tolist()
    if not isinstance(perm, list):
        raise TypeError("llm_permutation_0based must be a list")
    value = [int(p) for p in perm]
    return CallRecord(
        kind="listwise",
        qid=str(qid),
        docids=docids,
        query=None if query is None else str(query),
        value=value,
        raw=None if raw is None else str(raw),
        scorer=obj.get("model"),
        line=lineno,
    )


def read_calls(path: PathLike) -> List[CallRecord]:
    """Read a call recording: rankwise's format (above) or rank_llm-style window
    lines (``qid``, ``docids_in_prompt_order`` and ``llm_permutation_0based``
    or ``llm_response``, as in ``shared/data/dl19/llm/rankvicuna7b_windows.jsonl``).

    A torn last line (a kill mid-write) is dropped; any other malformed line
    raises :class:`~rankwise.InvalidInputError` naming the file and line.
    """
    where = os.fspath(path)
    out: List[CallRecord] = []
    for lineno, obj in _lines(path, "path"):
        try:
            out.append(_record(obj, lineno))
        except (KeyError, TypeError, ValueError, OverflowError, InvalidInputError) as e:
            raise InvalidInputError(
                f"path: {where}, line {lineno}: not a call record: expected qid, docids_in_prompt_order and "
                f"kind with value or error (rankwise), or llm_permutation_0based or llm_response (rank_llm) ({e!r})"
            ) from None
    return out


# --- the scorer wrapper ---------------------------------------------------------------------------------------

#: attributes of the wrapped scorer that a wrapper shows as its own, exactly when the scorer has them
FORWARDED = ("kind", "batch_size", "preferred_batch_size", "max_in_flight", "tokens_in", "tokens_out")


class ForwardingScorer:
    """Base of scorer wrappers: shows the wrapped scorer's ``kind``,
    ``batch_size``, ``max_in_flight``, ``tokens_in`` and ``tokens_out``
    exactly when it has them, and offers ``submit`` (the non-blocking path)
    and ``prepare``/``run`` (a batch in two halves: prompts built on one
    thread while the model runs the previous batch on another) exactly when
    it does, so the driver sees the same scorer. Subclasses implement
    ``__call__``, ``_submit``, ``_prepare_half`` and ``_run_half``."""

    scorer: Any

    def __getattr__(self, name: str) -> Any:
        inner = self.__dict__.get("scorer")
        if inner is not None:
            if name in FORWARDED:
                return getattr(inner, name)
            if name == "submit" and callable(getattr(inner, "submit", None)):
                return self._submit
            if name in ("prepare", "run") and all(callable(getattr(inner, n, None)) for n in ("prepare", "run")):
                return self._prepare_half if name == "prepare" else self._run_half
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _submit(self, calls: List[Any]) -> List["Future[Any]"]:
        raise NotImplementedError

    def _prepare_half(self, calls: List[Any]) -> Any:
        raise NotImplementedError

    def _run_half(self, prepared: Any) -> List[Any]:
        raise NotImplementedError

    def __call__(self, calls: List[Any]) -> Sequence[Any]:
        raise NotImplementedError


def relay(source: "Future[Any]", then: Callable[[Any, Optional[BaseException]], None]) -> "Future[Any]":
    """A future that resolves like ``source`` after ``then(result, exception)`` ran
    (so what ``then`` writes is on disk before anyone sees the answer)."""
    out: Future[Any] = Future()

    def done(f: "Future[Any]") -> None:
        if f.cancelled():
            out.cancel()
            return
        exc = f.exception()
        res = None if exc is not None else f.result()
        try:
            then(res, exc)
        except BaseException as e:  # the record failed (disk full): the call fails with it
            if not out.cancelled():
                out.set_exception(e)
            return
        if out.set_running_or_notify_cancel():
            if exc is not None:
                out.set_exception(exc)
            else:
                out.set_result(res)

    source.add_done_callback(done)
    out.add_done_callback(lambda f: source.cancel() if f.cancelled() else None)  # the driver gave up on it
    return out


class Recording(ForwardingScorer):
    """A scorer that records every call of ``scorer`` to ``path`` (JSONL, the
    format of :mod:`rankwise.recording`; appended to when it exists).

    The wrapped scorer's answers pass through unchanged, and its ``kind``,
    ``batch_size``, ``max_in_flight``, token counters, ``submit`` and
    ``prepare``/``run`` are forwarded (exactly when the scorer has them; each
    future is resolved after its line is written). A batch call that raises is recorded
    as one failed line per call, then raised.

    Args:
        scorer: any rankwise scorer.
        path: the recording file.
        identity: the scorer identity written with each call (default:
            :func:`scorer_identity` of ``scorer``).

    Attributes:
        recorder: the :class:`CallRecorder` (``recorder.written`` counts lines).
    """

    def __init__(self, scorer: Any, path: PathLike, *, identity: Optional[str] = None) -> None:
        if not callable(scorer):
            raise InvalidInputError(
                f"scorer: must be callable (a batch of calls -> answers), got {type(scorer).__name__}"
            )
        self.scorer = scorer
        self.recorder = CallRecorder(
            path, scorer_identity(scorer) if identity is None else identity, getattr(scorer, "kind", None)
        )

    @property
    def path(self) -> Path:
        return self.recorder.path

    def __call__(self, calls: List[Any]) -> Sequence[Any]:
        calls = list(calls)
        for c in calls:
            _call_parts(c)  # a clear error before the scorer is paid
        return self._recorded(calls, lambda: self.scorer(list(calls)))

    def _recorded(self, calls: List[Any], answer: Callable[[], Any]) -> List[Any]:
        """``answer()`` (the scorer's answers to ``calls``), each recorded; a raise is recorded per call."""
        t = time.perf_counter()
        try:
            answers = list(answer())
        except Exception as e:
            elapsed = time.perf_counter() - t
            for c in calls:
                self.recorder.record(c, error=e, latency=elapsed)
            raise
        elapsed = time.perf_counter() - t
        if len(answers) == len(calls):  # otherwise the driver rejects the batch; nothing to pair up
            for c, a in zip(calls, answers):
                self.recorder.record(c, a, latency=elapsed)
        return answers

    def _prepare_half(self, calls: List[Any]) -> Tuple[List[Any], Any]:
        calls = list(calls)
        for c in calls:
            _call_parts(c)
        return calls, self.scorer.prepare(calls)

    def _run_half(self, prepared: Tuple[List[Any], Any]) -> List[Any]:
        calls, inner = prepared
        return self._recorded(calls, lambda: self.scorer.run(inner))

    def _submit(self, calls: List[Any]) -> List["Future[Any]"]:
        calls = list(calls)
        for c in calls:
            _call_parts(c)
        t = time.perf_counter()
        futures = self.scorer.submit(list(calls))
        out: List[Future[Any]] = []
        for c, f in zip(calls, futures):

            def then(res: Any, exc: Optional[BaseException], c: Any = c) -> None:
                self.recorder.record(c, res, error=exc, latency=time.perf_counter() - t)

            out.append(relay(f, then))
        return out

    def close(self) -> None:
        """Close the recording file."""
        self.recorder.close()

    def __repr__(self) -> str:
        return f"Recording({self.scorer!r}, {os.fspath(self.recorder.path)!r})"
