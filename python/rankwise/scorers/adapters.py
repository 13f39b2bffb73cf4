"""Working with other rerankers: any model of answerdotai's ``rerankers``
library as a rankwise scorer, and any rankwise strategy as a plain function."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Dict, List, Optional, Tuple

from .._errors import InvalidInputError, ScorerError
from ._base import ListwiseCall, PointwiseCall, check_kind

__all__ = ["RerankersScorer"]


class RerankersScorer:
    """A ``rerankers`` model (``Reranker(...)`` or any object with
    ``rank(query, docs, doc_ids)`` returning ranked results) as a rankwise
    scorer.

    * ``kind="pointwise"``: the calls of one query in a batch go to a single
      ``rank`` call; each document's answer is its ``score`` (or, for models
      that give none, minus its rank).
    * ``kind="listwise"``: each call's documents go to one ``rank`` call;
      the answer is their order.
    """

    def __init__(self, ranker: Any, kind: str = "pointwise") -> None:
        if not callable(getattr(ranker, "rank", None)):
            raise InvalidInputError(
                f"ranker: expected an object with rank(query, docs, doc_ids), got {type(ranker).__name__}"
            )
        check_kind("RerankersScorer", kind, ("pointwise", "listwise"))
        self.ranker, self.kind = ranker, kind

    def _ranked(self, query: str, texts: List[str], ids: List[str]) -> List[Tuple[str, Optional[float], Optional[int]]]:
        out = self.ranker.rank(query, texts, doc_ids=ids)
        results = getattr(out, "results", out)
        try:
            return [(str(r.document.doc_id), getattr(r, "score", None), getattr(r, "rank", None)) for r in results]
        except AttributeError as e:
            raise ScorerError(f"the ranker's rank() returned {type(out).__name__}, not ranked results ({e})") from None

    def __call__(self, calls: List[Any]) -> List[Any]:
        if self.kind == "listwise":
            answers: List[Any] = []
            for c in calls:
                if not isinstance(c, ListwiseCall):
                    raise InvalidInputError("a listwise RerankersScorer answers ListwiseCall only")
                ids = [str(i) for i in range(len(c.docs))]
                answers.append([int(d) for d, _, _ in self._ranked(c.query, [d.text for d in c.docs], ids)])
            return answers
        groups: Dict[Tuple[str, str], List[int]] = defaultdict(list)
        for k, c in enumerate(calls):
            if not isinstance(c, PointwiseCall):
                raise InvalidInputError("a pointwise RerankersScorer answers PointwiseCall only")
            groups[(c.qid, c.query)].append(k)
        scores: List[Any] = [None] * len(calls)
        for (_, query), ks in groups.items():
            ids = [str(k) for k in ks]
            for d, score, rank in self._ranked(query, [calls[k].doc.text for k in ks], ids):
                value = score if score is not None else (-float(rank) if rank is not None else None)
                if value is None:
                    raise ScorerError("the ranker gave neither scores nor ranks")
                scores[int(d)] = float(value)
        if any(s is None for s in scores):
            raise ScorerError("the ranker did not return every document it was given")
        return scores

    def __repr__(self) -> str:
        return f"RerankersScorer({type(self.ranker).__name__}, kind={self.kind!r})"
