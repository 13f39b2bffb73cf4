"""rw.Reranker: one query at a time with rerankers-shaped results, many
queries batched together, async, and a real rerankers BaseRanker."""

from __future__ import annotations

import asyncio
import inspect

import pytest

import rankwise as rw
from rankwise.reranker import Document, RankedResults, Result, as_rerankers_ranker
from rankwise.scorers import Oracle, RerankersScorer, as_scorer

rerankers = pytest.importorskip("rerankers")
from rerankers.documents import Document as RDocument  # noqa: E402
from rerankers.models.ranker import BaseRanker  # noqa: E402
from rerankers.results import RankedResults as RRankedResults  # noqa: E402
from rerankers.results import Result as RResult  # noqa: E402

TEXTS = [f"passage number {i}" for i in range(10)]
# the judge's utility of each text, by the ids the texts get (0..9 by default)
UTILITY = {str(i): float((3 * i) % 10) for i in range(10)}


def judge(kind="listwise", qids=("q",), **noise):
    return Oracle({q: UTILITY for q in qids}, kind=kind, **noise)


def best_first():
    return sorted(range(10), key=lambda i: -UTILITY[str(i)])


def test_rank_returns_rerankers_shaped_results_in_the_judges_order():
    rr = rw.Reranker(rw.SlidingWindow(window=10, step=5), judge())
    out = rr.rank("a query", TEXTS)
    assert isinstance(out, RankedResults) and out.query == "a query" and out.has_scores is False
    assert [r.document.doc_id for r in out.results] == best_first()  # int ids stay ints, as in rerankers
    assert [r.rank for r in out] == list(range(1, 11))
    assert [r.text for r in out] == [TEXTS[i] for i in best_first()]  # read through to the document
    assert [r.doc_id for r in out.top_k(3)] == best_first()[:3]
    assert out[0] is out.results[0] and out.results_count() == len(out) == 10
    assert out.get_result_by_docid(best_first()[0]) is out[0] and out.get_result_by_docid("nope") is None
    assert out.get_score_by_docid(best_first()[-1]) == out[-1].score
    assert out.ranking is not None and out.ranking.spend["calls"] > 0
    # the same as rerank() on the same request
    (ranking,) = rw.rerank(
        [rw.Request("q", "a query", [rw.Candidate(str(i), t) for i, t in enumerate(TEXTS)])],
        rw.SlidingWindow(window=10, step=5),
        judge(),
    )
    assert [str(r.doc_id) for r in out] == ranking.docids


def test_our_result_classes_offer_what_rerankers_classes_offer():
    for ours, theirs in [(RankedResults, RRankedResults), (Result, RResult), (Document, RDocument)]:
        public = {n for n, _ in inspect.getmembers(theirs, callable) if not n.startswith("_")}
        assert public <= {n for n, _ in inspect.getmembers(ours, callable)}, (ours, theirs)
        theirs_args = list(inspect.signature(theirs.__init__).parameters)
        assert list(inspect.signature(ours.__init__).parameters)[: len(theirs_args)] == theirs_args
    # and they behave the same on the same content, ties and all
    docs = [RDocument(f"t{i}", doc_id=f"d{i}", metadata={"src": i}) for i in range(4)]
    theirs_r = RRankedResults([RResult(d, score=float(4 - i), rank=i + 1) for i, d in enumerate(docs)], "q")
    ours_r = RankedResults([Result(d, score=float(4 - i), rank=i + 1) for i, d in enumerate(docs)], "q")
    for k in (0, 2, 9):
        assert [r.doc_id for r in ours_r.top_k(k)] == [r.doc_id for r in theirs_r.top_k(k)]
    assert ours_r[1].src == theirs_r[1].src == 1  # metadata keys read through
    assert ours_r.get_score_by_docid("d2") == theirs_r.get_score_by_docid("d2")
    with pytest.raises(AttributeError):
        _ = ours_r[0].nothing_here


def test_rerankers_documents_keep_their_ids_and_metadata():
    docs = [RDocument(t, doc_id=f"doc-{i}", metadata={"n": i}) for i, t in enumerate(TEXTS)]
    utility = {f"doc-{i}": UTILITY[str(i)] for i in range(10)}
    out = rw.Reranker(rw.Pointwise(), Oracle({"q": utility}, kind="pointwise")).rank("query", docs)
    assert [r.doc_id for r in out] == [f"doc-{i}" for i in best_first()]
    assert all(r.document is docs[r.metadata["n"]] for r in out)  # the caller's objects, metadata and all
    # (doc_id, text) pairs, Candidates and explicit doc_ids
    pairs = rw.Reranker(rw.Pointwise(), Oracle({"q": utility}, kind="pointwise")).rank(
        "query", [(f"doc-{i}", t) for i, t in enumerate(TEXTS)]
    )
    assert [r.doc_id for r in pairs] == [f"doc-{i}" for i in best_first()]
    ids = rw.Reranker(rw.Pointwise(), Oracle({"q": utility}, kind="pointwise")).rank(
        "query", TEXTS, doc_ids=[f"doc-{i}" for i in range(10)]
    )
    assert [r.doc_id for r in ids] == [r.doc_id for r in pairs]


def test_rank_many_batches_across_queries_and_matches_rank():
    batches = []
    oracle = judge(qids=("0", "1", "2", "3"), temperature=1.0, seed=5)

    def scorer(calls):
        batches.append({c.qid for c in calls})
        return oracle(calls)

    rr = rw.Reranker(rw.SlidingWindow(window=4, step=2), as_scorer(scorer, "listwise"), batch_size=8)
    many = rr.rank_many([("q zero", TEXTS), {"query": "q one", "docs": TEXTS}, ("q two", TEXTS, None), ("q3", TEXTS)])
    assert max(len(b) for b in batches) > 1  # a batch carried calls of several queries
    one_by_one = [rr.rank(q, TEXTS, qid=str(i)) for i, q in enumerate(["q zero", "q one", "q two", "q3"])]
    assert [[r.doc_id for r in m] for m in many] == [[r.doc_id for r in o] for o in one_by_one]
    assert [m.query for m in many] == ["q zero", "q one", "q two", "q3"]
    assert len({tuple(r.doc_id for r in m) for m in many}) > 1  # the noise differs by query: not one answer
    reqs = [rw.Request(str(i), "x", [rw.Candidate(str(j), t) for j, t in enumerate(TEXTS)]) for i in range(2)]
    assert [[r.doc_id for r in m] for m in rr.rank_many(reqs)] == [[str(r.doc_id) for r in m] for m in many[:2]]


def test_rank_many_takes_rank_llm_requests():
    data = pytest.importorskip("rank_llm.data")
    cands = [data.Candidate(docid=str(i), score=1.0 - i / 10, doc={"text": t}) for i, t in enumerate(TEXTS)]
    req = data.Request(query=data.Query(text="query", qid="q"), candidates=cands)
    (out,) = rw.Reranker(rw.SlidingWindow(window=10, step=5), judge()).rank_many([req])
    assert [r.doc_id for r in out] == [str(i) for i in best_first()] and out.query == "query"
    assert [r.text for r in out] == [TEXTS[i] for i in best_first()]


def test_arank_runs_off_the_event_loop_and_matches_rank():
    rr = rw.Reranker(rw.SlidingWindow(window=4, step=2), judge(qids=("a", "b"), temperature=1.0, seed=1))

    async def main():
        return await asyncio.gather(
            rr.arank("x", TEXTS, qid="a"),
            rr.arank("y", TEXTS, qid="b"),
            rr.arank_many([{"qid": "a", "query": "x", "docs": TEXTS}]),
        )

    a, b, many = asyncio.run(main())
    assert [r.doc_id for r in a] == [r.doc_id for r in rr.rank("x", TEXTS, qid="a")]
    assert [r.doc_id for r in b] == [r.doc_id for r in rr.rank("y", TEXTS, qid="b")]
    assert len(many) == 1 and len(many[0]) == 10


def test_as_rerankers_ranker_is_a_real_base_ranker():
    ranker = as_rerankers_ranker(rw.SlidingWindow(window=10, step=5), judge())
    assert isinstance(ranker, BaseRanker)
    out = ranker.rank("query", TEXTS)
    assert type(out) is RRankedResults and all(type(r) is RResult and type(r.document) is RDocument for r in out)
    assert [r.document.doc_id for r in out.top_k(10)] == best_first()
    again = asyncio.run(ranker.rank_async("query", TEXTS))  # rerankers' own async path
    assert [r.doc_id for r in again] == best_first()
    # rankwise's adapter for rerankers models reads it like any rerankers model
    as_scorer_again = RerankersScorer(ranker, kind="listwise")
    call = rw.scorers.ListwiseCall("q", "query", tuple(rw.Candidate(str(i), t) for i, t in enumerate(TEXTS)))
    assert as_scorer_again([call]) == [best_first()]


def test_score_needs_a_pointwise_scorer():
    pointwise = rw.Reranker(rw.Pointwise(), Oracle({"q": {"0": 2.5}}, kind="pointwise"))
    assert pointwise.score("query", "text") == 2.5
    assert as_rerankers_ranker(rw.Pointwise(), Oracle({"q": {"0": 2.5}}, kind="pointwise")).score("q", "t") == 2.5
    with pytest.raises(rw.InvalidInputError, match="needs a pointwise scorer"):
        rw.Reranker(rw.SlidingWindow(), judge()).score("query", "text")


def test_order_is_what_rank_function_returns():
    rr = rw.Reranker(rw.SlidingWindow(window=10, step=5), judge())
    assert rr.order("query", TEXTS) == best_first()
    assert rw.rank_function(rw.SlidingWindow(window=10, step=5), judge())("query", TEXTS) == rr.order("query", TEXTS)


def test_bad_input_raises_clear_errors():
    rr = rw.Reranker(rw.Pointwise(), Oracle({"q": UTILITY}, kind="pointwise"))
    assert rr.rank("query", []).results == []
    with pytest.raises(rw.InvalidInputError, match="lists document 'x' twice"):
        rr.rank("query", ["a", "b"], doc_ids=["x", "x"])
    with pytest.raises(rw.InvalidInputError, match="doc_ids: 1 ids for 2 documents"):
        rr.rank("query", ["a", "b"], doc_ids=["x"])
    with pytest.raises(rw.InvalidInputError, match="document 1 is a int"):
        rr.rank("query", ["a", 3])
    with pytest.raises(rw.InvalidInputError, match="query: expected a string"):
        rr.rank(None, ["a"])  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="bogus: not an option of rerank"):
        rw.Reranker(rw.Pointwise(), judge("pointwise"), bogus=1)
    with pytest.raises(rw.InvalidInputError, match="strategy: expected a rankwise strategy"):
        rw.Reranker("sliding", judge())  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="scorer: must be callable"):
        rw.Reranker(rw.Pointwise(), 42)
    with pytest.raises(rw.InvalidInputError, match="requests: list: expected"):
        rr.rank_many([["query", ["a"]]])
    with pytest.raises(rw.InvalidInputError, match="query '1' appears twice"):
        rr.rank_many([{"query": "a", "docs": ["x"], "qid": "1"}, ("b", ["y"], None), ("c", ["z"])])


def test_a_failing_scorer_raises_by_default_and_falls_back_when_asked():
    def broken(calls):
        raise ConnectionError("server down")

    with pytest.raises(rw.ScorerError, match="server down"):
        rw.Reranker(rw.Pointwise(), as_scorer(broken, "pointwise")).rank("query", TEXTS)
    with pytest.warns(rw.ScorerWarning):
        out = rw.Reranker(rw.Pointwise(), as_scorer(broken, "pointwise"), on_error="fallback").rank("query", TEXTS)
    assert [r.doc_id for r in out] == list(range(10)) and out.ranking is not None and out.ranking.error
