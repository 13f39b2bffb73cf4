"""A fuzz suite with a fixed example budget over the kernels, the parser, fusion and evaluation.

Adversarial floats (huge, tiny, subnormal, inf, nan, negative zero), empty
input, ids out of range and repeated ids. Every call must either return a
well-formed result (finite scores, no -0.0, a permutation as the ranking) or
raise a rankwise error (InvalidInputError, EstimationError): any other
exception, a crash, or NaN/inf with converged=True fails. The budget is fixed
and derandomized, so every run of the suite runs the same examples.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rankwise as rw
from rankwise import RankwiseError

# ~20-40 s on two shared cores: slow (pytest --all runs it)
pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.slow]


def budget(n: int):
    return settings(
        max_examples=n,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


NASTY = [0.0, -0.0, 5e-324, 2.2e-308, 1e-300, 1e-50, 1e-10, 0.5, 1.0, 3.0, 1e10, 1e150, 1e300, 1.7e308]
NASTY += [math.inf, -math.inf, math.nan, -1.0, -1e300]
floats = st.one_of(st.sampled_from(NASTY), st.floats(allow_nan=True, allow_infinity=True))
finite_floats = st.one_of(
    st.sampled_from([x for x in NASTY if math.isfinite(x)]), st.floats(allow_nan=False, allow_infinity=False)
)
valid_ids = st.integers(0, 6)
ids = st.one_of(valid_ids, st.sampled_from([-1, 7, 2**31, 2**40]))
n_items = st.one_of(st.none(), st.integers(0, 9))


def _well_formed(res, n=None):
    """An AggregationResult that is finite, has no -0.0 and ranks every item once."""
    s = res.scores
    assert np.all(np.isfinite(s)), (res, s)
    assert not np.any((s == 0) & np.signbit(s)), ("negative zero", s)
    assert sorted(res.ranking.tolist()) == list(range(s.size))
    if n is not None:
        assert s.size == n
    if res.converged is not None:
        assert isinstance(res.converged, bool) and res.iterations >= 1


def _call(f, *args, **kwargs):
    """Call ``f``; a rankwise error is an answer, anything else propagates (and fails)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return f(*args, **kwargs)
        except RankwiseError:
            return None


def _comparisons(item_ids):
    return st.integers(0, 12).flatmap(
        lambda m: st.tuples(
            st.lists(item_ids, min_size=m, max_size=m),
            st.lists(item_ids, min_size=m, max_size=m),
            st.one_of(st.none(), st.lists(floats, min_size=m, max_size=m)),
        )
    )


# mostly valid ids (so the kernels run), sometimes any ids (so the checks run)
comparisons = st.one_of(_comparisons(valid_ids), _comparisons(valid_ids), _comparisons(ids))


PRIORS = [0.0, 1.0, 1e-10, 1e-11, 1e-50, 1e-300, 5e-324, 1e300, -0.0]
priors = st.one_of(st.sampled_from(PRIORS), st.sampled_from(PRIORS), floats)


@budget(400)
@given(comparisons, n_items, st.sampled_from(["newman", "zermelo"]), priors)
def test_bradley_terry(data, n, method, prior):
    w, l, wt = data
    res = _call(rw.bradley_terry, w, l, n, wt, method=method, prior=prior, max_iter=200)
    if res is not None:
        _well_formed(res, n)


@budget(300)
@given(comparisons, n_items, st.sampled_from(["pagerank", "win_rate", "copeland", "elo"]))
def test_counting_and_graph_kernels(data, n, name):
    w, l, wt = data
    res = _call(getattr(rw, name), w, l, n, wt)
    if res is not None:
        _well_formed(res, n)


@budget(150)
@given(comparisons, st.lists(st.booleans(), max_size=12), floats, floats)
def test_elo_parameters(data, draws, k, initial):
    w, l, wt = data
    res = _call(rw.elo, w, l, None, wt, draws=draws if len(draws) == len(w) else None, k=k, initial=initial)
    if res is not None:
        _well_formed(res)


rankings = st.one_of(
    st.lists(st.lists(valid_ids, max_size=6, unique=True), max_size=6),
    st.lists(st.lists(ids, max_size=6), max_size=6),
)


@budget(300)
@given(
    rankings,
    n_items,
    st.one_of(st.none(), st.lists(floats, min_size=0, max_size=6)),
    st.sampled_from(["newman", "mm", "zermelo"]),
    priors,
)
def test_plackett_luce_and_borda(rs, n, wt, method, prior):
    if wt is not None and len(wt) != len(rs):
        wt = wt[: len(rs)] + [1.0] * (len(rs) - len(wt))
    res = _call(rw.plackett_luce, rs, n, wt, method=method, prior=prior, max_iter=200)
    if res is not None:
        _well_formed(res, n)
    res = _call(rw.borda, rs, n, wt)
    if res is not None:
        _well_formed(res, n)


@budget(200)
@given(rankings)
def test_comparisons_from_rankings(rs):
    out = _call(rw.comparisons_from_rankings, rs)
    if out is not None:
        w, l = out
        assert w.size == l.size == sum(len(r) * (len(r) - 1) // 2 for r in rs)
        assert not np.any(w == l)


text = st.lists(
    st.one_of(
        st.sampled_from(["[", "]", " > ", ">", " ", "\ud83d", "\udc00", "</think>", "A", "Z", "[²]", "٣", "３", "\n"]),
        st.integers(-3, 30).map(str),
        st.characters(),
        st.text(max_size=5),
    ),
    max_size=30,
).map("".join)


@budget(500)
@given(text, st.integers(0, 12))
def test_parse_permutation_never_raises_on_text(t, n):
    p = rw.parse_permutation(t, n)
    assert sorted(p.order.tolist()) == list(range(n))
    assert 0 <= p.parsed <= n
    assert all(0 <= d < n for d in p.duplicates) and all(0 <= m < n for m in p.missing)
    assert all(not 0 <= x < n for x in p.out_of_range), "0-based, outside the window"
    assert p.parsed + len(p.missing) == n
    if p.parsed == 0 and not p.out_of_range and not p.duplicates:
        assert not p.letters


def _run_or_none(qs):
    return _call(rw.Run.from_dict, qs)


runs = st.dictionaries(
    st.sampled_from(["1", "2", "3"]),
    st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), finite_floats | floats, max_size=5),
    max_size=3,
)


@budget(300)
@given(
    st.lists(runs, min_size=1, max_size=3),
    st.sampled_from(["rrf", "isr", "borda", "combsum", "combmnz", "wsum"]),
    st.sampled_from(["none", "min-max", "z-score", "sum", "max", "rank"]),
    st.one_of(st.none(), st.lists(finite_floats | floats, min_size=1, max_size=3)),
)
def test_fusion(rs, method, norm, weights):
    built = [_run_or_none(r) for r in rs]
    if any(r is None for r in built):
        return  # a non-finite or empty run was refused at construction
    if weights is not None:
        weights = (weights * 3)[: len(built)]
    fused = _call(rw.fuse, built, method, norm=norm, weights=weights)
    if fused is None:
        return
    for qid in fused:
        ranking = fused[qid]
        scores = np.asarray(ranking.scores)
        assert np.all(np.isfinite(scores)) and not np.any((scores == 0) & np.signbit(scores))
        assert len(set(ranking.docids)) == len(ranking.docids)
        union = set().union(*(set(r[qid].docids) for r in built if qid in r))
        assert set(ranking.docids) == union
    if fused.n_entries:
        assert _round_trip(fused), "write_run refused a fused run"


def _round_trip(run, tag: str = "fuzz") -> bool:
    """False when write_run refuses ``run``; otherwise read_run must give back
    every query with documents, the same ids and bit-identical scores (a
    rankwise error from the reader propagates and fails the test)."""
    import os
    import tempfile

    fd, path = tempfile.mkstemp(suffix=".trec")
    os.close(fd)
    try:
        try:
            rw.write_run(run, path, tag=tag)
        except RankwiseError:
            return False
        back = rw.read_run(path, order="given")
        # TREC text holds no query without documents; every other query comes back as it was
        assert list(back) == [q for q in run if len(run[q].docids)]
        for qid in back:
            assert list(back[qid].docids) == list(run[qid].docids)
            assert np.array_equal(np.asarray(back[qid].scores), np.asarray(run[qid].scores))
        return True
    finally:
        os.unlink(path)


trec_lines = st.lists(
    st.tuples(
        st.sampled_from(["1", "2", "#3", "4"]),
        st.sampled_from(["a", "b", "c", "a#1"]),
        st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["x", "1.5", ""])),
        st.one_of(finite_floats.map(repr), st.sampled_from(["inf", "nan", "1e999", "-0.0", "abc"])),
        st.sampled_from(["", " extra", " extra cols here"]),
    ),
    max_size=8,
)


@budget(200)
@given(trec_lines, trec_lines, st.sampled_from(["ndcg@3", "map", "mrr@2", "recall@2", "precision@1", "rprec"]))
def test_evaluate_on_hostile_text(run_lines, qrel_lines, metric):
    from rankwise import _core

    run_text = "".join(f"{q} Q0 {d} {r or 1} {s} t{x}\n" for q, d, r, s, x in run_lines)
    qrels_text = "".join(f"{q} 0 {d} {r}\n" for q, d, r, _, _ in qrel_lines)
    run = _call(lambda: rw.Run(_core.run_from_trec(run_text, "run", "score")))
    qrels = _call(lambda: rw.Qrels(_core.qrels_from_trec(qrels_text, "qrels")))
    if run is None or qrels is None:
        return
    per_query = _call(rw.evaluate, run, qrels, [metric], per_query=True)
    if per_query is None:
        return
    for values in per_query.values():
        for v in values.values():
            assert 0.0 <= v <= 1.0 and not (v == 0 and math.copysign(1.0, v) < 0), v


@budget(300)
@given(st.lists(floats, min_size=0, max_size=10), st.lists(floats, min_size=0, max_size=10))
def test_kendall_tau(a, b):
    tau = _call(rw.kendall_tau, a, b)
    if tau is None:
        return
    assert len(a) == len(b) >= 2 and not any(map(math.isnan, a + b))
    if math.isnan(tau):
        assert len(set(a)) == 1 or len(set(b)) == 1, "NaN only when one side is constant (documented)"
    else:
        assert -1.0 <= tau <= 1.0


id_text = st.text(
    st.one_of(st.characters(), st.sampled_from(["#", "\ufeff", " ", "\t", "\r", "\n", "\x0c", "\u2028", "\x85"])),
    min_size=0,
    max_size=6,
)


@budget(300)
@given(
    st.dictionaries(id_text, st.dictionaries(id_text, finite_floats, min_size=1, max_size=4), min_size=1, max_size=3),
    id_text,
)
def test_trec_writer_writes_only_what_the_reader_reads_back(queries, tag):
    """write_run refuses, or read_run gives back exactly what was written."""
    run = _call(rw.Run.from_dict, queries)
    if run is not None:
        _round_trip(run, tag)
