"""The rerankers adapter (with the real rerankers result classes) and
strategies as plain functions."""

from __future__ import annotations

import pytest

import rankwise as rw
from rankwise.scorers import Oracle, RerankersScorer

rerankers = pytest.importorskip("rerankers")
from rerankers.documents import Document  # noqa: E402
from rerankers.models.ranker import BaseRanker  # noqa: E402
from rerankers.results import RankedResults, Result  # noqa: E402


class CountRanker(BaseRanker):
    """A rerankers model that scores a passage by how often it names the query's words."""

    def __init__(self, with_scores=True):
        self.with_scores = with_scores
        self.calls = 0

    def score(self, query, doc):
        return float(sum(doc.lower().split().count(w) for w in query.lower().split()))

    def rank(self, query, docs, doc_ids=None):
        self.calls += 1
        docs = [Document(text=t, doc_id=i) for t, i in zip(docs, doc_ids)]
        ranked = sorted(docs, key=lambda d: -self.score(query, d.text))
        results = [
            Result(document=d, score=self.score(query, d.text) if self.with_scores else None, rank=k + 1)
            for k, d in enumerate(ranked)
        ]
        return RankedResults(results=results, query=query, has_scores=self.with_scores)

    def rank_async(self, *a, **k):  # abstract in rerankers
        raise NotImplementedError


def make(n=8):
    docs = [rw.Candidate(f"d{i}", "flea " * (i % 4) + f"text {i}") for i in range(n)]
    return [rw.Request("q1", "flea", docs), rw.Request("q2", "flea text", docs)]


@pytest.mark.parametrize("with_scores", [True, False])
def test_pointwise_adapter_groups_calls_by_query(with_scores):
    ranker = CountRanker(with_scores)
    out = rw.rerank(make(), rw.Pointwise(), RerankersScorer(ranker), batch_size=100, on_error="raise")
    assert out[0].docids[:2] == ["d3", "d7"]
    assert ranker.calls == 2  # one rank() per query in the batch


def test_listwise_adapter_through_a_strategy():
    out = rw.rerank(
        make(), rw.SlidingWindow(window=4, step=2), RerankersScorer(CountRanker(), kind="listwise"), on_error="raise"
    )
    assert out[0].docids[:2] == ["d3", "d7"]


def test_adapter_rejects_non_rankers():
    with pytest.raises(rw.InvalidInputError, match="rank"):
        RerankersScorer(object())


def test_rank_function_is_a_plain_function():
    utility = {"q": {str(i): float(i % 5) for i in range(12)}}
    rank = rw.rank_function(rw.JointRank(block_size=4, replicas=3), Oracle(utility))
    texts = [f"passage {i}" for i in range(12)]
    order = rank("a query", texts)
    assert sorted(order) == list(range(12)) and order[0] in (4, 9)
    pairs = [(str(i), t) for i, t in enumerate(texts)]
    assert rank("a query", pairs) == order
    assert rank("a query", [(i, t) for i, t in enumerate(texts)]) == order  # int ids work too
