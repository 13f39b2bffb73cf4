"""A simulated judge for tests and benchmarks."""

from __future__ import annotations

import hashlib
import math
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt

from .._errors import InvalidInputError, ScorerError
from .._validate import real
from ..runs import Qrels, Run
from ._base import Call, Kind, ListwiseCall, PairwiseCall, PointwiseCall, check_kind

__all__ = ["Oracle"]

_M = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    with np.errstate(over="ignore"):
        z = x + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: npt.NDArray[np.uint64] = z ^ (z >> np.uint64(31))
        return out


class Oracle:
    """A SIMULATED judge: it answers from a reference ranking or from
    relevance grades, optionally with seeded noise. Numbers obtained with it
    are simulations, not LLM results, and are labelled so everywhere.

    Each document has a utility: its grade (``Qrels``, unjudged = 0), or
    ``3 (L - r) / L`` for the document at 0-based rank ``r`` of a reference
    ``Run`` of length ``L`` (absent = 0), or the value of a
    ``{qid: {docid: utility}}`` mapping. For every call the judge perturbs the
    utilities of the shown documents, ``v = u + position_bias * (1 - slot /
    (k - 1)) + temperature * Gumbel`` (sorting ``v`` is a Plackett–Luce sample
    at that temperature; the bias favours the prompt's first slots), and
    answers by kind:

    * listwise: the shown documents sorted by ``v`` (ties keep prompt order),
      each position in the lower half then omitted with probability ``drop``
      (a truncated answer; the driver appends what is missing in prompt order);
    * pointwise: ``v``;
    * pairwise: ``sigmoid(v_a - v_b)``;
    * groupwise: ``v`` of every shown document, in prompt order (one score
      per document of a listwise call), each document in the lower half by
      ``v`` then left unscored (``None``) with probability ``drop``.

    The noise of a call is a function of ``seed``, the query and the shown
    documents only, so answers do not depend on batching or call order (as a
    temperature-0 LLM with a cache).

    Args:
        reference: a :class:`~rankwise.Run`, :class:`~rankwise.Qrels` or mapping.
        kind: which calls it answers, default ``"listwise"``.
        temperature: Gumbel noise scale, default 0 (a consistent judge).
        position_bias: utility bonus of the first prompt slot, default 0.
        drop: probability of omitting each lower-half position, default 0.
        seed: noise seed, default 0.
    """

    def __init__(
        self,
        reference: Union[Run, Qrels, Mapping[str, Mapping[str, float]]],
        kind: Kind = "listwise",
        *,
        temperature: float = 0.0,
        position_bias: float = 0.0,
        drop: float = 0.0,
        seed: int = 0,
    ) -> None:
        check_kind("Oracle", kind)
        self.kind = kind
        self.temperature = real("temperature", temperature)
        self.position_bias = real("position_bias", position_bias)
        self.drop = real("drop", drop)
        if not (math.isfinite(self.temperature) and self.temperature >= 0):
            raise InvalidInputError(f"temperature: must be finite and >= 0, got {temperature}")
        if not math.isfinite(self.position_bias):
            raise InvalidInputError(f"position_bias: must be finite, got {position_bias}")
        if not 0 <= self.drop <= 1:
            raise InvalidInputError(f"drop: must be in [0, 1], got {drop}")
        self.seed = int(seed)
        self._utility: Dict[str, Dict[str, float]] = {}
        if isinstance(reference, Run):
            for qid, r in reference.items():
                n = len(r.docids)
                self._utility[qid] = {d: 3.0 * (n - k) / n for k, d in enumerate(r.docids)}
        elif isinstance(reference, (Qrels, Mapping)):
            items: Mapping[str, Mapping[str, float]] = reference  # type: ignore[assignment]
            self._utility = {str(q): {str(d): float(g) for d, g in docs.items()} for q, docs in items.items()}
        else:
            raise InvalidInputError(f"reference: expected a Run, Qrels or mapping, got {type(reference).__name__}")

    def _utilities(self, qid: str, docids: Sequence[str]) -> npt.NDArray[np.float64]:
        ref = self._utility[qid]  # __call__ answers unknown queries with a ScorerError first
        return np.array([ref.get(d, 0.0) for d in docids], dtype=np.float64)

    def _noise(self, qid: str, docids: Sequence[str]) -> npt.NDArray[np.float64]:
        """Gumbel(0, 1) draws, one per shown document, fixed by (seed, qid, docids)."""
        h = hashlib.blake2b(digest_size=8)
        h.update(f"{self.seed}\x1f{qid}\x1f".encode())
        h.update("\x1e".join(docids).encode())
        key = np.uint64(int.from_bytes(h.digest(), "little"))
        with np.errstate(over="ignore"):
            x = _splitmix(key + np.arange(1, len(docids) + 1, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03))
        u = ((x >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53
        return np.asarray(-np.log(-np.log(u)), dtype=np.float64)

    def _perturbed(self, qid: str, docids: Sequence[str]) -> npt.NDArray[np.float64]:
        v = self._utilities(qid, docids)
        k = len(docids)
        if self.position_bias and k > 1:
            v = v + self.position_bias * (1.0 - np.arange(k) / (k - 1))
        if self.temperature:
            v = v + self.temperature * self._noise(qid, docids)
        return v

    def __call__(self, calls: List[Call]) -> List[Any]:
        out: List[Any] = []
        for c in calls:
            if c.qid not in self._utility:  # that call fails, the rest of the batch stands
                out.append(ScorerError(f"Oracle: query {c.qid!r} is not in the reference"))
                continue
            if isinstance(c, ListwiseCall) and self.kind in ("listwise", "groupwise"):
                ids = [d.docid for d in c.docs]
                v = self._perturbed(c.qid, ids)
                order = np.argsort(-v, kind="stable")
                keep = np.ones(len(order), dtype=bool)
                if self.drop:
                    half = (len(order) + 1) // 2
                    u = self._noise(c.qid, ["drop"] + ids)[1:]  # an independent stream
                    keep[half:] = np.exp(-np.exp(-u[half:])) >= self.drop
                if self.kind == "listwise":
                    out.append(order[keep].tolist())
                else:
                    given = np.zeros(len(v), dtype=bool)
                    given[order[keep]] = True
                    out.append([float(x) if g else None for x, g in zip(v, given)])
            elif isinstance(c, PointwiseCall) and self.kind == "pointwise":
                out.append(float(self._perturbed(c.qid, [c.doc.docid])[0]))
            elif isinstance(c, PairwiseCall) and self.kind == "pairwise":
                v = self._perturbed(c.qid, [c.doc_a.docid, c.doc_b.docid])
                out.append(float(1.0 / (1.0 + np.exp(v[1] - v[0]))))
            else:
                raise InvalidInputError(f"Oracle(kind={self.kind!r}) cannot answer a {type(c).__name__}")
        return out

    def __repr__(self) -> str:
        return (
            f"Oracle(SIMULATED, kind={self.kind!r}, temperature={self.temperature}, "
            f"position_bias={self.position_bias}, drop={self.drop}, seed={self.seed})"
        )
