"""Behaviour of the aggregators: agreement with the numpy references in
``reference.py``, invariances, determinism across threads, and sanity on
synthetic data."""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise
import reference as ref

# ---------------------------------------------------------------------------
# strategies and helpers
# ---------------------------------------------------------------------------

_weight = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.0]),
    st.floats(0.0, 3.0, allow_nan=False, allow_infinity=False, allow_subnormal=False),
)


@st.composite
def comparison_sets(draw, min_items=2, max_items=12, max_comparisons=60):
    """``(n, winners, losers, weights)`` with winner != loser everywhere and
    ``weights`` either None or floats in [0, 3] (zeros and fractions included)."""
    n = draw(st.integers(min_items, max_items))
    m = draw(st.integers(1, max_comparisons))
    winners = draw(st.lists(st.integers(0, n - 1), min_size=m, max_size=m))
    offsets = draw(st.lists(st.integers(1, n - 1), min_size=m, max_size=m))
    losers = [(a + o) % n for a, o in zip(winners, offsets)]
    weights = draw(st.one_of(st.none(), st.lists(_weight, min_size=m, max_size=m)))
    return n, np.array(winners, dtype=np.int64), np.array(losers, dtype=np.int64), weights


@st.composite
def ranking_sets(draw, min_items=2, max_items=12, max_rankings=20, max_len=6):
    """``(n, rankings, weights)``: rankings of distinct ids, lengths 1..max_len."""
    n = draw(st.integers(min_items, max_items))
    k = draw(st.integers(1, max_rankings))
    rankings = []
    for _ in range(k):
        perm = draw(st.permutations(range(n)))
        length = draw(st.integers(1, min(n, max_len)))
        rankings.append(np.array(perm[:length], dtype=np.int64))
    weights = draw(st.one_of(st.none(), st.lists(_weight, min_size=k, max_size=k)))
    return n, rankings, weights


def assert_valid_result(res, n):
    """Scores are float64 of length n; ranking is a permutation of range(n),
    best first, ties by lower id, exactly as the scores imply."""
    assert isinstance(res, rankwise.AggregationResult)
    assert res.scores.dtype == np.float64 and res.scores.shape == (n,)
    assert res.ranking.dtype == np.int64 and res.ranking.shape == (n,)
    assert np.array_equal(np.sort(res.ranking), np.arange(n))
    assert np.array_equal(res.ranking, ref.ranking(res.scores)), (res.scores, res.ranking)


def random_bt_data(rng, n, m, spread=1.0):
    """Comparisons sampled from Bradley-Terry with normal log-strengths."""
    theta = rng.normal(scale=spread, size=n)
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    p_a = 1.0 / (1.0 + np.exp(theta[b] - theta[a]))
    a_wins = rng.random(m) < p_a
    winners = np.where(a_wins, a, b)
    losers = np.where(a_wins, b, a)
    return theta, winners, losers


def connected_pairs(rng, n, extra):
    """A directed cycle through every item (so the beat graph is strongly
    connected) plus ``extra`` random comparisons."""
    w = list(range(n))
    l = [(i + 1) % n for i in range(n)]
    a = rng.integers(0, n, extra)
    b = (a + rng.integers(1, n, extra)) % n
    return np.array(w + list(a), dtype=np.int64), np.array(l + list(b), dtype=np.int64)


ATOL = 1e-7

# ---------------------------------------------------------------------------
# agreement with the references
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["newman", "zermelo"])
@pytest.mark.parametrize("prior", [0.5, 1.0, 2.0])
@settings(max_examples=40, deadline=None)
@given(data=comparison_sets())
def test_bradley_terry_matches_reference(method, prior, data):
    n, w, l, wt = data
    res = rankwise.bradley_terry(w, l, n, wt, method=method, prior=prior, tol=1e-12)
    expected = ref.bradley_terry(w, l, n, wt, prior=prior)
    assert res.converged is True
    assert res.method == f"bradley_terry/{method}"
    np.testing.assert_allclose(res.scores, expected, rtol=0, atol=ATOL)
    assert_valid_result(res, n)


@pytest.mark.parametrize("method", ["newman", "zermelo"])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_bradley_terry_prior_zero_matches_reference(method, data):
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = data.draw(st.integers(2, 10))
    w, l = connected_pairs(rng, n, data.draw(st.integers(0, 40)))
    wt = rng.uniform(0.1, 3.0, w.size) if data.draw(st.booleans()) else None
    res = rankwise.bradley_terry(w, l, n, wt, method=method, prior=0.0, tol=1e-12)
    expected = ref.bradley_terry(w, l, n, wt, prior=0.0)
    np.testing.assert_allclose(res.scores, expected, rtol=0, atol=ATOL)
    # maximum likelihood fixes strengths up to a factor: geometric mean 1
    assert abs(res.scores.mean()) < 1e-9


@pytest.mark.parametrize("method", ["newman", "mm"])
@pytest.mark.parametrize("prior", [0.5, 1.0, 2.0])
@settings(max_examples=20, deadline=None)
@given(data=ranking_sets())
def test_plackett_luce_matches_reference(method, prior, data):
    n, rankings, wt = data
    res = rankwise.plackett_luce(rankings, n, wt, method=method, prior=prior, tol=1e-12)
    expected = ref.plackett_luce(rankings, n, wt, prior=prior)
    assert res.converged is True
    assert res.method == f"plackett_luce/{method}"
    np.testing.assert_allclose(res.scores, expected, rtol=0, atol=ATOL)
    assert_valid_result(res, n)


@pytest.mark.parametrize("method", ["newman", "mm"])
def test_plackett_luce_prior_zero_matches_reference(method):
    rng = np.random.default_rng(7)
    n = 8
    # a cycle of adjacent pairs makes "ranked above" strongly connected
    rankings = [np.array([i, (i + 1) % n, (i + 3) % n]) for i in range(n)]
    rankings += [rng.permutation(n)[: rng.integers(2, 6)] for _ in range(15)]
    wt = rng.uniform(0.2, 2.0, len(rankings))
    res = rankwise.plackett_luce(rankings, n, wt, method=method, prior=0.0, tol=1e-12)
    expected = ref.plackett_luce(rankings, n, wt, prior=0.0)
    np.testing.assert_allclose(res.scores, expected, rtol=0, atol=ATOL)
    assert abs(res.scores.mean()) < 1e-9


@settings(max_examples=60, deadline=None)
@given(data=comparison_sets(), damping=st.sampled_from([0.0, 0.5, 0.85, 0.95]))
def test_pagerank_matches_reference(data, damping):
    n, w, l, wt = data
    res = rankwise.pagerank(w, l, n, wt, damping=damping, tol=1e-13)
    expected = ref.pagerank(w, l, n, wt, damping=damping)
    assert res.converged is True
    np.testing.assert_allclose(res.scores, expected, rtol=0, atol=ATOL)
    assert abs(res.scores.sum() - 1.0) < 1e-12
    assert np.all(res.scores > 0)
    assert_valid_result(res, n)


@settings(max_examples=80, deadline=None)
@given(data=comparison_sets())
def test_win_rate_matches_reference(data):
    n, w, l, wt = data
    res = rankwise.win_rate(w, l, n, wt)
    np.testing.assert_allclose(res.scores, ref.win_rate(w, l, n, wt), rtol=0, atol=1e-12)
    assert res.iterations is None and res.converged is None
    assert_valid_result(res, n)


@settings(max_examples=80, deadline=None)
@given(data=comparison_sets())
def test_copeland_matches_reference(data):
    n, w, l, wt = data
    res = rankwise.copeland(w, l, n, wt)
    assert np.array_equal(res.scores, ref.copeland(w, l, n, wt))
    assert_valid_result(res, n)


@settings(max_examples=80, deadline=None)
@given(data=ranking_sets())
def test_borda_matches_reference(data):
    n, rankings, wt = data
    res = rankwise.borda(rankings, n, wt)
    np.testing.assert_allclose(res.scores, ref.borda(rankings, n, wt), rtol=1e-14, atol=1e-12)
    assert_valid_result(res, n)


@settings(max_examples=60, deadline=None)
@given(
    data=comparison_sets(),
    k=st.sampled_from([4.0, 32.0, 0.0]),
    base=st.sampled_from([10.0, np.e]),
    scale=st.sampled_from([400.0, 1.0]),
    initial=st.sampled_from([1000.0, 0.0, -50.0]),
)
def test_elo_matches_reference(data, k, base, scale, initial):
    n, w, l, wt = data
    res = rankwise.elo(w, l, n, wt, k=k, base=base, scale=scale, initial=initial)
    expected = ref.elo(w, l, n, wt, k=k, base=base, scale=scale, initial=initial)
    np.testing.assert_allclose(res.scores, expected, rtol=1e-12, atol=1e-9)
    # Elo is zero-sum
    assert abs(res.scores.sum() - n * initial) < 1e-8 * max(1.0, abs(n * initial))
    assert_valid_result(res, n)


def test_elo_defaults_and_order_dependence():
    r = rankwise.elo([0], [1], k=32)
    assert list(r.scores) == [1016.0, 984.0]
    r = rankwise.elo([0], [1])  # evalica default k=4
    assert list(r.scores) == [1002.0, 998.0]
    a = rankwise.elo([0, 1, 2], [1, 2, 0], k=32).scores
    b = rankwise.elo([2, 1, 0], [0, 2, 1], k=32).scores
    assert not np.array_equal(a, b)


# ---------------------------------------------------------------------------
# invariance under relabelling
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(data=comparison_sets(), perm_seed=st.integers(0, 2**32 - 1))
def test_relabelling_permutes_comparison_scores(data, perm_seed):
    n, w, l, wt = data
    perm = np.random.default_rng(perm_seed).permutation(n)
    pw, pl = perm[w], perm[l]
    cases = [
        (lambda a, b: rankwise.bradley_terry(a, b, n, wt, tol=1e-12), ATOL),
        (lambda a, b: rankwise.bradley_terry(a, b, n, wt, method="zermelo", tol=1e-12), ATOL),
        (lambda a, b: rankwise.pagerank(a, b, n, wt, tol=1e-13), 1e-10),
        (lambda a, b: rankwise.win_rate(a, b, n, wt), 1e-12),
        (lambda a, b: rankwise.copeland(a, b, n, wt), 0.0),
    ]
    for f, atol in cases:
        before = f(w, l).scores
        after = f(pw, pl).scores
        # item i is now called perm[i]
        np.testing.assert_allclose(after[perm], before, rtol=0, atol=atol)


@settings(max_examples=30, deadline=None)
@given(data=ranking_sets(), perm_seed=st.integers(0, 2**32 - 1))
def test_relabelling_permutes_ranking_scores(data, perm_seed):
    n, rankings, wt = data
    perm = np.random.default_rng(perm_seed).permutation(n)
    relabelled = [perm[r] for r in rankings]
    for method in ["newman", "mm"]:
        before = rankwise.plackett_luce(rankings, n, wt, method=method, tol=1e-12).scores
        after = rankwise.plackett_luce(relabelled, n, wt, method=method, tol=1e-12).scores
        np.testing.assert_allclose(after[perm], before, rtol=0, atol=ATOL)
    before = rankwise.borda(rankings, n, wt).scores
    after = rankwise.borda(relabelled, n, wt).scores
    np.testing.assert_allclose(after[perm], before, rtol=1e-14, atol=0)


# ---------------------------------------------------------------------------
# Newman vs Zermelo, PL vs BT
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(data=comparison_sets(), prior=st.sampled_from([0.5, 1.0, 2.0]))
def test_newman_and_zermelo_agree(data, prior):
    n, w, l, wt = data
    a = rankwise.bradley_terry(w, l, n, wt, method="newman", prior=prior, tol=1e-12)
    b = rankwise.bradley_terry(w, l, n, wt, method="zermelo", prior=prior, tol=1e-12)
    np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=ATOL)


@pytest.mark.parametrize("prior", [0.0, 1.0])
def test_newman_needs_fewer_sweeps_than_zermelo(prior):
    rng = np.random.default_rng(2024)
    n = 200
    _, w, l = random_bt_data(rng, n, 4000)
    # a cycle keeps the prior=0 estimate finite
    w = np.concatenate([w, np.arange(n)])
    l = np.concatenate([l, (np.arange(n) + 1) % n])
    a = rankwise.bradley_terry(w, l, n, method="newman", prior=prior, tol=1e-10)
    b = rankwise.bradley_terry(w, l, n, method="zermelo", prior=prior, tol=1e-10)
    assert a.converged and b.converged
    assert a.iterations < b.iterations, (a.iterations, b.iterations)
    np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=1e-7)


@pytest.mark.parametrize("prior", [0.0, 1.0])
@pytest.mark.parametrize("pl_method,bt_method", [("newman", "newman"), ("mm", "zermelo")])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_plackett_luce_on_pairs_equals_bradley_terry(prior, pl_method, bt_method, seed):
    rng = np.random.default_rng(seed)
    n = 9
    w, l = connected_pairs(rng, n, 30)
    wt = rng.uniform(0.1, 3.0, w.size)
    wt[rng.random(w.size) < 0.2] = 1.0
    pairs = np.stack([w, l], axis=1)
    pl = rankwise.plackett_luce(pairs, n, wt, method=pl_method, prior=prior, tol=1e-12)
    bt = rankwise.bradley_terry(w, l, n, wt, method=bt_method, prior=prior, tol=1e-12)
    np.testing.assert_allclose(pl.scores, bt.scores, rtol=0, atol=ATOL)
    # and both agree with the cross-method result
    other = rankwise.bradley_terry(
        w, l, n, wt, method="zermelo" if bt_method == "newman" else "newman", prior=prior, tol=1e-12
    )
    np.testing.assert_allclose(pl.scores, other.scores, rtol=0, atol=ATOL)


@pytest.mark.parametrize("prior", [0.0, 0.5, 1.0])
def test_plackett_luce_newman_and_mm_agree(prior):
    rankings = [[0, 1, 2, 3], [3, 1, 0], [1, 0, 4, 2, 3], [2, 4], [3], [4, 3, 2, 1, 0]]
    a = rankwise.plackett_luce(rankings, method="newman", prior=prior, tol=1e-12)
    b = rankwise.plackett_luce(rankings, method="mm", prior=prior, tol=1e-12)
    assert a.converged and b.converged
    np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=ATOL)


# ---------------------------------------------------------------------------
# priors, uncompared items, estimation errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["newman", "zermelo"])
def test_uncompared_item_scores_zero_under_prior(method):
    res = rankwise.bradley_terry([0, 0, 1], [1, 1, 0], n_items=4, method=method, tol=1e-12)
    assert res.scores[2] == 0.0 and res.scores[3] == 0.0
    # prior pins the scale: two items symmetric around the dummy's strength 1
    assert abs(res.scores[0] + res.scores[1]) < 1e-9
    assert res.scores[0] > 0 > res.scores[1]
    assert list(res.ranking) == [0, 2, 3, 1]


def test_two_items_closed_form_without_prior():
    for method in ["newman", "zermelo"]:
        res = rankwise.bradley_terry([0, 0, 0, 1], [1, 1, 1, 0], prior=0, method=method, tol=1e-13)
        assert abs(res.scores[0] - res.scores[1] - np.log(3.0)) < 1e-9


def _assert_estimation_error(excinfo):
    e = excinfo.value
    assert isinstance(e, rankwise.EstimationError)
    assert isinstance(e, ValueError)
    assert isinstance(e, rankwise.RankwiseError)
    assert not isinstance(e, rankwise.InvalidInputError)
    assert "prior" in str(e), str(e)


@pytest.mark.parametrize("method", ["newman", "zermelo"])
@pytest.mark.parametrize(
    "winners,losers",
    [
        ([0], [1]),  # 0 never loses, 1 never wins
        ([0, 1, 2], [1, 0, 0]),  # 2 never loses
        ([0, 1, 2, 3, 0], [1, 0, 3, 2, 2]),  # two cycles joined one way only
    ],
)
def test_bradley_terry_prior_zero_without_estimate_raises(method, winners, losers):
    with pytest.raises(rankwise.EstimationError) as excinfo:
        rankwise.bradley_terry(winners, losers, prior=0.0, method=method)
    _assert_estimation_error(excinfo)
    # the default prior makes it estimable
    res = rankwise.bradley_terry(winners, losers, method=method)
    assert np.all(np.isfinite(res.scores))


def test_bradley_terry_prior_zero_zero_weights_do_not_count():
    # the only loss of item 0 has weight 0
    with pytest.raises(rankwise.EstimationError) as excinfo:
        rankwise.bradley_terry([0, 1, 1], [1, 0, 0], weights=[1.0, 0.0, 0.0], prior=0)
    _assert_estimation_error(excinfo)


@pytest.mark.parametrize("method", ["newman", "mm"])
@pytest.mark.parametrize(
    "rankings",
    [
        [[0, 1, 2], [1, 2]],  # 0 never ranked below anything
        [[0, 1], [1, 0], [2, 3], [3, 2], [0, 2]],  # two blocks joined one way
        [[0], [1]],  # no choices at all
    ],
)
def test_plackett_luce_prior_zero_without_estimate_raises(method, rankings):
    with pytest.raises(rankwise.EstimationError) as excinfo:
        rankwise.plackett_luce(rankings, prior=0.0, method=method)
    _assert_estimation_error(excinfo)
    res = rankwise.plackett_luce(rankings, method=method)
    assert np.all(np.isfinite(res.scores))


# ---------------------------------------------------------------------------
# rankings, pagerank normalisation
# ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(data=comparison_sets())
def test_every_aggregator_returns_a_consistent_ranking(data):
    n, w, l, wt = data
    for res in [
        rankwise.bradley_terry(w, l, n, wt),
        rankwise.bradley_terry(w, l, n, wt, method="zermelo"),
        rankwise.pagerank(w, l, n, wt),
        rankwise.win_rate(w, l, n, wt),
        rankwise.copeland(w, l, n, wt),
        rankwise.elo(w, l, n, wt),
    ]:
        assert_valid_result(res, n)


@settings(max_examples=40, deadline=None)
@given(data=ranking_sets())
def test_every_ranking_aggregator_returns_a_consistent_ranking(data):
    n, rankings, wt = data
    for res in [
        rankwise.plackett_luce(rankings, n, wt),
        rankwise.plackett_luce(rankings, n, wt, method="mm"),
        rankwise.borda(rankings, n, wt),
    ]:
        assert_valid_result(res, n)


def test_ties_are_broken_by_lower_id():
    res = rankwise.copeland([3, 1], [0, 2], n_items=5)
    # scores: 0:-1, 1:+1, 2:-1, 3:+1, 4:0
    assert list(res.scores) == [-1.0, 1.0, -1.0, 1.0, 0.0]
    assert list(res.ranking) == [1, 3, 4, 0, 2]
    res = rankwise.win_rate([3, 1], [0, 2], n_items=5)
    assert list(res.scores) == [0.0, 1.0, 0.0, 1.0, -1.0]
    assert list(res.ranking) == [1, 3, 0, 2, 4]


def test_win_rate_averages_over_opponents():
    # 0 beats 1 twice and loses once; 0 beats 2; 3 never compared
    res = rankwise.win_rate([0, 0, 1, 0], [1, 1, 0, 2], n_items=4)
    np.testing.assert_allclose(res.scores, [(2 / 3 + 1) / 2, 1 / 3, 0.0, -1.0], rtol=0, atol=1e-15)


def test_borda_points_with_weights():
    res = rankwise.borda([[2, 0, 1], [0, 3]], n_items=4, weights=[1.0, 2.0])
    assert list(res.scores) == [3.0, 0.0, 2.0, 0.0]
    assert list(res.ranking) == [0, 2, 1, 3]


@settings(max_examples=40, deadline=None)
@given(data=comparison_sets(), damping=st.floats(0.0, 0.99))
def test_pagerank_sums_to_one(data, damping):
    n, w, l, wt = data
    res = rankwise.pagerank(w, l, n, wt, damping=damping)
    assert abs(res.scores.sum() - 1.0) < 1e-12
    assert np.all(res.scores > 0)


def test_pagerank_damping_zero_is_uniform():
    res = rankwise.pagerank([0, 1, 2], [1, 2, 3], damping=0.0)
    np.testing.assert_allclose(res.scores, 0.25, rtol=0, atol=1e-15)


def test_pagerank_chain_order():
    res = rankwise.pagerank([0, 1, 0], [1, 2, 2], tol=1e-14)
    assert res.scores[0] > res.scores[1] > res.scores[2]
    assert list(res.ranking) == [0, 1, 2]


def test_pagerank_tiny_weights_stay_finite():
    # A finite, non-negative weight is valid input (e.g. exp(logprob) of a
    # very unlikely verdict underflows to a subnormal). The scores must stay a
    # probability vector, and a ~0 weight must act like no comparison at all.
    tiny = 5e-324
    res = rankwise.pagerank([0, 1, 2], [1, 2, 0], weights=[tiny, 1.0, 1.0], tol=1e-13)
    assert np.all(np.isfinite(res.scores)), res.scores
    expected = ref.pagerank([0, 1, 2], [1, 2, 0], 3, [tiny, 1.0, 1.0])
    np.testing.assert_allclose(res.scores, expected, rtol=0, atol=1e-9)


# ---------------------------------------------------------------------------
# convergence reporting
# ---------------------------------------------------------------------------


def test_convergence_warning_when_max_iter_too_small():
    w, l = [0, 1, 2, 0], [1, 2, 0, 2]
    with pytest.warns(rankwise.ConvergenceWarning, match="max_iter"):
        res = rankwise.bradley_terry(w, l, method="zermelo", max_iter=2, tol=1e-15)
    assert res.converged is False
    assert res.iterations == 2
    assert np.all(np.isfinite(res.scores))
    assert "converged=False" in repr(res)

    with pytest.warns(rankwise.ConvergenceWarning):
        res = rankwise.plackett_luce([[0, 1, 2], [2, 0], [1, 0]], method="mm", max_iter=2, tol=1e-15)
    assert res.converged is False and res.iterations == 2

    with pytest.warns(rankwise.ConvergenceWarning):
        res = rankwise.pagerank(w, l, max_iter=1, tol=1e-15)
    assert res.converged is False and res.iterations == 1


def test_no_warning_when_converged():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = rankwise.bradley_terry([0, 1, 2, 0], [1, 2, 0, 2])
        assert res.converged is True and 1 <= res.iterations < 10_000
        res = rankwise.plackett_luce([[0, 1, 2], [2, 0]])
        assert res.converged is True
        res = rankwise.pagerank([0, 1, 2, 0], [1, 2, 0, 2])
        assert res.converged is True


def test_convergence_warning_points_at_caller():
    with pytest.warns(rankwise.ConvergenceWarning) as record:
        rankwise.bradley_terry([0, 1, 2, 0], [1, 2, 0, 2], method="zermelo", max_iter=1, tol=1e-15)
    assert record[0].filename == __file__


# ---------------------------------------------------------------------------
# comparisons_from_rankings
# ---------------------------------------------------------------------------


def test_comparisons_from_rankings_example():
    w, l = rankwise.comparisons_from_rankings([[2, 0, 1], [4, 3], [5]])
    assert w.dtype == np.int64 and l.dtype == np.int64
    assert list(w) == [2, 2, 0, 4]
    assert list(l) == [0, 1, 1, 3]


@settings(max_examples=50, deadline=None)
@given(data=ranking_sets())
def test_comparisons_from_rankings_all_ordered_pairs(data):
    _, rankings, _ = data
    w, l = rankwise.comparisons_from_rankings(rankings)
    expected = [(r[a], r[b]) for r in rankings for a in range(r.size) for b in range(a + 1, r.size)]
    assert list(zip(w.tolist(), l.tolist())) == [(int(a), int(b)) for a, b in expected]


# ---------------------------------------------------------------------------
# input types
# ---------------------------------------------------------------------------


def test_id_array_types_give_identical_results():
    rng = np.random.default_rng(3)
    n = 30
    w, l = connected_pairs(rng, n, 200)
    wt = rng.uniform(0.0, 2.0, w.size)
    variants = [
        (w.tolist(), l.tolist()),
        (tuple(w.tolist()), tuple(l.tolist())),
        (w.astype(np.int32), l.astype(np.int32)),
        (w.astype(np.uint16), l.astype(np.uint16)),
        (w.astype(np.int64), l.astype(np.int64)),
        (w.astype(np.uint64), l.astype(np.uint64)),
        (np.repeat(w, 2)[::2], np.repeat(l, 2)[::2]),  # non-contiguous views
    ]
    fns = [
        lambda a, b: rankwise.bradley_terry(a, b, weights=wt),
        lambda a, b: rankwise.bradley_terry(a, b, weights=wt.tolist(), method="zermelo", prior=0),
        lambda a, b: rankwise.pagerank(a, b, weights=wt),
        lambda a, b: rankwise.win_rate(a, b, weights=wt),
        lambda a, b: rankwise.copeland(a, b, weights=wt),
        lambda a, b: rankwise.elo(a, b, weights=wt),
    ]
    for f in fns:
        base = f(w, l)
        for a, b in variants:
            res = f(a, b)
            assert np.array_equal(res.scores, base.scores)
            assert np.array_equal(res.ranking, base.ranking)


def test_weight_types_give_identical_results():
    w, l = [0, 1, 2, 0], [1, 2, 0, 2]
    base = rankwise.bradley_terry(w, l, weights=[1.0, 2.0, 1.0, 3.0]).scores
    for wt in (
        [1, 2, 1, 3],
        (1, 2, 1, 3),
        np.array([1, 2, 1, 3], dtype=np.int32),
        np.array([1, 2, 1, 3], dtype=np.float32),
    ):
        assert np.array_equal(rankwise.bradley_terry(w, l, weights=wt).scores, base)
    # unit weights are the default
    assert np.array_equal(
        rankwise.bradley_terry(w, l, weights=[1, 1, 1, 1]).scores, rankwise.bradley_terry(w, l).scores
    )


def test_ranking_input_types_give_identical_results():
    rows = np.array([[2, 0, 1], [1, 2, 0], [0, 1, 2], [2, 1, 0]])
    wt = [1.0, 0.5, 2.0, 1.0]
    variants = [
        rows,
        rows.astype(np.int32),
        rows.astype(np.uint16),
        np.asfortranarray(rows),
        rows.tolist(),
        [tuple(r) for r in rows.tolist()],
        tuple(rows.tolist()),
        [r.astype(np.int32) for r in rows],
        list(rows),
    ]
    fns = [
        lambda r: rankwise.plackett_luce(r, weights=wt),
        lambda r: rankwise.plackett_luce(r, weights=wt, method="mm"),
        lambda r: rankwise.borda(r, weights=wt),
    ]
    for f in fns:
        base = f(rows)
        for r in variants:
            res = f(r)
            assert np.array_equal(res.scores, base.scores)
            assert np.array_equal(res.ranking, base.ranking)
    w, l = rankwise.comparisons_from_rankings(rows)
    for r in variants:
        w2, l2 = rankwise.comparisons_from_rankings(r)
        assert np.array_equal(w, w2) and np.array_equal(l, l2)


def test_rankings_of_different_lengths():
    res = rankwise.plackett_luce([np.array([3, 0, 1]), [1, 2], (0,)], n_items=5)
    assert res.scores.shape == (5,)
    assert res.scores[4] == 0.0  # never ranked: the dummy's strength
    assert_valid_result(res, 5)


def test_n_items_accepts_numpy_integers():
    a = rankwise.bradley_terry([0, 1], [1, 0], n_items=np.int64(4))
    b = rankwise.bradley_terry([0, 1], [1, 0], n_items=4)
    assert np.array_equal(a.scores, b.scores) and a.scores.size == 4


# ---------------------------------------------------------------------------
# threads and determinism
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def large_instance():
    rng = np.random.default_rng(11)
    n, m = 20_000, 400_000
    _, w, l = random_bt_data(rng, n, m)
    wt = rng.uniform(0.5, 1.5, m)
    return n, w, l, wt


def test_concurrent_calls_from_python_threads_are_identical(large_instance):
    n, w, l, wt = large_instance
    calls = {
        "bt": lambda: rankwise.bradley_terry(w, l, n, wt),
        "pagerank": lambda: rankwise.pagerank(w, l, n, wt),
        "win_rate": lambda: rankwise.win_rate(w, l, n, wt),
    }
    for name, call in calls.items():
        single = call()
        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            results = list(ex.map(lambda _: call(), range(4)))  # noqa: B023 (called at once)
        for res in results:
            assert np.array_equal(res.scores, single.scores), name
            assert np.array_equal(res.ranking, single.ranking), name
            assert res.iterations == single.iterations


def test_concurrent_plackett_luce_calls_are_identical():
    rng = np.random.default_rng(12)
    n = 20_000
    blocks = np.stack([rng.choice(n, 10, replace=False) for _ in range(20_000)])
    single = rankwise.plackett_luce(blocks, n)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
        results = list(ex.map(lambda _: rankwise.plackett_luce(blocks, n), range(4)))
    for res in results:
        assert np.array_equal(res.scores, single.scores)


_THREADS_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import rankwise

    out = sys.argv[1]
    rng = np.random.default_rng(5)
    n, m = 15_000, 300_000
    a = rng.integers(0, n, m)
    b = (a + rng.integers(1, n, m)) % n
    theta = rng.normal(size=n)
    a_wins = rng.random(m) < 1 / (1 + np.exp(theta[b] - theta[a]))
    w, l = np.where(a_wins, a, b), np.where(a_wins, b, a)
    wt = rng.uniform(0.25, 2.0, m)
    blocks = np.stack([rng.choice(n, 8, replace=False) for _ in range(30_000)])
    np.savez(
        out,
        newman=rankwise.bradley_terry(w, l, n, wt).scores,
        zermelo=rankwise.bradley_terry(w, l, n, wt, method="zermelo", max_iter=50, tol=1e-6).scores,
        prior0=rankwise.bradley_terry(
            np.concatenate([w, np.arange(n)]), np.concatenate([l, (np.arange(n) + 1) % n]), n, prior=0
        ).scores,
        pl=rankwise.plackett_luce(blocks, n).scores,
        pagerank=rankwise.pagerank(w, l, n, wt).scores,
        win_rate=rankwise.win_rate(w, l, n, wt).scores,
    )
    """
)


@pytest.mark.slow  # subprocesses at several thread counts
def test_results_do_not_depend_on_thread_count(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_THREADS_SCRIPT)
    outputs = {}
    for threads in ["1", "2"]:
        env = dict(os.environ, RANKWISE_NUM_THREADS=threads)
        out = tmp_path / f"scores_{threads}.npz"
        proc = subprocess.run(
            [sys.executable, str(script), str(out)], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        outputs[threads] = np.load(out)
    for key in outputs["1"].files:
        a, b = outputs["1"][key], outputs["2"][key]
        assert a.dtype == np.float64 and a.shape == b.shape
        # bitwise identical
        assert a.tobytes() == b.tobytes(), key


# ---------------------------------------------------------------------------
# estimation quality on synthetic data
# ---------------------------------------------------------------------------


def test_bradley_terry_recovers_true_strengths():
    rng = np.random.default_rng(42)
    theta, w, l = random_bt_data(rng, 500, 50_000)
    for method in ["newman", "zermelo"]:
        res = rankwise.bradley_terry(w, l, method=method)
        tau = ref.kendall_tau(res.scores, theta)
        assert tau > 0.8, (method, tau)
    # a sanity check of kendall_tau itself
    assert ref.kendall_tau(theta, theta) == pytest.approx(1.0)
    assert ref.kendall_tau(theta, -theta) == pytest.approx(-1.0)


def test_plackett_luce_recovers_true_strengths_from_block_rankings():
    rng = np.random.default_rng(43)
    n, block, k = 500, 10, 5_000
    theta = rng.normal(size=n)
    rankings = []
    for _ in range(k):
        items = rng.choice(n, block, replace=False)
        # Gumbel-max sampling of a Plackett-Luce ranking
        keys = theta[items] + rng.gumbel(size=block)
        rankings.append(items[np.argsort(-keys)])
    rankings = np.array(rankings)
    for method in ["newman", "mm"]:
        res = rankwise.plackett_luce(rankings, n, method=method)
        assert res.converged
        tau = ref.kendall_tau(res.scores, theta)
        assert tau > 0.8, (method, tau)
    # the pairwise view of the same rankings also recovers it, less efficiently
    w, l = rankwise.comparisons_from_rankings(rankings)
    assert ref.kendall_tau(rankwise.borda(rankings, n).scores, theta) > 0.7
    assert ref.kendall_tau(rankwise.win_rate(w, l, n).scores, theta) > 0.6
