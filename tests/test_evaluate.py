"""rankwise.evaluate against pytrec_eval (trec_eval), on generated and real
TREC DL data; error handling of the run/qrels readers and of evaluate;
kendall_tau against scipy."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Dict

import numpy as np
import pytest
import pytrec_eval
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise as rw
from conftest import SHARED_DATA as DATA
from conftest import needs_shared as needs_data
from rankwise import InvalidInputError

# pytrec_eval measure name -> rankwise canonical key
PYTREC_TO_RW = {
    "ndcg_cut_5": "ndcg@5",
    "ndcg_cut_10": "ndcg@10",
    "map": "map",
    "map_cut_10": "map@10",
    "recip_rank": "mrr",
    "recall_5": "recall@5",
    "recall_100": "recall@100",
    "P_5": "precision@5",
    "P_10": "precision@10",
    "Rprec": "rprec",
}
PYTREC_MEASURES = {"ndcg_cut.5,10", "map", "map_cut.10", "recip_rank", "recall.5,100", "P.5,10", "Rprec"}


def pytrec(run, qrels, relevance_level, measures=PYTREC_MEASURES):
    ev = pytrec_eval.RelevanceEvaluator(qrels, set(measures), relevance_level=relevance_level)
    return ev.evaluate(run)


def quiet_evaluate(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rw.evaluate(*args, **kwargs)


# ---------------------------------------------------------------------------
# generated runs and qrels
# ---------------------------------------------------------------------------

DOC_POOL = [f"d{i}" for i in range(12)]
# Few distinct values, so ties are frequent. pytrec_eval compares scores in
# single precision (1.0 and 1.0 + 1e-8 tie there); the generated scores are
# float32-representable so that the comparison does not hinge on rounding
# (near-ties are tested separately below).
SCORES = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 1.5, 2.0, -1.0]),
    st.floats(min_value=-10, max_value=10, width=32, allow_subnormal=False),
)


@st.composite
def run_and_qrels(draw):
    n_shared = draw(st.integers(1, 3))
    n_run_only = draw(st.integers(0, 2))
    n_qrels_only = draw(st.integers(0, 2))
    shared = [f"s{i}" for i in range(n_shared)]
    run_only = [f"r{i}" for i in range(n_run_only)]
    qrels_only = [f"j{i}" for i in range(n_qrels_only)]
    run: Dict[str, Dict[str, float]] = {}
    for q in shared + run_only:
        docs = draw(st.lists(st.sampled_from(DOC_POOL), min_size=1, max_size=12, unique=True))
        run[q] = {d: draw(SCORES) for d in docs}
    qrels: Dict[str, Dict[str, int]] = {}
    for q in shared + qrels_only:
        docs = draw(st.lists(st.sampled_from(DOC_POOL), min_size=1, max_size=10, unique=True))
        qrels[q] = {d: draw(st.integers(0, 3)) for d in docs}
        # make sure grade 0 judgments are common
        if draw(st.booleans()):
            qrels[q][draw(st.sampled_from(DOC_POOL))] = 0
    # shuffle query order a bit
    run = dict(sorted(run.items(), key=lambda kv: draw(st.integers(0, 5))))
    return run, qrels


@settings(max_examples=120)
@given(data=run_and_qrels(), level=st.sampled_from([1, 2]))
def test_agrees_with_pytrec_eval(data, level):
    run, qrels = data
    expected = pytrec(run, qrels, level)
    got = quiet_evaluate(run, qrels, list(PYTREC_TO_RW), per_query=True, relevance_level=level, missing="skip")
    assert set(got) == set(expected) == set(run) & set(qrels)
    for qid, row in expected.items():
        for pm, rm in PYTREC_TO_RW.items():
            assert got[qid][rm] == pytest.approx(row[pm], abs=1e-9), (qid, pm, run[qid], qrels[qid])

    # missing="zero": the same values, plus a row of zeros for every judged
    # query absent from the run, in qrels order, announced by a warning
    absent = [q for q in qrels if q not in run]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        zero = rw.evaluate(run, qrels, list(PYTREC_TO_RW), per_query=True, relevance_level=level, missing="zero")
    assert list(zero) == list(qrels)
    for qid in qrels:
        if qid in run:
            assert zero[qid] == got[qid]
        else:
            assert zero[qid] == {m: 0.0 for m in PYTREC_TO_RW.values()}
    score0 = [w for w in rec if "missing from the run and score 0" in str(w.message)]
    assert len(score0) == (1 if absent else 0)
    if absent:
        assert f"{len(absent)} judged queries" in str(score0[0].message)


@settings(max_examples=40)
@given(data=run_and_qrels(), level=st.sampled_from([1, 2]))
def test_means_and_run_types_agree(data, level):
    """Means are the mean of the per-query values; Run, dict and Ranking list inputs agree."""
    run, qrels = data
    names = list(PYTREC_TO_RW)
    per_q = quiet_evaluate(run, qrels, names, per_query=True, relevance_level=level, missing="skip")
    means = quiet_evaluate(run, qrels, names, relevance_level=level, missing="skip")
    for m in PYTREC_TO_RW.values():
        assert means[m] == pytest.approx(np.mean([row[m] for row in per_q.values()]), abs=1e-12)
    as_run = rw.Run.from_dict(run)
    as_list = list(as_run.values())
    for other in (as_run, as_list):
        assert (
            quiet_evaluate(
                other, rw.Qrels.from_dict(qrels), names, per_query=True, relevance_level=level, missing="skip"
            )
            == per_q
        )


@settings(max_examples=40)
@given(data=run_and_qrels(), level=st.sampled_from([1, 2, 3]), neg=st.data())
def test_negative_grades_agree_with_pytrec_eval(data, level, neg):
    """Negative grades: judged non-relevant, zero gain. (Uncut "ndcg" is left
    out here: pytrec_eval's uncut ndcg can hang on negative grades.)"""
    run, qrels = data
    for q in qrels:
        for d in list(qrels[q]):
            if neg.draw(st.integers(0, 3)) == 0:
                qrels[q][d] = -1
    expected = pytrec(run, qrels, level, {"ndcg_cut.5,10", "map", "P.5", "recall.5"})
    got = quiet_evaluate(
        run,
        qrels,
        ["ndcg@5", "ndcg@10", "map", "p@5", "recall@5"],
        per_query=True,
        relevance_level=level,
        missing="skip",
    )
    for qid, row in expected.items():
        assert got[qid]["ndcg@5"] == pytest.approx(row["ndcg_cut_5"], abs=1e-9)
        assert got[qid]["ndcg@10"] == pytest.approx(row["ndcg_cut_10"], abs=1e-9)
        assert got[qid]["map"] == pytest.approx(row["map"], abs=1e-9)
        assert got[qid]["precision@5"] == pytest.approx(row["P_5"], abs=1e-9)
        assert got[qid]["recall@5"] == pytest.approx(row["recall_5"], abs=1e-9)
    # and a negative grade behaves exactly like grade 0 in rankwise
    zeroed = {q: {d: max(g, 0) for d, g in j.items()} for q, j in qrels.items()}
    names = ["ndcg", "ndcg@5", "map", "mrr", "rprec"]
    assert quiet_evaluate(run, qrels, names, per_query=True, relevance_level=level, missing="skip") == quiet_evaluate(
        run, zeroed, names, per_query=True, relevance_level=level, missing="skip"
    )


@settings(max_examples=40)
@given(data=run_and_qrels(), level=st.sampled_from([1, 2]))
def test_uncut_ndcg_agrees_with_pytrec_eval(data, level):
    run, qrels = data
    expected = pytrec(run, qrels, level, {"ndcg"})
    got = quiet_evaluate(run, qrels, "ndcg", per_query=True, relevance_level=level, missing="skip")
    for qid, row in expected.items():
        assert got[qid]["ndcg"] == pytest.approx(row["ndcg"], abs=1e-9)


def test_empty_ranking_scores_zero_like_pytrec_eval():
    qrels = {"q": {"a": 1}, "p": {"a": 1}}
    pt = pytrec({"q": {}, "p": {"a": 1.0}}, qrels, 1, {"map", "recip_rank"})
    got = rw.evaluate(
        [rw.Ranking.from_order("q", []), rw.Ranking.from_order("p", ["a"])],
        qrels,
        ["map", "mrr"],
        per_query=True,
        missing="skip",
    )
    assert got["q"] == {"map": pt["q"]["map"], "mrr": pt["q"]["recip_rank"]} == {"map": 0.0, "mrr": 0.0}


@pytest.mark.parametrize(
    "scores",
    [
        {"a": 1.0 + 1e-12, "b": 1.0},  # equal as float32: tie, doc id descending puts b first
        {"a": 100.0 + 1e-6, "b": 100.0},
        {"a": 1e-300, "b": 0.0},
        {"a": 1.0 + 1e-3, "b": 1.0},  # distinct as float32: a first
    ],
)
def test_near_tie_scores_order_like_pytrec_eval(scores):
    qrels = {"q": {"a": 1, "b": 0}}
    run = {"q": scores}
    expected = pytrec(run, qrels, 1, {"recip_rank"})["q"]["recip_rank"]
    assert rw.evaluate(run, qrels, "mrr")["mrr"] == expected
    p_run = rw.Run.from_dict(run)
    assert p_run["q"].docids[0] == ("a" if expected == 1.0 else "b")


def test_missing_zero_convention_and_warnings():
    run = {"1": {"a": 2.0, "b": 1.0}, "3": {"a": 1.0}}
    qrels = {"1": {"b": 1, "a": 0}, "2": {"a": 1}}
    metrics = ["mrr", "ndcg@10", "map"]
    # pytrec_eval evaluates only queries present in both
    pt = pytrec(run, qrels, 1, {"recip_rank"})
    assert set(pt) == {"1"}

    with pytest.warns(UserWarning) as rec:
        zero = rw.evaluate(run, qrels, metrics, per_query=True)  # missing="zero" is the default
    msgs = [str(w.message) for w in rec]
    assert any("1 judged queries are missing from the run and score 0" in m for m in msgs), msgs
    assert any("1 run queries have no judgments" in m for m in msgs), msgs
    assert list(zero) == ["1", "2"]  # qrels order; unjudged run query "3" is never evaluated
    assert zero["1"]["mrr"] == pytest.approx(pt["1"]["recip_rank"]) == 0.5
    assert zero["2"] == {"mrr": 0.0, "ndcg@10": 0.0, "map": 0.0}
    with pytest.warns(UserWarning):
        means = rw.evaluate(run, qrels, "mrr")
    assert means == {"mrr": pytest.approx(0.25)}

    with pytest.warns(UserWarning) as rec:
        skip = rw.evaluate(run, qrels, metrics, per_query=True, missing="skip")
    msgs = [str(w.message) for w in rec]
    assert not any("score 0" in m for m in msgs), msgs
    assert any("no judgments" in m for m in msgs), msgs
    assert list(skip) == ["1"]
    with pytest.warns(UserWarning):
        assert rw.evaluate(run, qrels, "mrr", missing="skip") == {"mrr": pytest.approx(0.5)}


def test_no_warning_when_run_and_qrels_match():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rw.evaluate({"1": {"a": 1.0}}, {"1": {"a": 1}}, "mrr") == {"mrr": 1.0}


def test_missing_invalid_value():
    with pytest.raises(InvalidInputError, match="missing"):
        rw.evaluate({"1": {"a": 1.0}}, {"1": {"a": 1}}, "mrr", missing="drop")


def test_mrr_at_k_by_hand():
    # ranking (score order): a, b, c, d, e with grades 0, 0, 1, 2, 0
    run = {"q": {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}}
    qrels = {"q": {"a": 0, "b": 0, "c": 1, "d": 2, "x": 3}}
    ev = rw.evaluate(run, qrels, ["mrr@1", "mrr@2", "mrr@3", "mrr@4", "mrr@10", "mrr", "recip_rank"], relevance_level=1)
    assert ev == {
        "mrr@1": 0.0,
        "mrr@2": 0.0,
        "mrr@3": pytest.approx(1 / 3),
        "mrr@4": pytest.approx(1 / 3),
        "mrr@10": pytest.approx(1 / 3),
        "mrr": pytest.approx(1 / 3),
    }
    ev2 = rw.evaluate(run, qrels, ["mrr@3", "mrr@4", "mrr"], relevance_level=2)
    assert ev2 == {"mrr@3": 0.0, "mrr@4": pytest.approx(0.25), "mrr": pytest.approx(0.25)}
    ev3 = rw.evaluate(run, qrels, ["mrr@10"], relevance_level=3)
    assert ev3 == {"mrr@10": 0.0}
    # uncut mrr equals pytrec_eval's recip_rank
    for level in (1, 2, 3):
        pt = pytrec(run, qrels, level, {"recip_rank"})["q"]["recip_rank"]
        assert rw.evaluate(run, qrels, "mrr", relevance_level=level)["mrr"] == pytest.approx(pt)


def test_metric_name_aliases():
    run = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    qrels = {"q": {"a": 1, "c": 2, "z": 1}}
    ev = rw.evaluate(
        run,
        qrels,
        [
            "ndcg@2",
            "ndcg_cut.2",
            "NDCG_CUT_2",
            "P_2",
            "p@2",
            "precision@2",
            "P.2",
            "map_cut_2",
            "map@2",
            "recall_2",
            "recall@2",
            "Rprec",
            "rprec",
        ],
    )
    assert set(ev) == {"ndcg@2", "precision@2", "map@2", "recall@2", "rprec"}


# ---------------------------------------------------------------------------
# real TREC DL data
# ---------------------------------------------------------------------------


def read_trec_run_dict(path: Path) -> Dict[str, Dict[str, float]]:
    out: Dict[str, Dict[str, float]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            q, _, d, _, s, _ = line.split()
            out.setdefault(q, {})[d] = float(s)
    return out


def read_qrels_dict(path: Path) -> Dict[str, Dict[str, int]]:
    out: Dict[str, Dict[str, int]] = {}
    for line in path.read_text().splitlines():
        if line.strip():
            q, _, d, g = line.split()
            out.setdefault(q, {})[d] = int(g)
    return out


@needs_data
@pytest.mark.parametrize("ds, expected", [("dl19", 0.5058), ("dl20", 0.4796)])
def test_bm25_ndcg10_real_data(ds, expected):
    qrels = rw.read_qrels(DATA / ds / "qrels.txt")
    run = rw.read_run(DATA / ds / "bm25_top100.trec")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # run and qrels cover the same queries: no warning
        got = rw.evaluate(run, qrels, "ndcg@10")
    assert round(got["ndcg@10"], 4) == expected
    reqs = rw.load_requests(DATA / ds / "bm25_top100.json")
    rankings = [rw.first_stage_ranking(r) for r in reqs]
    got2 = rw.evaluate(rankings, qrels, "ndcg@10")
    assert round(got2["ndcg@10"], 4) == expected
    assert got2["ndcg@10"] == pytest.approx(got["ndcg@10"], abs=1e-12)


@needs_data
@pytest.mark.parametrize("ds", ["dl19", "dl20"])
def test_per_query_agreement_real_data(ds):
    qrels_d = read_qrels_dict(DATA / ds / "qrels.txt")
    run_d = read_trec_run_dict(DATA / ds / "bm25_top100.trec")
    expected = pytrec(run_d, qrels_d, 2, {"ndcg_cut.10", "map", "recall.100"})
    run = rw.read_run(DATA / ds / "bm25_top100.trec")
    qrels = rw.read_qrels(DATA / ds / "qrels.txt")
    got = rw.evaluate(run, qrels, ["ndcg_cut_10", "map", "recall_100"], per_query=True, relevance_level=2)
    assert set(got) == set(expected)
    for qid, row in expected.items():
        assert got[qid]["ndcg@10"] == pytest.approx(row["ndcg_cut_10"], abs=1e-9)
        assert got[qid]["map"] == pytest.approx(row["map"], abs=1e-9)
        assert got[qid]["recall@100"] == pytest.approx(row["recall_100"], abs=1e-9)


@needs_data
@pytest.mark.parametrize("name, expected", [("gpt35_sliding_run1.trec", 0.6799), ("gpt35_sliding_run2.trec", 0.6827)])
def test_gpt35_runs_rank_order(name, expected):
    qrels = rw.read_qrels(DATA / "dl19" / "qrels.txt")
    by_rank = rw.evaluate(rw.read_run(DATA / "dl19" / "llm" / name, order="rank"), qrels, "ndcg@10")["ndcg@10"]
    assert round(by_rank, 4) == expected
    # The score column holds the BM25 score of the slot, so it decreases with
    # the rank column: score order gives the same ranking here.
    by_score = rw.evaluate(rw.read_run(DATA / "dl19" / "llm" / name, order="score"), qrels, "ndcg@10")["ndcg@10"]
    assert by_score == pytest.approx(by_rank, abs=1e-12)


def test_order_rank_vs_score_vs_given(tmp_path):
    # scores disagree with the rank column; lines out of rank order
    p = tmp_path / "r.trec"
    p.write_text("q Q0 a 3 9.0 t\nq Q0 b 1 1.0 t\nq Q0 c 2 5.0 t\nq Q0 d 4 5.0 t\n")
    assert rw.read_run(p, order="rank")["q"].docids == ["b", "c", "a", "d"]
    assert rw.read_run(p, order="score")["q"].docids == ["a", "d", "c", "b"]  # tie 5.0: doc id descending
    assert rw.read_run(p, order="given")["q"].docids == ["a", "b", "c", "d"]
    qrels = {"q": {"b": 1}}
    assert rw.evaluate(rw.read_run(p, order="rank"), qrels, "mrr")["mrr"] == 1.0
    assert rw.evaluate(rw.read_run(p, order="score"), qrels, "mrr")["mrr"] == 0.25
    with pytest.raises(InvalidInputError, match="order"):
        rw.read_run(p, order="bogus")


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

GOOD_RUN = "1 Q0 a 1 2.0 t\n1 Q0 b 2 1.0 t\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        (GOOD_RUN + "1 Q0 c 3 0.5\n", 3, "6 columns"),
        ("1 Q0 a 1 x t\n", 1, "not a number"),
        (GOOD_RUN + "\n1 Q0 c three 0.5 t\n", 4, "not an integer"),
        (GOOD_RUN + "1 Q0 c 3 nan t\n", 3, "not a finite number"),
        (GOOD_RUN + "1 Q0 c 3 inf t\n", 3, "not a finite number"),
    ],
)
def test_malformed_run_lines(tmp_path, text, line, fragment):
    p = write(tmp_path, "bad_run.trec", text)
    with pytest.raises(InvalidInputError) as e:
        rw.read_run(p)
    msg = str(e.value)
    assert "bad_run.trec" in msg and f"line {line}" in msg and fragment in msg, msg


def test_duplicate_docid_in_run(tmp_path):
    p = write(tmp_path, "dup.trec", "1 Q0 a 1 2.0 t\n2 Q0 a 1 2.0 t\n1 Q0 b 2 1.0 t\n1 Q0 a 3 0.0 t\n")
    for order in ("score", "rank", "given"):
        with pytest.raises(InvalidInputError) as e:
            rw.read_run(p, order=order)
        msg = str(e.value)
        assert "dup.trec" in msg and "twice" in msg and "line 1" in msg and "line 4" in msg, msg
    with pytest.raises(InvalidInputError):
        rw.Run.from_rankings([rw.Ranking("1", ["a", "b", "a"], [3.0, 2.0, 1.0])])


@pytest.mark.parametrize("reader", [rw.read_run, rw.read_qrels])
@pytest.mark.parametrize("text", ["", "\n  \n\n"])
def test_empty_file(tmp_path, reader, text):
    p = write(tmp_path, "empty.txt", text)
    with pytest.raises(InvalidInputError) as e:
        reader(p)
    assert "empty.txt" in str(e.value) and "empty" in str(e.value)


@pytest.mark.parametrize("reader", [rw.read_run, rw.read_qrels])
def test_missing_file(tmp_path, reader):
    p = tmp_path / "nope.txt"
    with pytest.raises(InvalidInputError) as e:
        reader(p)
    assert "not found" in str(e.value) and "nope.txt" in str(e.value)


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("1 0 a 1\n1 0 b two\n", 2, "not an integer"),
        ("1 0 a 1\n1 0 b 1.5\n", 2, "not an integer"),
        ("1 0 a 1\n1 0 b\n", 2, "4 columns"),
        ("1 0 a 1\n1 0 b 1 x\n", 2, "4 columns"),
        ("1 0 a 1\n2 0 a 1\n\n1 0 a 2\n", 4, "more than once"),
    ],
)
def test_malformed_qrels(tmp_path, text, line, fragment):
    p = write(tmp_path, "bad_qrels.txt", text)
    with pytest.raises(InvalidInputError) as e:
        rw.read_qrels(p)
    msg = str(e.value)
    assert "bad_qrels.txt" in msg and f"line {line}" in msg and fragment in msg, msg


def test_qrels_from_dict_bad_grade():
    with pytest.raises(InvalidInputError, match="grade 'high' .* is not a 32-bit integer"):
        rw.Qrels.from_dict({"1": {"a": "high"}})


RUN = {"1": {"a": 1.0, "b": 0.5}}
QRELS = {"1": {"a": 1}}


@pytest.mark.parametrize("metric", ["foo", "ndcg@x", "recall", "precision", "rprec@5", "", "map@-1"])
def test_unknown_metric(metric):
    with pytest.raises(InvalidInputError, match="metrics"):
        rw.evaluate(RUN, QRELS, metric)


@pytest.mark.parametrize("metric", ["ndcg@0", "ndcg_cut_0", "P_0", "map@0", "mrr@0", "recall.0"])
def test_metric_cutoff_zero(metric):
    with pytest.raises(InvalidInputError, match=">= 1"):
        rw.evaluate(RUN, QRELS, metric)


def test_no_metrics():
    with pytest.raises(InvalidInputError, match="metrics"):
        rw.evaluate(RUN, QRELS, [])


def test_no_overlap_between_run_and_qrels():
    with pytest.raises(InvalidInputError, match="no query of the run has judgments"):
        quiet_evaluate({"1": {"a": 1.0}}, {"2": {"a": 1}}, "ndcg@10")


@pytest.mark.parametrize("level", ["2", 1.5, 2.0, True, None])
def test_relevance_level_not_int(level):
    with pytest.raises(InvalidInputError, match="relevance_level"):
        rw.evaluate(RUN, QRELS, "map", relevance_level=level)


@pytest.mark.parametrize("level", [0, -1])
def test_relevance_level_below_one(level):
    """Unjudged documents are never relevant (trec_eval); pytrec_eval refuses
    relevance_level <= 0. rankwise must either refuse it too or keep every
    binary metric within [0, 1], never counting the unjudged document "x"."""
    qrels = {"q": {"a": 1, "b": 0, "c": -1, "e": 2}}
    run = {"q": {"x": 5.0, "a": 4.0, "b": 3.0, "c": 2.0, "e": 1.0}}
    try:
        got = rw.evaluate(run, qrels, ["map", "mrr", "recall@5", "precision@5", "rprec"], relevance_level=level)
    except InvalidInputError as e:
        assert "relevance_level" in str(e)
        return
    for m, v in got.items():
        assert 0.0 <= v <= 1.0, (m, v, got)
    assert got["mrr"] < 1.0, got  # rank 1 is the unjudged "x"


def test_relevance_level_numpy_int_ok():
    assert rw.evaluate(RUN, QRELS, "map", relevance_level=np.int64(1)) == {"map": 1.0}


# ---------------------------------------------------------------------------
# kendall_tau
# ---------------------------------------------------------------------------

TAU_VALUES = st.one_of(st.sampled_from([0.0, 1.0, 2.0, -1.5, 3.25]), st.floats(-100, 100, allow_nan=False))


@settings(max_examples=150)
@given(
    st.integers(2, 30).flatmap(
        lambda n: st.tuples(st.lists(TAU_VALUES, min_size=n, max_size=n), st.lists(TAU_VALUES, min_size=n, max_size=n))
    )
)
def test_kendall_tau_matches_scipy(ab):
    a, b = np.array(ab[0]), np.array(ab[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = scipy.stats.kendalltau(a, b).statistic  # tau-b
    got = rw.kendall_tau(a, b)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected, abs=1e-12)


@settings(max_examples=60)
@given(st.permutations([f"doc{i}" for i in range(9)]), st.permutations([f"doc{i}" for i in range(9)]))
def test_kendall_tau_string_rankings(ra, rb):
    # as score vectors over a fixed item order: higher score = earlier
    items = sorted(ra)
    sa = [-ra.index(x) for x in items]
    sb = [-rb.index(x) for x in items]
    expected = scipy.stats.kendalltau(sa, sb).statistic
    assert rw.kendall_tau(ra, rb) == pytest.approx(expected, abs=1e-12)


def test_kendall_tau_identical_and_reversed():
    ids = ["a", "b", "c", "d", "e"]
    assert rw.kendall_tau(ids, ids) == pytest.approx(1.0)
    assert rw.kendall_tau(ids, ids[::-1]) == pytest.approx(-1.0)
    x = np.array([0.3, 2.0, -1.0, 5.5, 4.0])
    assert rw.kendall_tau(x, x) == pytest.approx(1.0)
    assert rw.kendall_tau(x, -x) == pytest.approx(-1.0)
    assert rw.kendall_tau(["a", "b"], ["b", "a"]) == pytest.approx(-1.0)
    assert math.isnan(rw.kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))


def test_kendall_tau_by_hand():
    # one swap among 4: (6 - 2*1)/6
    assert rw.kendall_tau(["a", "b", "c", "d"], ["b", "a", "c", "d"]) == pytest.approx(4 / 6)


def test_kendall_tau_errors():
    with pytest.raises(InvalidInputError):
        rw.kendall_tau([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InvalidInputError):
        rw.kendall_tau(["a", "b", "c"], ["a", "b"])
    with pytest.raises(InvalidInputError, match="NaN"):
        rw.kendall_tau([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidInputError, match="NaN"):
        rw.kendall_tau([1.0, 2.0, 3.0], [1.0, 2.0, float("nan")])
    with pytest.raises(InvalidInputError, match="same ids"):
        rw.kendall_tau(["a", "b", "c"], ["a", "b", "d"])
    with pytest.raises(InvalidInputError, match="repeat"):
        rw.kendall_tau(["a", "b", "a"], ["a", "b", "c"])
    with pytest.raises(InvalidInputError):
        rw.kendall_tau([1.0], [1.0])
    with pytest.raises(InvalidInputError, match="1-D"):
        rw.kendall_tau(np.ones((2, 2)), np.ones((2, 2)))
