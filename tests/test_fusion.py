"""rankwise.fuse against ranx.fuse, and fuse's argument checking.

ranx is compared only where both are well defined alike: no score ties
within a run's query (ranx breaks ties in its own order) and every run
holding every query (ranx takes the query ids from the first run).

Name mapping (from ranx/fusion/__init__.py and ranx/normalization/__init__.py):
rankwise "rrf" = ranx "rrf" (ranx default k=60 as well), "isr" = "isr",
"borda" = "bordafuse", "combsum" = "sum", "combmnz" = "mnz", "wsum" = "wsum"
(params={"weights": [...]}); norms "min-max" = "min-max", "sum" = "sum",
"z-score" = "zmuv", "max" = "max", "rank" = "rank". ranx.fuse normalises
before every method (default "min-max"); for the rank-based methods we pass
norm=None, which leaves each run's order unchanged.
"""

from __future__ import annotations

import warnings
from typing import Dict, List

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise as rw
from rankwise import InvalidInputError

ranx = pytest.importorskip("ranx")

RunDict = Dict[str, Dict[str, float]]


def ranx_fuse(runs: List[RunDict], method: str, norm, params=None) -> RunDict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumbaTypeSafetyWarning from ranx's rrf
        rx = [ranx.Run({q: dict(d) for q, d in r.items()}) for r in runs]
        out = ranx.fuse(rx, norm=norm, method=method, params=params or {})
    return {q: dict(d) for q, d in out.to_dict().items()}


def assert_same_scores(got: rw.Run, expected: RunDict):
    g = got.to_dict()
    assert set(g) == set(expected)
    for q in expected:
        assert set(g[q]) == set(expected[q]), q
        for d, s in expected[q].items():
            assert g[q][d] == pytest.approx(s, rel=1e-9, abs=1e-9), (q, d)


def assert_sorted_by_score(run: rw.Run):
    for r in run.values():
        assert np.all(np.diff(r.scores) <= 0), r


QIDS = ["q1", "q2", "q3"]
DOCS = [f"d{i}" for i in range(10)]


@st.composite
def tie_free_runs(draw, min_runs=2, max_runs=4):
    """2-4 runs over the same queries (in the same order), each query 1-8
    documents with distinct scores."""
    n_runs = draw(st.integers(min_runs, max_runs))
    qids = QIDS[: draw(st.integers(1, len(QIDS)))]
    runs = []
    for _ in range(n_runs):
        run = {}
        for q in qids:
            docs = draw(st.lists(st.sampled_from(DOCS), min_size=1, max_size=8, unique=True))
            ints = draw(st.lists(st.integers(-400, 400), min_size=len(docs), max_size=len(docs), unique=True))
            run[q] = {d: i / 8.0 + 0.03125 for d, i in zip(docs, ints)}
        runs.append(run)
    return runs


RANK_METHODS = [("rrf", "rrf"), ("isr", "isr"), ("borda", "bordafuse")]
SCORE_METHODS = [("combsum", "sum"), ("combmnz", "mnz")]
NORMS = [("min-max", "min-max"), ("sum", "sum"), ("z-score", "zmuv"), ("max", "max"), ("rank", "rank")]


@pytest.mark.slow  # ranx compiles its kernels with numba on first use: ~7 s
@settings(max_examples=30)
@given(runs=tie_free_runs())
@pytest.mark.parametrize("rw_method, rx_method", RANK_METHODS)
def test_rank_methods_match_ranx(runs, rw_method, rx_method):
    params = {"k": 60} if rw_method == "rrf" else {}
    expected = ranx_fuse(runs, rx_method, None, params)
    fused = rw.fuse([rw.Run.from_dict(r) for r in runs], rw_method)
    assert_same_scores(fused, expected)
    assert_sorted_by_score(fused)


@settings(max_examples=15)
@given(runs=tie_free_runs(), k=st.sampled_from([1, 10, 250]))
def test_rrf_other_k_matches_ranx(runs, k):
    assert_same_scores(rw.fuse(runs, "rrf", k=k), ranx_fuse(runs, "rrf", None, {"k": k}))


@settings(max_examples=20)
@given(runs=tie_free_runs())
@pytest.mark.parametrize("rw_norm, rx_norm", NORMS)
@pytest.mark.parametrize("rw_method, rx_method", SCORE_METHODS)
def test_score_methods_match_ranx(runs, rw_method, rx_method, rw_norm, rx_norm):
    expected = ranx_fuse(runs, rx_method, rx_norm)
    fused = rw.fuse([rw.Run.from_dict(r) for r in runs], rw_method, norm=rw_norm)
    assert_same_scores(fused, expected)
    assert_sorted_by_score(fused)


@settings(max_examples=20)
@given(runs=tie_free_runs(), data=st.data())
@pytest.mark.parametrize("rw_norm, rx_norm", NORMS[:3])
def test_wsum_matches_ranx(runs, data, rw_norm, rx_norm):
    weights = data.draw(
        st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.0, 3.5]), min_size=len(runs), max_size=len(runs))
    )
    expected = ranx_fuse(runs, "wsum", rx_norm, {"weights": weights})
    fused = rw.fuse([rw.Run.from_dict(r) for r in runs], "wsum", weights=weights, norm=rw_norm)
    assert_same_scores(fused, expected)
    assert_sorted_by_score(fused)


@settings(max_examples=10)
@given(runs=tie_free_runs())
def test_default_norm_is_min_max(runs):
    a = rw.fuse(runs, "combsum")
    b = rw.fuse(runs, "combsum", norm="min-max")
    assert a.to_dict() == b.to_dict()
    assert_same_scores(a, ranx_fuse(runs, "sum", "min-max"))


def test_rrf_by_hand():
    a = {"1": {"a": 3.0, "b": 2.0, "c": 1.0}}
    b = {"1": {"b": 10.0, "d": 5.0}, "2": {"x": 1.0}}
    f = rw.fuse([a, b], "rrf")
    assert list(f) == ["1", "2"]  # union of queries, first-appearance order
    assert f["1"].docids[0] == "b"
    d = f.to_dict()
    assert d["1"]["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert d["1"]["a"] == pytest.approx(1 / 61)
    assert d["2"] == {"x": pytest.approx(1 / 61)}


def test_rrf_self_fusion_preserves_order():
    rng = np.random.default_rng(7)
    run = {f"q{i}": {f"d{j}": float(s) for j, s in enumerate(rng.permutation(30))} for i in range(5)}
    r = rw.Run.from_dict(run)
    for n in (1, 2, 3):
        fused = rw.fuse([r] * n, "rrf")
        assert list(fused) == list(r)
        for q in r:
            assert fused[q].docids == r[q].docids
            assert fused[q].scores == pytest.approx(n / (60 + np.arange(1, 31)))


def test_output_ordered_by_fused_score_then_docid_desc():
    # equal fused scores are ordered by doc id descending (trec_eval's order)
    a = {"q": {"a": 2.0, "b": 1.0}}
    b = {"q": {"b": 2.0, "a": 1.0}}
    f = rw.fuse([a, b], "rrf")
    assert f["q"].docids == ["b", "a"]
    assert f["q"].scores[0] == f["q"].scores[1]
    c = {"q": {"z": 9.0, "y": 8.0, "x": 7.0, "w": 1.0}}
    f2 = rw.fuse([c, {"q": {"w": 5.0, "x": 4.0}}], "combsum")
    assert_sorted_by_score(f2)
    assert f2["q"].docids[0] in {"z", "w"}


def test_fuse_accepts_runs_rankings_and_dicts():
    d = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    r = rw.Run.from_dict(d)
    rankings = list(r.values())
    ref = rw.fuse([r, r], "rrf").to_dict()
    assert rw.fuse([d, d], "rrf").to_dict() == ref
    assert rw.fuse([rankings, rankings], "rrf").to_dict() == ref
    assert rw.fuse((r, d), "rrf").to_dict() == ref
    # {qid: (doc ids, scores)} with numpy arrays, ordered by score
    arrays = {"q": (np.array(["c", "a", "b"]), np.array([1.0, 3.0, 2.0]))}
    assert rw.fuse([arrays, d], "rrf").to_dict() == ref


def test_weights_scale_rrf():
    a = {"q": {"a": 2.0, "b": 1.0}}
    b = {"q": {"b": 2.0, "a": 1.0}}
    f = rw.fuse([a, b], "rrf", weights=[3.0, 1.0]).to_dict()
    assert f["q"]["a"] == pytest.approx(3 / 61 + 1 / 62)
    assert f["q"]["b"] == pytest.approx(3 / 62 + 1 / 61)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

R = {"q": {"a": 2.0, "b": 1.0}}


@pytest.mark.parametrize("weights", [[1.0], [1.0, 2.0, 3.0], []])
def test_weights_length_mismatch(weights):
    with pytest.raises(InvalidInputError, match="weights"):
        rw.fuse([R, R], "wsum", weights=weights)
    with pytest.raises(InvalidInputError, match="weights"):
        rw.fuse([R, R], "rrf", weights=weights)


def test_weights_not_finite():
    with pytest.raises(InvalidInputError, match="weights"):
        rw.fuse([R, R], "combsum", weights=[1.0, float("nan")])


def test_wsum_needs_weights():
    with pytest.raises(InvalidInputError, match="weights"):
        rw.fuse([R, R], "wsum")


@pytest.mark.parametrize("method", ["bogus", "RRF", "bordafuse", ""])
def test_unknown_method(method):
    with pytest.raises(InvalidInputError, match="method"):
        rw.fuse([R, R], method)


@pytest.mark.parametrize("k", [0, 0.0, -1, -60.0, float("nan"), float("inf")])
def test_bad_k(k):
    with pytest.raises(InvalidInputError, match="k"):
        rw.fuse([R, R], "rrf", k=k)


def test_unknown_norm():
    with pytest.raises(InvalidInputError, match="norm"):
        rw.fuse([R, R], "combsum", norm="l2")


@pytest.mark.parametrize("runs", [[], (), None])
def test_empty_list(runs):
    with pytest.raises(InvalidInputError, match="runs"):
        rw.fuse(runs, "rrf")


def test_single_run_not_in_list():
    with pytest.raises(InvalidInputError, match="runs"):
        rw.fuse(rw.Run.from_dict(R), "rrf")
    with pytest.raises(InvalidInputError, match="runs"):
        rw.fuse(R, "rrf")
