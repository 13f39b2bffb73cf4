"""The driver: step the planners of many queries together so that every
scorer call carries a full batch.

Calls wait in one first-in-first-out queue. Each batch takes the next
``batch_size`` calls, whatever queries they belong to; a query whose round
is fully answered submits the answers to its planner at once and queues its
next round, so batches stay full while any query has work. Queries are
started lazily (enough to keep two batches queued), which bounds memory and
lets :func:`rerank_iter` hand back finished queries early.

Failure policy (``on_error="fallback"``, the default): a batch whose scorer
call raises (anything but :class:`~rankwise.InvalidInputError`, which means
the scorer is misconfigured and is raised at once) or returns the wrong
number of answers is retried ``retries``
times; if it still fails, each of its calls is tried alone, so one bad call
cannot sink the others. A query with a call that fails alone, or with an
answer that is not one (NaN, a probability outside [0, 1], no ranking),
keeps its first-stage order: its :class:`~rankwise.Ranking` has
``spend["failed"] == 1`` and ``error`` says why, and a
:class:`~rankwise.ScorerWarning` lists such queries at the end. No query is
ever dropped. ``on_error="raise"`` raises :class:`~rankwise.ScorerError`
instead, naming the queries.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Literal, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._errors import InvalidInputError, RankwiseError, ScorerError, ScorerWarning
from ._progress import Progress
from ._validate import at_least
from .data import Candidate, Request
from .parsing import ParsedPermutation, parse_permutation
from .runs import Ranking
from .scorers._base import ListwiseCall, PairwiseCall, PointwiseCall, scorer_kind
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


class _Query:
    __slots__ = ("request", "n", "plan", "answers", "outstanding", "calls", "docs_shown", "error", "mode")

    def __init__(self, request: Request, n: int, plan: "_core.Plan", mode: str) -> None:
        self.request, self.n, self.plan, self.mode = request, n, plan, mode
        self.answers: List[List[Any]] = []
        self.outstanding = 0
        self.calls = self.docs_shown = 0
        self.error: Optional[str] = None


# (query, plan call index, sub-call index, scorer call)
_Item = Tuple[_Query, int, int, Any]

# How a plan's call is answered by a scorer of another kind:
#   plan kind -> scorer kind -> mode
_MODES: Dict[str, Dict[str, str]] = {
    "listwise": {"listwise": "direct", "pointwise": "list_by_points"},
    "pairwise": {"pairwise": "direct", "listwise": "pair_by_list", "pointwise": "pair_by_points"},
    "pointwise": {"pointwise": "direct"},
}


def _as_positions(answer: Any, docs: Sequence[Candidate]) -> List[int]:
    """A listwise answer as 0-based positions (possibly partial)."""
    k = len(docs)
    if isinstance(answer, ParsedPermutation):
        return [int(x) for x in answer.order]
    if isinstance(answer, str):
        return [int(x) for x in parse_permutation(answer, k).order]
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


def _as_value(answer: Any, kind: str) -> float:
    try:
        v = float(answer)
    except (TypeError, ValueError):
        raise TypeError(f"expected a number, got {type(answer).__name__}") from None
    if kind == "pairwise" and not 0.0 <= v <= 1.0:
        raise ValueError(f"a probability must be in [0, 1], got {v}")
    if not math.isfinite(v):
        raise ValueError(f"a score must be finite, got {v}")
    return v


def rerank_iter(
    requests: Iterable[Request],
    strategy: Strategy,
    scorer: Callable[[List[Any]], Sequence[Any]],
    *,
    batch_size: int = 32,
    progress: Optional[bool] = None,
    on_error: OnError = "fallback",
    retries: int = 1,
    stats: Optional[RerankStats] = None,
) -> Iterator[Ranking]:
    """Like :func:`rerank`, but yields each query's ranking as soon as it is
    finished (in completion order), so a caller can write results out as it
    goes. Takes any iterable of requests, consumed lazily."""
    if not isinstance(strategy, Strategy):
        raise InvalidInputError(
            f"strategy: expected a rankwise strategy (e.g. SlidingWindow()), got {type(strategy).__name__}"
        )
    batch_size = at_least("batch_size", batch_size, 1)
    retries = at_least("retries", retries, 0)
    if on_error not in ("fallback", "raise"):
        raise InvalidInputError(f"on_error: must be 'fallback' or 'raise', got {on_error!r}")
    plan_kind = strategy.call_kind
    kind = scorer_kind(scorer, plan_kind)
    mode = _MODES[plan_kind].get(kind)
    if mode is None:
        raise InvalidInputError(
            f"scorer: {type(strategy).__name__} makes {plan_kind} calls, which a {kind} scorer cannot answer"
        )
    st = stats if stats is not None else RerankStats()
    total = len(requests) if isinstance(requests, Sequence) else None
    bar = Progress(total, progress)
    t0 = time.perf_counter()
    source = iter(requests)
    seen: set[str] = set()
    queue: Deque[_Item] = deque()
    finished: List[Ranking] = []
    failures: List[Tuple[str, str]] = []

    def finish(q: _Query) -> None:
        req = q.request
        if q.error is None:
            order = [int(i) for i in q.plan.result()]
        else:
            order = list(range(q.n))
            failures.append((req.qid, q.error))
            st.failed.append(req.qid)
        _, _, rounds, repaired = q.plan.spend()  # calls and documents are counted here, per scorer call
        docids = [req.candidates[i].docid for i in order] + [c.docid for c in req.candidates[q.n :]]
        spend = {
            "calls": float(q.calls),
            "docs_shown": float(q.docs_shown),
            "rounds": float(rounds),
            "repaired": float(repaired),
            "failed": float(q.error is not None),
        }
        finished.append(Ranking.from_order(req.qid, docids, spend, error=q.error))
        st.queries += 1

    def fail(q: _Query, why: str) -> None:
        if q.error is not None:
            return
        if on_error == "raise":
            raise ScorerError(f"query {q.request.qid!r}: {why}")
        q.error = why
        finish(q)

    def enqueue_round(q: _Query) -> None:
        offsets, items = q.plan.requests()
        n_calls = len(offsets) - 1
        if n_calls == 0:
            finish(q)
            return
        req, cands = q.request, q.request.candidates
        items_l = items.tolist()
        q.answers = []
        for c in range(n_calls):
            shown = items_l[offsets[c] : offsets[c + 1]]
            docs = tuple(cands[i] for i in shown)
            if q.mode == "direct":
                if plan_kind == "listwise":
                    subs: List[Any] = [ListwiseCall(req.qid, req.query, docs)]
                elif plan_kind == "pairwise":
                    subs = [PairwiseCall(req.qid, req.query, docs[0], docs[1])]
                else:
                    subs = [PointwiseCall(req.qid, req.query, docs[0])]
            elif q.mode == "pair_by_list":
                subs = [ListwiseCall(req.qid, req.query, docs)]
            else:  # list_by_points, pair_by_points
                subs = [PointwiseCall(req.qid, req.query, d) for d in docs]
            q.answers.append([None] * len(subs))
            for s, call in enumerate(subs):
                queue.append((q, c, s, call))
            q.outstanding += len(subs)

    def submit_round(q: _Query) -> None:
        try:
            if plan_kind == "listwise":
                orders = []
                for subs in q.answers:
                    if q.mode == "direct":
                        orders.append(subs[0])
                    else:  # list_by_points: sort by score, ties in prompt order
                        orders.append(np.argsort(-np.asarray(subs, dtype=np.float64), kind="stable").tolist())
                offsets = np.cumsum([0] + [len(o) for o in orders], dtype=np.int64)
                flat = np.fromiter((x for o in orders for x in o), dtype=np.int64, count=int(offsets[-1]))
                q.plan.submit_orders(offsets, flat)
            else:
                vals = []
                for subs in q.answers:
                    if q.mode == "pair_by_list":
                        first = next((p for p in subs[0] if 0 <= p < 2), 0)  # unnamed: prompt order
                        vals.append(1.0 if first == 0 else 0.0)
                    elif q.mode == "pair_by_points":
                        vals.append(1.0 / (1.0 + math.exp(max(-700.0, min(700.0, subs[1] - subs[0])))))
                    else:
                        vals.append(subs[0])
                q.plan.submit_values(np.asarray(vals, dtype=np.float64))
        except RankwiseError as e:
            fail(q, f"its answers were rejected: {e}")
            return
        enqueue_round(q)

    def convert(item: _Item, answer: Any) -> Any:
        _, _, _, call = item
        if isinstance(call, ListwiseCall):
            return _as_positions(answer, call.docs)
        return _as_value(answer, "pairwise" if isinstance(call, PairwiseCall) else "pointwise")

    def call_scorer(batch: List[Any]) -> List[Any]:
        t = time.perf_counter()
        try:
            out = scorer(batch)
        finally:
            st.scorer_seconds += time.perf_counter() - t
        out = list(out)
        if len(out) != len(batch):
            raise ScorerError(f"the scorer returned {len(out)} answers for a batch of {len(batch)} calls")
        return out

    def score(batch: List[_Item]) -> List[Tuple[bool, Any]]:
        calls = [it[3] for it in batch]
        last: Optional[BaseException] = None
        for _ in range(retries + 1):
            try:
                return [(True, a) for a in call_scorer(calls)]
            except InvalidInputError:
                raise  # a misconfigured scorer (wrong kind, window too large): no retry, no fallback
            except Exception as e:  # a scorer may raise anything; KeyboardInterrupt passes
                last = e
        if on_error == "raise":
            qids = sorted({it[0].request.qid for it in batch})
            raise ScorerError(
                f"the scorer failed on a batch of {len(batch)} calls from queries {qids[:5]}: {last!r}"
            ) from last
        if len(batch) == 1:
            return [(False, last)]
        out: List[Tuple[bool, Any]] = []
        for c in calls:
            try:
                out.append((True, call_scorer([c])[0]))
            except InvalidInputError:
                raise
            except Exception as e:
                out.append((False, e))
        return out

    def start(req: Request) -> None:
        if not isinstance(req, Request):
            raise InvalidInputError(f"requests: expected Request objects, got {type(req).__name__}")
        if req.qid in seen:
            raise InvalidInputError(f"requests: query {req.qid!r} appears twice")
        seen.add(req.qid)
        if not req.candidates:
            raise InvalidInputError(f"requests: query {req.qid!r} has no candidates")
        n = len(req.candidates) if strategy.depth is None else min(strategy.depth, len(req.candidates))
        try:
            plan = strategy.plan(n, req.qid)
        except InvalidInputError as e:
            raise InvalidInputError(f"query {req.qid!r} ({n} candidates): {e}") from None
        enqueue_round(_Query(req, n, plan, mode))

    exhausted = False
    tokens0 = (getattr(scorer, "tokens_in", 0), getattr(scorer, "tokens_out", 0))
    try:
        while True:
            while not exhausted and len(queue) < 2 * batch_size:
                req = next(source, None)
                if req is None:
                    exhausted = True
                else:
                    start(req)
            if finished:
                bar.update(st.queries, st.calls)
                yield from finished
                finished.clear()
            if not queue:
                if exhausted:
                    break
                continue
            batch: List[_Item] = []
            while queue and len(batch) < batch_size:
                item = queue.popleft()
                if item[0].error is None:
                    batch.append(item)
            if not batch:
                continue
            results = score(batch)
            st.batches += 1
            st.batch_queries += len({id(it[0]) for it in batch})
            touched: Dict[int, _Query] = {}
            for item, (ok, value) in zip(batch, results):
                q, c, s, call = item
                if q.error is not None:
                    continue
                shown = (
                    len(call.docs) if isinstance(call, ListwiseCall) else (2 if isinstance(call, PairwiseCall) else 1)
                )
                q.calls += 1
                q.docs_shown += shown
                st.calls += 1
                st.docs_shown += shown
                if not ok or isinstance(value, BaseException):
                    fail(q, f"the scorer failed on its call: {value!r}")
                    continue
                try:
                    q.answers[c][s] = convert(item, value)
                except (TypeError, ValueError) as e:
                    fail(q, f"answer to a {type(call).__name__} is not valid: {e}")
                    continue
                q.outstanding -= 1
                touched[id(q)] = q
            for q in touched.values():
                if q.error is None and q.outstanding == 0:
                    submit_round(q)
            bar.update(st.queries, st.calls)
    finally:
        st.wall_seconds += time.perf_counter() - t0
        st.tokens_in += int(getattr(scorer, "tokens_in", 0) or 0) - int(tokens0[0] or 0)
        st.tokens_out += int(getattr(scorer, "tokens_out", 0) or 0) - int(tokens0[1] or 0)
        bar.close()
    if failures:
        shown_f = "; ".join(f"{qid}: {why}" for qid, why in failures[:3])
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        warnings.warn(
            f"{len(failures)} queries kept their first-stage order because scorer calls failed: {shown_f}{more}",
            ScorerWarning,
            stacklevel=2,
        )


def rerank(
    requests: Iterable[Request],
    strategy: Strategy,
    scorer: Callable[[List[Any]], Sequence[Any]],
    *,
    batch_size: int = 32,
    progress: Optional[bool] = None,
    on_error: OnError = "fallback",
    retries: int = 1,
    stats: Optional[RerankStats] = None,
) -> List[Ranking]:
    """Rerank every request with ``strategy``, asking ``scorer`` in batches
    that span queries.

    Args:
        requests: :class:`~rankwise.Request` objects (a query and its
            candidates in first-stage order); query ids must be unique and
            every request needs at least one candidate.
        strategy: e.g. ``SlidingWindow()``, ``JointRank()``, ``Setwise()``.
        scorer: a batch callable (see :mod:`rankwise.scorers`). Its ``kind``
            attribute (or, without one, the strategy's call kind) says what it
            answers; a pointwise scorer can also serve listwise strategies
            (each shown document scored, then sorted) and pairwise ones
            (``sigmoid(score_a - score_b)``), a listwise one pairwise ones.
        batch_size: calls per scorer invocation, default 32.
        progress: draw a progress line on stderr; default: when it is a terminal.
        on_error: "fallback" (default: a failing query keeps its first-stage
            order, is marked and reported) or "raise" (:class:`ScorerError`).
        retries: extra tries of a failing batch before its calls are tried
            one by one, default 1.
        stats: a :class:`RerankStats` to fill in (calls, batches, time in the
            scorer, failed queries).

    Returns:
        One :class:`~rankwise.Ranking` per request, in request order, with
        synthetic scores ``n..1``; ``spend`` holds ``calls``, ``docs_shown``,
        ``rounds`` (sequential rounds of the planner), ``repaired`` (listwise
        answers that had to be completed) and ``failed`` (0 or 1). Candidates
        beyond ``strategy.depth`` follow the reranked ones in first-stage order.
    """
    reqs = list(requests)
    done = {
        r.qid: r
        for r in rerank_iter(
            reqs,
            strategy,
            scorer,
            batch_size=batch_size,
            progress=progress,
            on_error=on_error,
            retries=retries,
            stats=stats,
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
    options.setdefault("on_error", "raise")
    options.setdefault("progress", False)

    def rank(query: str, docs: Sequence[Union[str, Tuple[str, str]]]) -> List[int]:
        cands = [
            Candidate(str(d[0]), str(d[1])) if isinstance(d, tuple) else Candidate(str(i), d)
            for i, d in enumerate(docs)
        ]
        index = {c.docid: i for i, c in enumerate(cands)}
        (ranking,) = rerank([Request("q", query, cands)], strategy, scorer, **options)
        return [index[d] for d in ranking.docids]

    return rank
