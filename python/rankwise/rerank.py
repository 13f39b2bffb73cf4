"""The driver: keep the scorer saturated across many queries.

A :class:`_Driver` holds the planners of many queries; the
:class:`~rankwise._dispatch.Dispatcher` is the only place that talks to the
scorer. Calls are dispatched the moment they are planned and answers are
consumed in completion order: a query's next round is planned as soon as the
last answer of its current round arrives, whatever else is outstanding. A
scorer with ``submit(calls) -> futures`` (the server scorers) keeps up to
``max_in_flight`` calls outstanding across all queries; a plain batch
callable (an in-process model) gets full batches of ``batch_size`` calls,
and the next batch is formed and queued while the current one runs.

Results do not depend on arrival order or batching: answers are kept by
call and a round is submitted to its planner whole, in call order, and
per-query seeds are hashed with the query id. Queries are started lazily
(enough to keep the scorer fed), which bounds memory and lets
:func:`rerank_iter` hand back finished queries early.

A :class:`~rankwise.Cascade` runs through the same loop: one driver per
stage and one dispatcher per distinct scorer; a query that finishes stage k
is started in stage k+1 at once (its candidates in stage k's order), and
:func:`~rankwise._dispatch.poll_all` waits once on the outstanding calls of
every scorer, so all stages' scorers are busy together.

How a plan's call is answered by a scorer of another kind (a pointwise
scorer serving a listwise strategy, ...) is one table, :data:`ADAPTERS`,
keyed by (the plan's call kind, the scorer's kind) and looked up per round.

Failure policy (``on_error="fallback"``, the default; details in
:mod:`rankwise._dispatch`): a failing scorer invocation is retried
``retries`` times, then each of its calls is tried alone. A query with a
call that still fails, or with an answer that is not one (NaN, a
probability outside [0, 1], no ranking, a number too large for a float),
keeps its first-stage order: its :class:`~rankwise.Ranking` has
``spend["failed"] == 1`` and ``error`` says why, and a
:class:`~rankwise.ScorerWarning` lists such queries at the end. No query is
ever dropped. ``on_error="raise"`` raises :class:`~rankwise.ScorerError`
instead, naming the query. An :class:`~rankwise.InvalidInputError` from the
scorer (a misconfiguration) is raised at once.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import numpy as np

from . import _core
from ._dispatch import Dispatcher, poll_all
from ._errors import InvalidInputError, RankwiseError, ScorerError, ScorerWarning
from ._progress import Progress
from ._validate import at_least
from .cascade import Cascade
from .data import Candidate, Request, as_request
from .parsing import ParsedPermutation, ParsedScores, parse_permutation, parse_scores
from .runs import Ranking
from .scorers._base import Answer, ListwiseCall, PairwiseCall, PointwiseCall, scorer_kind
from .strategies import Strategy

__all__ = ["rerank", "rerank_iter", "rank_function", "RerankStats"]

OnError = Literal["fallback", "raise"]


@dataclass
class RerankStats:
    """Totals of one :func:`rerank` run, filled in as it goes.

    ``scorer_seconds`` is the time inside the scorer; ``wall_seconds -
    scorer_seconds`` is everything else (planning, aggregation, bookkeeping).
    """

    queries: int = 0
    calls: int = 0
    docs_shown: int = 0
    batches: int = 0
    #: sum over batches of the number of distinct queries in the batch
    batch_queries: int = 0
    failed: List[str] = field(default_factory=list)
    scorer_seconds: float = 0.0
    wall_seconds: float = 0.0
    #: tokens the scorer read and wrote during the run, when it counts them (``tokens_in``/``tokens_out``)
    tokens_in: int = 0
    tokens_out: int = 0

    @property
    def queries_per_batch(self) -> float:
        """Mean number of distinct queries a batch carried."""
        return self.batch_queries / self.batches if self.batches else 0.0


# --- adapting a plan's calls to the scorer's kind ---------------------------------------


@dataclass(frozen=True)
class Adapter:
    """How a plan call is answered by a scorer of some kind: ``split`` makes
    the scorer calls for one plan call (the request, the shown documents in
    prompt order), ``merge`` turns their answers (converted: positions,
    floats, or a group's scores) back into the plan's answer: positions for a
    listwise plan, or with ``scores`` one score per shown document (NaN: none
    given), which the planner orders or, JointRank's ``zscore``, averages; a
    float otherwise."""

    split: Callable[[Request, Tuple[Candidate, ...]], List[Any]]
    merge: Callable[[List[Any]], Any]
    scores: bool = False


def _list_call(req: Request, docs: Tuple[Candidate, ...]) -> List[Any]:
    return [ListwiseCall(req.qid, req.query, docs)]


def _pair_call(req: Request, docs: Tuple[Candidate, ...]) -> List[Any]:
    return [PairwiseCall(req.qid, req.query, docs[0], docs[1])]


def _point_calls(req: Request, docs: Tuple[Candidate, ...]) -> List[Any]:
    return [PointwiseCall(req.qid, req.query, d) for d in docs]


def _the_answer(subs: List[Any]) -> Any:
    return subs[0]


def _the_answers(subs: List[Any]) -> Any:
    """Each shown document's own score, in prompt order."""
    return subs


def _pair_by_order(subs: List[Any]) -> Any:
    """A ranking of the two shown to P(first beats second); unnamed: prompt order."""
    first = next((p for p in subs[0] if 0 <= p < 2), 0)
    return 1.0 if first == 0 else 0.0


def _sigmoid_gap(a: float, b: float) -> float:
    """``sigmoid(a - b)``; a scored document beats an unscored (NaN) one, two unscored tie (0.5)."""
    if math.isnan(a) or math.isnan(b):
        return 0.5 if math.isnan(a) and math.isnan(b) else (0.0 if math.isnan(a) else 1.0)
    return 1.0 / (1.0 + math.exp(max(-700.0, min(700.0, b - a))))


def _pair_by_points(subs: List[Any]) -> Any:
    """Two scores to ``sigmoid(score_a - score_b)``."""
    return _sigmoid_gap(subs[0], subs[1])


def _pair_by_group(subs: List[Any]) -> Any:
    """A group's two scores to ``sigmoid(score_a - score_b)``."""
    return _sigmoid_gap(subs[0][0], subs[0][1])


#: (plan call kind, scorer kind) -> how the one answers the other
ADAPTERS: Dict[Tuple[str, str], Adapter] = {
    ("listwise", "listwise"): Adapter(_list_call, _the_answer),
    ("listwise", "pointwise"): Adapter(_point_calls, _the_answers, scores=True),
    ("listwise", "groupwise"): Adapter(_list_call, _the_answer, scores=True),
    ("pairwise", "pairwise"): Adapter(_pair_call, _the_answer),
    ("pairwise", "listwise"): Adapter(_list_call, _pair_by_order),
    ("pairwise", "pointwise"): Adapter(_point_calls, _pair_by_points),
    ("pairwise", "groupwise"): Adapter(_list_call, _pair_by_group),
    ("pointwise", "pointwise"): Adapter(_point_calls, _the_answer),
}


def _adapter(plan_kind: str, kind: str, strategy: Strategy) -> Adapter:
    adapter = ADAPTERS.get((plan_kind, kind))
    if adapter is None:
        raise InvalidInputError(
            f"scorer: {type(strategy).__name__} makes {plan_kind} calls, which a {kind} scorer cannot answer"
        )
    if getattr(strategy, "needs_scores", False) and not adapter.scores:
        raise InvalidInputError(
            f"scorer: {type(strategy).__name__}(aggregator='zscore') averages one score per shown document, "
            f"and a {kind} scorer answers with orders; use a groupwise or pointwise scorer, or another aggregator"
        )
    return adapter


def _as_positions(answer: Any, docs: Sequence[Candidate]) -> List[int]:
    """A listwise answer as 0-based positions, as the model gave them: a
    partial, repeated or out-of-range answer stays so, and the planner
    repairs and counts it (a text answer is parsed first, and what the
    parser dropped is passed on so that it is counted too)."""
    k = len(docs)
    if isinstance(answer, str):
        answer = parse_permutation(answer, k)
    if isinstance(answer, ParsedPermutation):
        named = [int(x) for x in answer.order[: answer.parsed]]
        return named + [int(d) for d in answer.duplicates] + [k] * len(answer.out_of_range)
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)):
        raise TypeError(f"expected a ranking (positions, doc ids or text), got {type(answer).__name__}")
    if answer and all(isinstance(a, str) for a in answer):
        where = {d.docid: i for i, d in enumerate(docs)}
        return [where.get(a, k) for a in answer]
    out = []
    for a in answer:
        if isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"ranking entries must be int positions or doc ids, got {a!r}")
        out.append(int(a) if 0 <= a < k else k)  # out of range: dropped (and counted) by the repair
    return out


def _as_scores(answer: Any, docs: Sequence[Candidate]) -> List[float]:
    """A groupwise answer as one float per shown document, prompt order
    (NaN where the answer gave none: text that named no score for it, a
    ``None`` entry, a document id left out of a mapping)."""
    k = len(docs)
    if isinstance(answer, str):
        answer = parse_scores(answer, k)
    if isinstance(answer, ParsedScores):
        # NaN (no score) as None; its length checked below, as a list's is
        answer = [None if math.isnan(x) else x for x in answer.scores.tolist()]
    if isinstance(answer, Mapping):
        where = {d.docid: i for i, d in enumerate(docs)}
        out = [math.nan] * k
        for docid, v in answer.items():
            if docid not in where:
                raise ValueError(f"a score for {docid!r}, which the call did not show")
            out[where[docid]] = math.nan if v is None else _as_value(v, "groupwise")
        return out
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if not isinstance(answer, (list, tuple)):
        raise TypeError(
            f"expected one score per shown document (numbers, doc id -> score, or text), got {type(answer).__name__}"
        )
    if len(answer) != k:
        raise ValueError(f"expected {k} scores, one per shown document, got {len(answer)}")
    return [math.nan if v is None else _as_value(v, "groupwise") for v in answer]


def _as_value(answer: Any, kind: str) -> float:
    try:
        v = float(answer)
    except OverflowError:
        raise ValueError(f"a score must be finite, got a number too large for a float ({str(answer)[:40]})") from None
    except (TypeError, ValueError):
        raise TypeError(f"expected a number, got {type(answer).__name__}") from None
    except Exception as e:  # e.g. a multi-element tensor's RuntimeError
        raise TypeError(f"expected a number, got {type(answer).__name__} ({type(e).__name__}: {e})") from None
    if kind == "pairwise" and not 0.0 <= v <= 1.0:
        raise ValueError(f"a probability must be in [0, 1], got {v}")
    if not math.isfinite(v):
        raise ValueError(f"a score must be finite, got {v}")
    return v


def _cost(answer: Answer, name: str, whole: bool) -> Any:
    """One cost field of an answer: None as 0; else a finite number >= 0 (a whole one for tokens)."""
    v = getattr(answer, name)
    if v is None:
        return 0 if whole else 0.0
    bad = isinstance(v, (bool, np.bool_, str, bytes))
    try:
        x = float(v)
    except Exception:
        bad = True
    if bad or not math.isfinite(x) or x < 0 or (whole and x != int(x)):
        kind = "a whole number of tokens >= 0" if whole else "a finite number >= 0"
        raise ValueError(f"{name} is not valid: {v!r} (expected {kind})")
    return int(x) if whole else x


def _costs(answer: Answer) -> Tuple[int, int, int, float, float]:
    """(tokens_in, tokens_out, thinking_tokens, latency, flops) of an answer, checked."""
    return (
        _cost(answer, "tokens_in", True),
        _cost(answer, "tokens_out", True),
        _cost(answer, "thinking_tokens", True),
        _cost(answer, "latency", False),
        _cost(answer, "flops", False),
    )


def _convert(call: Any, answer: Any, kind: str) -> Any:
    if isinstance(call, ListwiseCall):
        return _as_scores(answer, call.docs) if kind == "groupwise" else _as_positions(answer, call.docs)
    return _as_value(answer, "pairwise" if isinstance(call, PairwiseCall) else "pointwise")


def _shown(call: Any) -> int:
    return len(call.docs) if isinstance(call, ListwiseCall) else (2 if isinstance(call, PairwiseCall) else 1)


# --- the driver ---------------------------------------------------------------------------


class _Query:
    """One query's planner and the answers of its current round."""

    __slots__ = (
        "driver",
        "request",
        "n",
        "plan",
        "kind",
        "adapter",
        "answers",
        "outstanding",
        "calls",
        "docs_shown",
        "tokens_in",
        "tokens_out",
        "thinking_tokens",
        "flops",
        "latency",
        "error",
    )

    def __init__(self, driver: "_Driver", request: Request, n: int, plan: "_core.Plan") -> None:
        self.driver, self.request, self.n, self.plan = driver, request, n, plan
        self.kind = ""
        self.adapter: Optional[Adapter] = None
        self.answers: List[List[Any]] = []
        self.outstanding = self.calls = self.docs_shown = self.tokens_in = self.tokens_out = self.thinking_tokens = 0
        self.latency = self.flops = 0.0
        self.error: Optional[str] = None


class _Ticket:
    """One scorer call of one query's round: plan call ``c``, its part ``s``."""

    __slots__ = ("query", "c", "s", "call")

    def __init__(self, query: _Query, c: int, s: int, call: Any) -> None:
        self.query, self.c, self.s, self.call = query, c, s, call


def _call_of(t: _Ticket) -> Any:
    return t.call


#: where a driver hands a finished query: (its request, the order of all its
#: candidates as indices into the request, its spend, its error or None)
Sink = Callable[[Request, List[int], Dict[str, float], Optional[str]], None]


class _Driver:
    """The planners of many queries for one strategy (one stage of a
    cascade): ``start`` a request, feed it outcomes with ``on_outcome``;
    calls wait in ``ready``, finished queries go to ``sink``. ``label``
    prefixes its errors (a cascade's stage)."""

    def __init__(
        self,
        strategy: Strategy,
        kind: str,
        depth: Optional[int],
        on_error: OnError,
        stats: RerankStats,
        sink: Sink,
        label: str = "",
    ) -> None:
        self.strategy, self.kind, self.depth, self.on_error, self.stats = strategy, kind, depth, on_error, stats
        self.sink, self.label = sink, label
        self.ready: Deque[_Ticket] = deque()

    def start(self, req: Request) -> None:
        n = len(req.candidates) if self.depth is None else min(self.depth, len(req.candidates))
        try:
            plan = self.strategy.plan(n, req.qid)
        except InvalidInputError as e:
            raise InvalidInputError(f"query {req.qid!r} ({n} candidates): {self.label}{e}") from None
        self._next_round(_Query(self, req, n, plan))

    def _next_round(self, q: _Query) -> None:
        offsets, items = q.plan.requests()
        n_calls = len(offsets) - 1
        if n_calls == 0:
            self._finish(q)
            return
        q.kind = str(q.plan.kind)  # per round: a plan may change call kinds between rounds
        q.adapter = _adapter(q.kind, self.kind, self.strategy)
        req, cands = q.request, q.request.candidates
        bounds, flat = offsets.tolist(), items.tolist()
        q.answers = []
        for c in range(n_calls):
            subs = q.adapter.split(req, tuple(cands[i] for i in flat[bounds[c] : bounds[c + 1]]))
            q.answers.append([None] * len(subs))
            self.ready.extend(_Ticket(q, c, s, call) for s, call in enumerate(subs))
            q.outstanding += len(subs)

    def on_outcome(self, t: _Ticket, ok: bool, value: Any) -> None:
        q, call = t.query, t.call
        shown = _shown(call)
        if q.error is not None:  # answered after its query failed: paid for, so counted in the run's totals
            self.stats.calls += 1
            self.stats.docs_shown += shown
            return
        q.calls += 1
        q.docs_shown += shown
        self.stats.calls += 1
        self.stats.docs_shown += shown
        if isinstance(value, Answer):
            try:
                tin, tout, think, lat, fl = _costs(value)
            except ValueError as e:
                self._fail(q, f"its answer's {e}")
                return
            q.tokens_in += tin
            q.tokens_out += tout
            q.latency += lat
            q.thinking_tokens += think
            q.flops += fl
            value = value.value
        if not ok or isinstance(value, BaseException):
            self._fail(q, f"the scorer failed on its call: {value!r}")
            return
        if q.answers[t.c][t.s] is not None:
            raise ScorerError(f"query {q.request.qid!r}: a call was answered twice")
        try:
            q.answers[t.c][t.s] = _convert(call, value, self.kind)
        except (TypeError, ValueError, OverflowError) as e:
            self._fail(q, f"answer to a {type(call).__name__} is not valid: {e}")
            return
        q.outstanding -= 1
        if q.outstanding == 0:
            self._submit_round(q)

    def _submit_round(self, q: _Query) -> None:
        assert q.adapter is not None
        merged = [q.adapter.merge(subs) for subs in q.answers]
        try:
            if q.kind == "listwise":
                offsets = np.cumsum([0] + [len(o) for o in merged], dtype=np.int64)
                flat = (x for o in merged for x in o)
                if q.adapter.scores:
                    q.plan.submit_scores(offsets, np.fromiter(flat, dtype=np.float64, count=int(offsets[-1])))
                else:
                    q.plan.submit_orders(offsets, np.fromiter(flat, dtype=np.int64, count=int(offsets[-1])))
            else:
                q.plan.submit_values(np.asarray(merged, dtype=np.float64))
        except RankwiseError as e:
            self._fail(q, f"its answers were rejected: {e}")
            return
        self._next_round(q)

    def _fail(self, q: _Query, why: str) -> None:
        if q.error is not None:
            return
        why = self.label + why
        if self.on_error == "raise":
            raise ScorerError(f"query {q.request.qid!r}: {why}")
        q.error = why
        self._finish(q)

    def _finish(self, q: _Query) -> None:
        req = q.request
        order = [int(i) for i in q.plan.result()] if q.error is None else list(range(q.n))
        sp = q.plan.spend()  # calls and documents are counted here, per scorer call
        spend = {
            "calls": float(q.calls),
            "docs_shown": float(q.docs_shown),
            "rounds": float(sp[2]),
            "repaired": float(sp[3]),
            "unparsed": float(sp[4]) if len(sp) > 4 else 0.0,
            "failed": float(q.error is not None),
        }
        if q.tokens_in or q.tokens_out:
            spend["tokens_in"], spend["tokens_out"] = float(q.tokens_in), float(q.tokens_out)
        if q.thinking_tokens:
            spend["thinking_tokens"] = float(q.thinking_tokens)
        if q.latency:
            spend["latency"] = q.latency
        if q.flops:
            spend["flops"] = q.flops
        self.sink(req, order + list(range(q.n, len(req.candidates))), spend, q.error)


#: the spend keys every stage of a cascade reports (a stage not run: zeros)
_STAGE_KEYS = ("calls", "docs_shown", "rounds", "repaired", "unparsed", "failed")


def _cascade_spend(spends: List[Dict[str, float]], stages: int) -> Dict[str, float]:
    """Totals (summed; ``failed`` 0 or 1) and ``stageK.key`` per stage."""
    total: Dict[str, float] = {}
    for sp in spends:
        for k, v in sp.items():
            total[k] = max(total.get(k, 0.0), v) if k == "failed" else total.get(k, 0.0) + v
    for i in range(stages):
        sp = spends[i] if i < len(spends) else dict.fromkeys(_STAGE_KEYS, 0.0)
        for k, v in sp.items():
            total[f"stage{i + 1}.{k}"] = float(v)
    return total


class _Run:
    """The stages of one :func:`rerank_iter` run (one for a plain strategy),
    their drivers and one dispatcher per distinct scorer. A query that
    finishes a stage enters the next at once."""

    def __init__(
        self,
        stages: List[Tuple[Strategy, Any, Optional[int]]],
        cascade: bool,
        on_error: OnError,
        stats: RerankStats,
        dispatcher: Callable[[Any], "Dispatcher[_Ticket]"],
    ) -> None:
        self.cascade, self.stats = cascade, stats
        self.finished: List[Ranking] = []
        self.failures: List[Tuple[str, str]] = []
        self.seen: set[str] = set()
        self.active = 0
        self._spends: Dict[str, List[Dict[str, float]]] = {}
        self.dispatchers: List[Dispatcher[_Ticket]] = []
        self.scorers: List[Any] = []
        self.drivers: List[_Driver] = []
        self._disp_of: List[int] = []
        kinds, labels = [], []
        for k, (strategy, scorer, _) in enumerate(stages):  # every stage checked before any thread starts
            kind = scorer_kind(scorer, strategy.call_kind)
            label = f"stage {k + 1} ({type(strategy).__name__}): " if cascade else ""
            try:
                _adapter(strategy.call_kind, kind, strategy)  # a kind mismatch fails before any work
            except InvalidInputError as e:
                raise InvalidInputError(f"{label}{e}") from None
            kinds.append(kind)
            labels.append(label)
        for k, (strategy, scorer, depth) in enumerate(stages):
            kind, label = kinds[k], labels[k]
            d = next((i for i, s in enumerate(self.scorers) if s is scorer), None)
            if d is None:
                d = len(self.scorers)
                self.scorers.append(scorer)
                self.dispatchers.append(dispatcher(scorer))
            self._disp_of.append(d)
            self.drivers.append(_Driver(strategy, kind, depth, on_error, stats, self._sink(k), label))
        # the drivers each dispatcher serves, later stages first (their queries are closer to done)
        self._served: List[List[_Driver]] = [
            [self.drivers[k] for k in reversed(range(len(stages))) if self._disp_of[k] == d]
            for d in range(len(self.dispatchers))
        ]

    def start(self, req: Any) -> None:
        req = as_request(req, default_qid=str(len(self.seen)))  # a dict without a qid: its position
        if req.qid in self.seen:
            raise InvalidInputError(f"requests: query {req.qid!r} appears twice")
        self.seen.add(req.qid)
        if not req.candidates:
            raise InvalidInputError(f"requests: query {req.qid!r} has no candidates")
        self.active += 1
        self._spends[req.qid] = []
        self.drivers[0].start(req)

    def _sink(self, k: int) -> Sink:
        def done(req: Request, order: List[int], spend: Dict[str, float], error: Optional[str]) -> None:
            spends = self._spends[req.qid]
            spends.append(spend)
            if error is None and k + 1 < len(self.drivers):
                cands = req.candidates
                self.drivers[k + 1].start(Request(req.qid, req.query, [cands[i] for i in order]))
                return
            del self._spends[req.qid]
            self.active -= 1
            total = _cascade_spend(spends, len(self.drivers)) if self.cascade else spend
            docids = [req.candidates[i].docid for i in order]
            self.finished.append(Ranking.from_order(req.qid, docids, total, error=error))
            self.stats.queries += 1
            if error is not None:
                self.failures.append((req.qid, error))
                self.stats.failed.append(req.qid)

        return done

    def ready(self, d: int) -> int:
        return sum(len(drv.ready) for drv in self._served[d])

    def take(self, d: int, k: int) -> List[_Ticket]:
        """Up to ``k`` ready calls for dispatcher ``d``, skipping those of queries that failed meanwhile."""
        out: List[_Ticket] = []
        for drv in self._served[d]:
            while drv.ready and len(out) < k:
                t = drv.ready.popleft()
                if t.query.error is None:
                    out.append(t)
        return out

    @property
    def idle(self) -> bool:
        return all(d.idle for d in self.dispatchers) and not any(drv.ready for drv in self.drivers)


def rerank_iter(
    requests: Iterable[Any],
    strategy: Union[Strategy, Cascade],
    scorer: Optional[Callable[[List[Any]], Sequence[Any]]] = None,
    *,
    batch_size: Optional[int] = None,
    max_in_flight: Optional[int] = None,
    call_timeout: Optional[float] = None,
    progress: Optional[bool] = None,
    on_error: OnError = "fallback",
    retries: int = 1,
    stats: Optional[RerankStats] = None,
    record: Optional[Union[str, "os.PathLike[str]"]] = None,
) -> Iterator[Ranking]:
    """Like :func:`rerank`, but yields each query's ranking as soon as it is
    finished (in completion order), so a caller can write results out as it
    goes. Takes any iterable of requests, consumed lazily, and a strategy
    with its scorer or a :class:`~rankwise.Cascade` (no scorer)."""
    stages = _stages(strategy, scorer)
    if batch_size is not None:
        at_least("batch_size", batch_size, 1)
    if max_in_flight is not None:
        at_least("max_in_flight", max_in_flight, 1)
    for _, sc, _ in stages:  # the scorers' own preferences, checked before any work
        at_least("batch_size", batch_size if batch_size is not None else _preferred(sc, "preferred_batch_size", 32), 1)
        at_least(
            "max_in_flight", max_in_flight if max_in_flight is not None else _preferred(sc, "max_in_flight", 64), 1
        )
    retries = at_least("retries", retries, 0)
    if call_timeout is not None and not (isinstance(call_timeout, (int, float)) and call_timeout > 0):
        raise InvalidInputError(f"call_timeout: must be a positive number of seconds or None, got {call_timeout!r}")
    if on_error not in ("fallback", "raise"):
        raise InvalidInputError(f"on_error: must be 'fallback' or 'raise', got {on_error!r}")
    cascade = isinstance(strategy, Cascade)
    recording = None
    if record is not None:
        if cascade:
            raise InvalidInputError(
                "record: recording the calls of a Cascade is not supported; record each stage's scorer"
            )
        from .recording import Recording  # the one call recorder (rankwise.recording)

        stages[0] = (stages[0][0], Recording(stages[0][1], record), stages[0][2])
        recording = stages[0][1]
    st = stats if stats is not None else RerankStats()

    def dispatcher(sc: Any) -> "Dispatcher[_Ticket]":
        bs = batch_size if batch_size is not None else _preferred(sc, "preferred_batch_size", 32)
        mif = max_in_flight if max_in_flight is not None else _preferred(sc, "max_in_flight", 64)
        return Dispatcher(
            sc, _call_of, batch_size=bs, max_in_flight=mif, retries=retries, call_timeout=call_timeout, stats=st
        )

    try:
        run = _Run(stages, cascade, on_error, st, dispatcher)
    except BaseException:
        if recording is not None:
            recording.close()
        raise
    disps = run.dispatchers
    first = run._disp_of[0]
    cap = 4 * sum(d.wanted() for d in disps)  # queries started and not finished, at most (memory)
    bar = Progress(len(requests) if isinstance(requests, Sequence) else None, progress)
    source = iter(requests)
    exhausted = False
    t0 = time.perf_counter()
    tokens0 = [(getattr(sc, "tokens_in", 0), getattr(sc, "tokens_out", 0)) for sc in run.scorers]
    try:
        while True:
            want = disps[first].wanted()
            while not exhausted and run.ready(first) < want and (run.active < cap or not cascade):
                if run.finished:  # handed over before the next pull: a request stream that breaks loses nothing
                    bar.update(st.queries, st.calls)
                    yield from run.finished
                    run.finished.clear()
                req = next(source, None)
                if req is None:
                    exhausted = True
                else:
                    run.start(req)
            if run.finished:
                bar.update(st.queries, st.calls)
                yield from run.finished
                run.finished.clear()
            for d, disp in enumerate(disps):
                room = disp.room(run.ready(d))
                if room:
                    disp.send(run.take(d, room))
            if run.idle:
                if exhausted:
                    break
                continue
            for t, ok, value in poll_all(disps):
                t.query.driver.on_outcome(t, ok, value)
            bar.update(st.queries, st.calls)
        yield from run.finished
        run.finished.clear()
    finally:
        for disp in disps:
            disp.close()
        if recording is not None:
            recording.close()
        st.wall_seconds += time.perf_counter() - t0
        for sc, (tin, tout) in zip(run.scorers, tokens0):
            st.tokens_in += int(getattr(sc, "tokens_in", 0) or 0) - int(tin or 0)
            st.tokens_out += int(getattr(sc, "tokens_out", 0) or 0) - int(tout or 0)
        bar.close()
    if run.failures:
        shown_f = "; ".join(f"{qid}: {why}" for qid, why in run.failures[:3])
        more = f" (and {len(run.failures) - 3} more)" if len(run.failures) > 3 else ""
        warnings.warn(
            f"{len(run.failures)} queries kept their first-stage order because scorer calls failed: {shown_f}{more}",
            ScorerWarning,
            stacklevel=2,
        )


def _stages(strategy: Any, scorer: Any) -> List[Tuple[Strategy, Any, Optional[int]]]:
    """(strategy, scorer, depth) per stage: one for a plain strategy."""
    if isinstance(strategy, Cascade):
        if scorer is not None:
            raise InvalidInputError(
                "scorer: a Cascade carries one scorer per stage; pass scorer=None (or leave it out)"
            )
        return [(s.strategy, s.scorer, s.effective_depth) for s in strategy.stages]
    if not isinstance(strategy, Strategy):
        raise InvalidInputError(
            f"strategy: expected a rankwise strategy (e.g. SlidingWindow()) or a Cascade, got {type(strategy).__name__}"
        )
    if scorer is None:
        raise InvalidInputError(f"scorer: {type(strategy).__name__} needs a scorer (only a Cascade carries its own)")
    scorer_kind(scorer, strategy.call_kind)  # not callable: a clear error before any work
    return [(strategy, scorer, strategy.depth)]


def _preferred(scorer: Any, attr: str, default: int) -> Any:
    value = getattr(scorer, attr, None)
    return default if value is None else value


def rerank(
    requests: Iterable[Any],
    strategy: Union[Strategy, Cascade],
    scorer: Optional[Callable[[List[Any]], Sequence[Any]]] = None,
    *,
    batch_size: Optional[int] = None,
    max_in_flight: Optional[int] = None,
    call_timeout: Optional[float] = None,
    progress: Optional[bool] = None,
    on_error: OnError = "fallback",
    retries: int = 1,
    stats: Optional[RerankStats] = None,
    record: Optional[Union[str, "os.PathLike[str]"]] = None,
) -> List[Ranking]:
    """Rerank every request with ``strategy``, keeping ``scorer`` busy with
    calls from many queries at once.

    Args:
        requests: :class:`~rankwise.Request` objects (a query and its
            candidates in first-stage order), or anything
            :func:`~rankwise.data.as_request` takes (rank_llm ``Request``
            objects, dicts of the rank_llm or ``{"query", "docs"}`` shapes);
            query ids must be unique and every request needs at least one
            candidate.
        strategy: e.g. ``SlidingWindow()``, ``JointRank()``, ``Setwise()``;
            or a :class:`~rankwise.Cascade` of stages, each with its own
            scorer (``scorer`` is then left out): a query that finishes a
            stage enters the next at once, so all stages' scorers are busy
            together; ``spend`` then also holds ``stage1.calls``, ...
        scorer: a batch callable (see :mod:`rankwise.scorers`), or a scorer
            with ``submit(calls) -> futures`` (the server scorers), which is
            then kept ``max_in_flight`` calls busy. Its ``kind`` attribute
            (or, without one, the strategy's call kind) says what it
            answers; a pointwise scorer can also serve listwise strategies
            (each shown document scored, then sorted) and pairwise ones
            (``sigmoid(score_a - score_b)``), a listwise one pairwise ones;
            a groupwise scorer (one score per shown document of a listwise
            call: GroupRank, ICR) serves listwise strategies (each call
            ordered by its scores; ``JointRank(aggregator="zscore")``
            averages the standardised scores across blocks) and pairwise
            ones.
        batch_size: calls per invocation of a batch scorer; default the
            scorer's ``preferred_batch_size`` attribute, else 32.
        max_in_flight: calls outstanding at a ``submit`` scorer; default its
            ``max_in_flight`` attribute, else 64. (A batch scorer has at most
            two batches outstanding: one running, the next one queued.)
        call_timeout: seconds a call (or a batch) may take before it fails
            and the failure policy applies; default None (no limit beyond
            the scorer's own). A batch scorer stuck past it is left behind
            on its thread and a fresh thread serves the next batches; a
            ``submit()`` that does not return within it (each then runs on a
            short-lived thread) is a failed submission, left behind too.
        progress: draw a progress line on stderr; default: when it is a terminal.
        on_error: "fallback" (default: a failing query keeps its first-stage
            order, is marked and reported) or "raise" (:class:`ScorerError`).
        retries: extra tries of a failing scorer invocation before its calls
            are tried one by one, default 1.
        stats: a :class:`RerankStats` to fill in (calls, batches, time in the
            scorer, failed queries).
        record: a JSONL file to append every scorer call to (query id, doc
            ids in prompt order, prompt and raw answer when the scorer gives
            them, tokens, latency; the format of :mod:`rankwise.recording`,
            which :class:`~rankwise.scorers.Replay` and
            :class:`~rankwise.scorers.Cached` read); default None.

    Returns:
        One :class:`~rankwise.Ranking` per request, in request order, with
        synthetic scores ``n..1``. ``spend`` holds ``calls``, ``docs_shown``,
        ``rounds`` (sequential rounds of the planner), ``repaired`` (listwise
        answers that had to be completed, groupwise ones that left a
        document without a score), ``unparsed`` (those among them
        that named no shown document at all) and ``failed`` (0 or 1); and
        ``tokens_in``/``tokens_out``/``thinking_tokens``/``latency``
        (seconds)/``flops``, summed over calls, when the scorer reports them
        per call (:class:`~rankwise.scorers.Answer`).
        Candidates beyond ``strategy.depth`` follow the reranked ones in
        first-stage order. The rankings do not depend on ``batch_size``,
        ``max_in_flight`` or the order in which answers arrive.
    """
    reqs = [as_request(r, default_qid=str(i)) for i, r in enumerate(requests)]
    seen: set[str] = set()
    for r in reqs:  # the whole list is here: a duplicate is refused before any scorer call
        if r.qid in seen:
            raise InvalidInputError(f"requests: query {r.qid!r} appears twice")
        seen.add(r.qid)
    done = {
        r.qid: r
        for r in rerank_iter(
            reqs,
            strategy,
            scorer,
            batch_size=batch_size,
            max_in_flight=max_in_flight,
            call_timeout=call_timeout,
            progress=progress,
            on_error=on_error,
            retries=retries,
            stats=stats,
            record=record,
        )
    }
    return [done[r.qid] for r in reqs]


def rank_function(
    strategy: Strategy, scorer: Callable[[List[Any]], Sequence[Any]], **options: Any
) -> Callable[[str, Sequence[Union[str, Tuple[str, str]]]], List[int]]:
    """A rankwise strategy as a plain function ``(query, docs) -> order``,
    for code that reranks one query at a time (e.g. another reranker library).

    ``docs`` are texts or ``(doc_id, text)`` pairs; the result lists their
    indices, best first. ``options`` go to :func:`rerank` (``batch_size``,
    ``on_error``, ...); a scorer failure raises unless ``on_error="fallback"``.
    """
    from .reranker import Reranker  # imported here: rankwise.reranker imports this module

    return Reranker(strategy, scorer, **options).order
