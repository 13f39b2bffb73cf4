"""The rerank() driver: scorer kinds serving other kinds' calls, answer shapes and their repair, bad requests
and arguments, the failure policy (fallback, retries, raise), streaming with rerank_iter, the progress line."""

from __future__ import annotations

import warnings

import pytest

import rankwise as rw
from conftest import SHARED_DATA
from rankwise.scorers import Oracle, as_scorer
from synthetic import synthetic_requests, true_order

DL19 = SHARED_DATA / "dl19"


def test_pointwise_scorer_serves_listwise_and_pairwise_strategies():
    reqs, utility = synthetic_requests(3, 40, seed=6)
    points = Oracle(utility, kind="pointwise")
    for strategy in (rw.Setwise(), rw.Tournament(), rw.AllPairs(), rw.SlidingWindow(window=40)):
        for r in rw.rerank(reqs, strategy, points):
            assert r.docids[:10] == true_order(utility, r.qid)[:10], strategy
    # a listwise scorer answers pairwise calls with a two-document ranking
    lists = Oracle(utility, kind="listwise")
    for r in rw.rerank(reqs, rw.AllPairs(), lists):
        assert r.docids[:10] == true_order(utility, r.qid)[:10]
    # a set of k documents over a pointwise scorer costs k calls
    r = rw.rerank(reqs[:1], rw.SlidingWindow(window=40), points)[0]
    assert r.spend["calls"] == 40 and r.spend["rounds"] == 1


def test_listwise_answers_as_doc_ids_text_or_parsed():
    reqs, utility = synthetic_requests(2, 12, seed=7)
    oracle = Oracle(utility)

    def as_ids(calls):
        return [[c.docs[p].docid for p in o] for c, o in zip(calls, oracle(calls))]

    def as_text(calls):
        return [" > ".join(f"[{p + 1}]" for p in o) for o in oracle(calls)]

    def as_parsed(calls):
        return [rw.parse_permutation(t, len(c.docs)) for c, t in zip(calls, as_text(calls))]

    ref = [r.docids for r in rw.rerank(reqs, rw.SlidingWindow(5, 2), oracle)]
    for fn in (as_ids, as_text, as_parsed):
        assert [r.docids for r in rw.rerank(reqs, rw.SlidingWindow(5, 2), as_scorer(fn, "listwise"))] == ref


def test_absurd_positions_are_dropped_not_fatal():
    reqs, utility = synthetic_requests(1, 5)

    def huge(calls):
        return [[2**70, -3, 1] for _ in calls]

    r = rw.rerank(reqs, rw.SlidingWindow(window=5), as_scorer(huge, "listwise"), on_error="raise")[0]
    assert r.docids[0] == "q0d1" and r.spend["repaired"] == 1


def test_a_misconfigured_scorer_raises_at_once():
    reqs, utility = synthetic_requests(2, 5)
    calls = {"n": 0}

    def wrong(batch):
        calls["n"] += 1
        raise rw.InvalidInputError("window: too many passages for this scorer")

    with pytest.raises(rw.InvalidInputError, match="too many passages"):
        rw.rerank(reqs, rw.SlidingWindow(window=5), as_scorer(wrong, "listwise"))
    assert calls["n"] == 1  # no retries, no fallback


def test_partial_answers_are_repaired_and_counted():
    reqs, utility = synthetic_requests(2, 40, seed=8)
    out = rw.rerank(reqs, rw.JointRank(), Oracle(utility, drop=0.5, seed=1))
    assert all(r.spend["repaired"] > 0 and r.spend["failed"] == 0 for r in out)


def test_bad_requests_name_the_query():
    strategy = rw.SlidingWindow()
    with pytest.raises(rw.InvalidInputError, match="'e' has no candidates"):
        rw.rerank([rw.Request("e", "q", [])], strategy, Oracle({"e": {}}))
    reqs, utility = synthetic_requests(1, 5)
    with pytest.raises(rw.InvalidInputError, match="'q0' appears twice"):
        rw.rerank(reqs + reqs, strategy, Oracle(utility))
    with pytest.raises(rw.InvalidInputError, match="listed|twice"):
        rw.Request("x", "q", [rw.Candidate("a", ""), rw.Candidate("a", "")])
    with pytest.raises(rw.InvalidInputError, match="query 'q0' .*design"):
        rw.rerank(reqs, rw.JointRank(block_size=2, replicas=3, design="latin"), Oracle(utility))
    with pytest.raises(rw.InvalidInputError, match="requests: str: expected"):  # the shapes as_request takes
        rw.rerank(["not a request"], strategy, Oracle(utility))  # type: ignore[list-item]


def test_kind_mismatch_and_bad_driver_arguments():
    reqs, utility = synthetic_requests(1, 5)
    with pytest.raises(rw.InvalidInputError, match="pointwise calls"):
        rw.rerank(reqs, rw.Pointwise(), Oracle(utility, kind="listwise"))
    with pytest.raises(rw.InvalidInputError, match="batch_size"):
        rw.rerank(reqs, rw.Pointwise(), Oracle(utility, kind="pointwise"), batch_size=0)
    with pytest.raises(rw.InvalidInputError, match="on_error"):
        rw.rerank(reqs, rw.Pointwise(), Oracle(utility, kind="pointwise"), on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="strategy"):
        rw.rerank(reqs, "jointrank", Oracle(utility))  # type: ignore[arg-type]
    with pytest.raises(rw.InvalidInputError, match="callable"):
        rw.rerank(reqs, rw.JointRank(), 42)  # type: ignore[arg-type]


def _flaky(utility, bad_qid, how):
    """A pointwise scorer that misbehaves on one query."""
    good = Oracle(utility, kind="pointwise")
    tries = {"n": 0}

    def scorer(calls):
        tries["n"] += 1
        out = good(calls)
        if any(c.qid == bad_qid for c in calls):
            if how == "raise":
                raise RuntimeError("CUDA out of memory")
            if how == "count":
                return out[:-1]
            if how == "nan":
                return [float("nan") if c.qid == bad_qid else s for c, s in zip(calls, out)]
            if how == "prob":
                return [2.0 if c.qid == bad_qid else s for c, s in zip(calls, out)]
        return out

    return as_scorer(scorer, "pointwise"), tries


@pytest.mark.parametrize("how", ["raise", "count", "nan"])
def test_a_failing_query_falls_back_and_the_others_are_kept(how):
    reqs, utility = synthetic_requests(6, 20, seed=11)
    scorer, _ = _flaky(utility, "q3", how)
    stats = rw.RerankStats()
    with pytest.warns(rw.ScorerWarning, match="q3"):
        out = rw.rerank(reqs, rw.Pointwise(), scorer, batch_size=8, stats=stats)
    assert stats.failed == ["q3"]
    for r, req in zip(out, reqs):
        if r.qid == "q3":
            assert r.docids == [c.docid for c in req.candidates] and r.spend["failed"] == 1 and r.error
        else:
            assert r.docids == true_order(utility, r.qid) and r.spend["failed"] == 0 and r.error is None
    with pytest.raises(rw.ScorerError, match="q3"):
        rw.rerank(reqs, rw.Pointwise(), scorer, batch_size=8, on_error="raise")


def test_transient_failures_are_retried():
    reqs, utility = synthetic_requests(3, 10, seed=12)
    good = Oracle(utility, kind="pairwise")
    state = {"calls": 0}

    def flaky(calls):
        state["calls"] += 1
        if state["calls"] % 2 == 1:
            raise TimeoutError("server busy")
        return good(calls)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = rw.rerank(reqs, rw.AllPairs(), as_scorer(flaky, "pairwise"), batch_size=50, retries=1)
    assert all(r.spend["failed"] == 0 and r.docids == true_order(utility, r.qid) for r in out)


def test_pairwise_probability_out_of_range_fails_that_query():
    reqs, utility = synthetic_requests(3, 6, seed=13)
    good = Oracle(utility, kind="pairwise")

    def bad(calls):
        return [2.0 if c.qid == "q1" else p for c, p in zip(calls, good(calls))]

    with pytest.warns(rw.ScorerWarning):
        out = rw.rerank(reqs, rw.AllPairs(), as_scorer(bad, "pairwise"))
    assert [r.spend["failed"] for r in out] == [0, 1, 0]
    assert "[0, 1]" in out[1].error


def test_rerank_iter_streams_finished_queries():
    reqs, utility = synthetic_requests(10, 30, seed=14)
    gen = rw.rerank_iter(iter(reqs), rw.SlidingWindow(10, 5), Oracle(utility), batch_size=2)
    first = next(gen)
    assert first.qid in {r.qid for r in reqs}
    rest = list(gen)
    assert sorted([first.qid] + [r.qid for r in rest]) == sorted(r.qid for r in reqs)


def test_progress_line(capsys):
    reqs, utility = synthetic_requests(3, 10)
    rw.rerank(reqs, rw.JointRank(), Oracle(utility), progress=True)
    err = capsys.readouterr().err
    assert "3/3 queries" in err and "calls" in err
