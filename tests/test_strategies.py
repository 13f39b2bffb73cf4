"""Every strategy through rerank() with the SIMULATED Oracle judge: permutations, exact tops under a
consistent judge, batch-size and request-order invariance, depth, any list length, and bad parameters."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise as rw
from conftest import SHARED_DATA, needs_shared
from rankwise.scorers import Oracle
from synthetic import ALL_STRATEGIES, oracle_for, synthetic_requests, true_order

DL19 = SHARED_DATA / "dl19"


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
def test_every_strategy_returns_permutations_and_finds_the_best(strategy):
    reqs, utility = synthetic_requests(6, 60)
    out = rw.rerank(reqs, strategy, oracle_for(strategy, utility), batch_size=16)
    for r, req in zip(out, reqs):
        assert sorted(r.docids) == sorted(c.docid for c in req.candidates)
        assert np.all(np.diff(r.scores) < 0)
        assert r.spend["calls"] > 0 and r.spend["rounds"] >= 1 and r.spend["failed"] == 0
        truth = true_order(utility, r.qid)
        # sparse samples over a random first-stage order are too thin to
        # promise the top (see the DL19 test below for their real use)
        if not isinstance(strategy, rw.SparsePairwise):
            assert r.docids[0] in truth[:5], (strategy, r.docids[:5], truth[:5])


@pytest.mark.parametrize(
    "strategy",
    [
        rw.Tournament(),
        rw.Tournament(group_size=4, advance=1),
        rw.Setwise(),
        rw.Setwise(method="bubblesort"),
        rw.AllPairs(),
        rw.Pointwise(),
        rw.SparsePairwise(sampler="all", aggregator="kwiksort"),
    ],
    ids=repr,
)
def test_sorting_strategies_are_exact_at_the_top_under_a_consistent_judge(strategy):
    reqs, utility = synthetic_requests(4, 45, seed=2)
    for r in rw.rerank(reqs, strategy, oracle_for(strategy, utility)):
        assert r.docids[:10] == true_order(utility, r.qid)[:10]


def test_sliding_window_brings_the_top_step_to_the_top():
    reqs, utility = synthetic_requests(5, 95, seed=3)
    out = rw.rerank(reqs, rw.SlidingWindow(20, 10), oracle_for(rw.SlidingWindow(), utility))
    for r in out:
        assert r.docids[:10] == true_order(utility, r.qid)[:10]
        # 95 - 20 is not a multiple of 10: windows (75, 95), ..., (5, 25), then (0, 15)
        assert r.spend["calls"] == 9


@pytest.mark.parametrize("strategy", ALL_STRATEGIES, ids=repr)
def test_results_do_not_depend_on_batch_size_or_request_order(strategy):
    reqs, utility = synthetic_requests(5, 30, seed=4)
    oracle = oracle_for(
        strategy,
        utility,
        temperature=2.0,
        position_bias=1.0,
        drop=0.3 if strategy.call_kind == "listwise" else 0.0,
        seed=9,
    )
    ref = {r.qid: r.docids for r in rw.rerank(reqs, strategy, oracle, batch_size=1)}
    shuffled = list(reqs)
    random.Random(1).shuffle(shuffled)
    for bs in (7, 64):
        out = rw.rerank(shuffled, strategy, oracle, batch_size=bs)
        assert {r.qid: r.docids for r in out} == ref


def test_depth_keeps_the_tail_in_first_stage_order():
    reqs, utility = synthetic_requests(3, 50, seed=5)
    out = rw.rerank(reqs, rw.JointRank(depth=20), oracle_for(rw.JointRank(), utility))
    for r, req in zip(out, reqs):
        ids = [c.docid for c in req.candidates]
        assert sorted(r.docids[:20]) == sorted(ids[:20])
        assert r.docids[20:] == ids[20:]
        assert r.spend["docs_shown"] == 4 * 20  # n <= block_size: `replicas` copies of the 20


@settings(max_examples=60)
@given(
    st.integers(1, 45),
    st.integers(0, len(ALL_STRATEGIES) - 1),
    st.integers(0, 2**16),
    st.floats(0, 3),
)
def test_any_list_length_gives_a_permutation(n, which, seed, temperature):
    strategy = ALL_STRATEGIES[which]
    reqs, utility = synthetic_requests(2, n, seed=seed)
    out = rw.rerank(reqs, strategy, oracle_for(strategy, utility, temperature=temperature, seed=seed), batch_size=5)
    for r, req in zip(out, reqs):
        assert sorted(r.docids) == sorted(c.docid for c in req.candidates)
        if n == 1:
            assert r.spend["calls"] == 0


@settings(max_examples=25)
@given(st.integers(2, 30), st.integers(0, 2**16))
def test_pointwise_and_all_pairs_match_a_plain_sort(n, seed):
    reqs, utility = synthetic_requests(1, n, seed=seed)
    for strategy in (rw.Pointwise(), rw.AllPairs()):
        r = rw.rerank(reqs, strategy, oracle_for(strategy, utility))[0]
        assert r.docids == true_order(utility, r.qid)


def test_single_candidate_and_blocks_larger_than_the_list():
    reqs, utility = synthetic_requests(2, 1)
    for strategy in ALL_STRATEGIES:
        out = rw.rerank(reqs, strategy, oracle_for(strategy, utility))
        assert [r.docids for r in out] == [[f"q{i}d0"] for i in range(2)]
        assert all(r.spend["calls"] == 0 for r in out)
    reqs, utility = synthetic_requests(2, 7)
    out = rw.rerank(reqs, rw.JointRank(block_size=50, replicas=2), Oracle(utility))
    assert all(r.spend["calls"] == 2 and r.docids == true_order(utility, r.qid) for r in out)


@pytest.mark.slow  # 15 x ~1.5 s: the 43 DL19 queries with hundreds of pairs each
@needs_shared
@pytest.mark.parametrize("aggregator", ["additive", "bradley_terry", "pagerank", "greedy", "kwiksort"])
@pytest.mark.parametrize("sampler", ["skip", "window", "random"])
def test_sparse_pairwise_improves_on_bm25_with_a_simulated_judge(sampler, aggregator):
    reqs = rw.load_requests(DL19 / "bm25_top100.json")
    qrels = rw.read_qrels(DL19 / "qrels.txt")
    judge = Oracle(qrels, kind="pairwise", temperature=0.5, seed=3)  # SIMULATED
    out = rw.rerank(reqs, rw.SparsePairwise(sampler=sampler, aggregator=aggregator), judge, batch_size=256)
    # kwiksort uses observed pairs only (unseen ones keep the BM25 order): it needs dense samples
    gain = 0.0 if aggregator == "kwiksort" else 0.1
    assert rw.evaluate(out, qrels, ["ndcg@10"])["ndcg@10"] > 0.5058 + gain


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(step=0), "step"),
        (dict(step=21), "step"),
        (dict(window=1), "window"),
        (dict(passes=0), "passes"),
    ],
)
def test_sliding_window_rejects_bad_steps(kwargs, match):
    with pytest.raises(rw.InvalidInputError, match=match):
        rw.SlidingWindow(**kwargs)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rw.Tournament(group_size=20, advance=11), "advance"),
        (lambda: rw.Tournament(top_k=0), "top_k"),
        (lambda: rw.JointRank(aggregator="mean"), "aggregator"),
        (lambda: rw.JointRank(design="square"), "design"),
        (lambda: rw.JointRank(block_size=1), "block_size"),
        (lambda: rw.JointRank(seed=-1), "seed"),
        (lambda: rw.SparsePairwise(sampler="smart"), "sampler"),
        (lambda: rw.SparsePairwise(budget=0), "budget"),
        (lambda: rw.SparsePairwise(skip=0), "skip"),
        (lambda: rw.AllPairs(aggregator="borda"), "aggregator"),
        (lambda: rw.Setwise(method="quick"), "method"),
        (lambda: rw.Setwise(set_size=1), "set_size"),
        (lambda: rw.SlidingWindow(depth=0), "depth"),
        (lambda: rw.SlidingWindow(window=2.5), "window"),
    ],
)
def test_strategies_reject_bad_parameters(make, match):
    with pytest.raises(rw.InvalidInputError, match=match):
        make()
