"""The scorer protocol: what the driver sends a scorer and what it expects back.

A scorer is any callable that takes a *batch* (a list) of calls, possibly
from many queries, and returns one answer per call, in order:

* listwise, ``ListwiseCall(qid, query, docs)`` -> a ranking of ``docs``,
  best first: 0-based positions into ``docs`` (or their doc ids, or a
  :class:`~rankwise.ParsedPermutation`); partial or repeated answers are
  repaired as :func:`~rankwise.parse_permutation` does;
* pointwise, ``PointwiseCall(qid, query, doc)`` -> a finite relevance score;
* pairwise, ``PairwiseCall(qid, query, doc_a, doc_b)`` -> the probability
  that ``doc_a`` is more relevant than ``doc_b``, in [0, 1];
* groupwise, ``ListwiseCall(qid, query, docs)`` -> one score per shown
  document, in prompt order (higher is more relevant): a sequence of ``k``
  finite numbers (``None`` for a document the model gave no score, counted
  as a repaired answer), a mapping doc id -> score (a shown document left
  out: no score), or text that :func:`~rankwise.parse_scores` reads
  (GroupRank-style ``[i]: score`` lines, attention scores, ...). Any
  strategy can use it: listwise planners order each call by its scores,
  pairwise ones get ``sigmoid(s_a - s_b)``, and ``JointRank(aggregator=
  "zscore")`` averages the standardised scores across blocks.

An answer may also be an exception instance: that call failed and the rest
of the batch stands (a server scorer uses this so that one bad request does
not make the driver send the whole batch again). An answer may be wrapped in
an :class:`Answer` that also says what the call cost (tokens, latency) and
what was said (the prompt, the raw text); the driver unwraps it, adds the
tokens to the query's spend and writes it to a call recording.

A scorer may also offer a non-blocking path, which the driver prefers when
it is there: ``submit(calls) -> futures``, one
:class:`concurrent.futures.Future` per call, in order, each resolving to that
call's answer (or raising: that call failed). Such a scorer keeps its own
pool (threads, an event loop, a connection pool) and may state how many
calls it wants outstanding with a ``max_in_flight`` attribute. A plain batch
scorer may state the batch it prefers with a ``batch_size`` attribute (an
in-process model that sorts a large batch by length pads less).

A scorer says which kind it is with a ``kind`` attribute; a plain function
without one is taken to be the kind the strategy asks for. Wrap a plain
function with :func:`as_scorer` to state its kind explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Literal, Mapping, Optional, Protocol, Sequence, Tuple, Union, runtime_checkable

from .._errors import InvalidInputError
from ..data import Candidate

__all__ = [
    "Kind",
    "ListwiseCall",
    "PointwiseCall",
    "PairwiseCall",
    "Call",
    "Answer",
    "Scorer",
    "as_scorer",
    "scorer_kind",
    "check_kind",
    "resolve_method",
]

Kind = Literal["listwise", "pointwise", "pairwise", "groupwise"]
KINDS: Tuple[str, ...] = ("listwise", "pointwise", "pairwise", "groupwise")


@dataclass(frozen=True, slots=True)
class ListwiseCall:
    """Rank ``docs`` (in prompt order) for ``query``."""

    qid: str
    query: str
    docs: Tuple[Candidate, ...]


@dataclass(frozen=True, slots=True)
class PointwiseCall:
    """Score one document for ``query``."""

    qid: str
    query: str
    doc: Candidate


@dataclass(frozen=True, slots=True)
class PairwiseCall:
    """Is ``doc_a`` more relevant to ``query`` than ``doc_b``?"""

    qid: str
    query: str
    doc_a: Candidate
    doc_b: Candidate


Call = Union[ListwiseCall, PointwiseCall, PairwiseCall]


@dataclass(frozen=True, slots=True)
class Answer:
    """One call's answer with what it cost; scorers may return plain values instead.

    Attributes:
        value: the answer itself (a ranking, a score, a probability or a group's scores, as above).
        raw: the model's raw output text, when there is one (default None).
        prompt: the prompt sent (text or chat messages), when the scorer exposes it (default None).
        tokens_in: prompt tokens the call read (default 0).
        tokens_out: tokens the call wrote, thinking included (default 0).
        latency: seconds the call took inside the scorer or server, when measured (default None).
        thinking_tokens: how many of ``tokens_out`` were a reasoning trace (default 0).
        flops: the call's estimated floating-point operations, prefill and decode (default None: unknown).
    """

    value: Any
    raw: Optional[str] = None
    prompt: Any = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency: Optional[float] = None
    thinking_tokens: int = 0
    flops: Optional[float] = None


@runtime_checkable
class Scorer(Protocol):
    """A batch scorer: ``scorer(calls) -> answers``, one answer per call."""

    def __call__(self, calls: List[Any]) -> Sequence[Any]: ...


class _Wrapped:
    """A plain callable with a stated kind."""

    def __init__(self, fn: Callable[[List[Any]], Sequence[Any]], kind: str) -> None:
        self.fn = fn
        self.kind = kind

    def __call__(self, calls: List[Any]) -> Sequence[Any]:
        return self.fn(calls)

    def __repr__(self) -> str:
        return f"as_scorer({self.fn!r}, kind={self.kind!r})"


def as_scorer(fn: Callable[[List[Any]], Sequence[Any]], kind: Kind) -> Scorer:
    """State the kind of a plain batch function: ``as_scorer(fn, "pointwise")``."""
    check_kind("as_scorer", kind)
    if not callable(fn):
        raise InvalidInputError(f"fn: must be callable, got {type(fn).__name__}")
    return _Wrapped(fn, kind)


def check_kind(owner: str, kind: Any, kinds: Sequence[str] = KINDS) -> str:
    """``kind`` if ``owner`` answers that kind of call, else an
    :class:`InvalidInputError` naming the kinds it answers."""
    if kind not in kinds:
        raise InvalidInputError(f"kind: {owner} answers {' or '.join(kinds)} calls, got {kind!r}")
    return str(kind)


def resolve_method(owner: str, kind: Any, method: Optional[str], methods: Mapping[str, Sequence[str]]) -> str:
    """The method ``owner`` uses for ``kind``: ``method``, or the kind's first
    (default) method when it is None; an :class:`InvalidInputError` names the
    kinds or methods ``owner`` takes otherwise."""
    kind = check_kind(owner, kind, tuple(methods))
    if method is None:
        return methods[kind][0]
    if method not in methods[kind]:
        raise InvalidInputError(f"method: {kind} {owner} takes {', '.join(methods[kind])}; got {method!r}")
    return method


def scorer_kind(scorer: Any, default: str) -> str:
    """The scorer's ``kind`` attribute, or ``default`` when it has none."""
    if not callable(scorer):
        raise InvalidInputError(f"scorer: must be callable (a batch of calls -> answers), got {type(scorer).__name__}")
    kind: Optional[str] = getattr(scorer, "kind", None)
    if kind is None:
        return default
    if kind not in KINDS:
        raise InvalidInputError(f"scorer: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind
