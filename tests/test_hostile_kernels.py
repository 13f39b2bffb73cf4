"""Hostile input for the Rust kernels, the parser and TREC text (issue 10, kernel side).

Every reproduction of the issue is a test here. The cases that used to abort
the interpreter run in a child process under a 2 GiB address-space cap, so an
abort fails the test instead of killing the suite.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import rankwise as rw
from rankwise import EstimationError, InvalidInputError

TREC_EVAL = Path(__file__).parent / "data" / "trec_eval"

# comparisons of the issue: a 3-cycle in both directions
W = [0, 1, 2, 0, 1, 2]
L = [1, 2, 0, 2, 0, 1]


def _capped(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child whose address space is capped at 2 GiB."""
    prelude = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        import numpy as np
        import rankwise as rw
    """)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- 1. allocations sized by user input --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "call, arg",
    [
        ("rw.comparisons_from_rankings([np.arange(100_000)])", "rankings"),
        ("rw.comparisons_from_rankings(np.arange(40_000).reshape(2, 20_000))", "rankings"),
        # 20,000 runs of one distinct query each: a queries x runs table would be 6.4 GB
        (
            "rw.fuse([rw.Run.from_dict({str(q): {'d': 1.0}}) for q in range(20_000)], 'rrf')",
            None,
        ),
    ],
)
def test_input_sized_allocations_fail_cleanly_under_a_memory_cap(call, arg):
    proc = _capped(f"""
        try:
            out = {call}
        except rw.InvalidInputError as e:
            print("raised:", e)
        else:
            print("ok")
    """)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-2000:]}"
    if arg is None:
        assert proc.stdout.strip() == "ok", proc.stdout
    else:
        assert proc.stdout.startswith(f"raised: {arg}: "), proc.stdout
        assert "GiB" in proc.stdout, proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    "call",
    [
        "rw.bradley_terry([0], [1], n_items=100_000_000)",
        "rw.pagerank([0], [1], n_items=100_000_000)",
        "rw.copeland([0], [1], n_items=100_000_000)",
        "rw.plackett_luce([[0, 1]], n_items=100_000_000)",
        "rw.borda([[0, 1]], n_items=100_000_000)",
        "rw.elo([0], [1], n_items=100_000_000)",
    ],
)
def test_n_items_sized_work_beyond_a_memory_cap_raises_memory_error(call):
    # 100 million items fit this machine (the n_items check passes) but not a 2 GiB address space:
    # the working memory is probed before the work, so the child raises instead of aborting
    proc = _capped(f"""
        try:
            {call}
        except MemoryError as e:
            print("raised:", e)
    """)
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-2000:]}"
    assert proc.stdout.startswith("raised: n_items: 100000000 items"), proc.stdout
    assert "GiB of working memory" in proc.stdout


def test_pair_count_is_checked_from_the_lengths_alone():
    with pytest.raises(InvalidInputError, match=r"^rankings: 4999950000 pairs would need about 111\.8 GiB"):
        rw.comparisons_from_rankings([np.arange(100_000)])
    w, l = rw.comparisons_from_rankings([np.arange(1000)])
    assert w.size == l.size == 1000 * 999 // 2


# --- 2. never NaN or inf with converged=True ---------------------------------


def _assert_finite(res):
    assert np.all(np.isfinite(res.scores)), res.scores
    assert not np.any(np.signbit(res.scores) & (res.scores == 0)), "negative zero"


def test_bt_weights_spanning_600_orders_of_magnitude():
    weights = [1e300, 1e-300, 1e300, 1e-300, 1, 1]
    # prior 1 beside weights of 1e300 is 'prior 1e-300': outside the documented range
    with pytest.raises(InvalidInputError, match=r"^prior: 1\.0 is too small.*largest weight, 1e300"):
        rw.bradley_terry(W, L, weights=weights)
    try:
        res = rw.bradley_terry(W, L, weights=weights, prior=0.0)
    except EstimationError:
        return
    _assert_finite(res)


def test_bt_subnormal_prior_is_refused():
    with pytest.raises(InvalidInputError, match=r"^prior: 5e-324 is too small"):
        rw.bradley_terry([7], [8], prior=5e-324)


@pytest.mark.parametrize("method", ["newman", "zermelo"])
def test_bt_weights_near_float_max_give_the_unit_weight_estimate(method):
    big = rw.bradley_terry(W, L, weights=[1.7e308] * 6, method=method, prior=0.0)
    unit = rw.bradley_terry(W, L, method=method, prior=0.0)
    assert big.converged
    _assert_finite(big)
    np.testing.assert_allclose(big.scores, unit.scores, atol=1e-9)
    # with weights of 1.7e308 the default prior is refused, not NaN
    with pytest.raises(InvalidInputError, match="^prior:"):
        rw.bradley_terry(W, L, weights=[1.7e308] * 6, method=method)


def test_bt_tiny_prior_is_symmetric_or_refused():
    with pytest.raises(InvalidInputError, match="^prior:"):
        rw.bradley_terry([0], [1], prior=1e-50)
    for method in ["newman", "zermelo"]:
        res = rw.bradley_terry([0], [1], prior=1e-10, method=method)
        assert res.converged
        # one comparison: the MAP is symmetric around the dummy, s0 = -s1 (~ +-11.5)
        assert res.scores[0] == pytest.approx(-res.scores[1], abs=1e-6)
        assert res.scores[0] > 10


def test_pl_huge_weights_name_the_prior_not_use_prior_gt_0():
    blocks = [[0, 1, 2], [1, 0, 2], [2, 1, 0]]
    with pytest.raises(InvalidInputError, match="^prior:") as e:
        rw.plackett_luce(blocks, weights=[1e300] * 3)
    assert "use prior > 0" not in str(e.value)
    big = rw.plackett_luce(blocks, weights=[1e300] * 3, prior=0.0)
    unit = rw.plackett_luce(blocks, prior=0.0)
    np.testing.assert_allclose(big.scores, unit.scores, atol=1e-9)


def test_pagerank_and_win_rate_with_weights_near_float_max():
    for f in (rw.pagerank, rw.win_rate, rw.copeland):
        res = f(W, L, weights=[1.7e308] * 6)
        _assert_finite(res)
    assert rw.pagerank(W, L, weights=[1.7e308] * 6).scores.sum() == pytest.approx(1.0)


def test_elo_overflow_is_an_error():
    with pytest.raises(InvalidInputError, match="^weights:"):
        rw.elo(W, L, weights=[1e308] * 6, k=1e10)


# --- 3. fusion and inf --------------------------------------------------------


def _run(scores):
    return rw.Run.from_dict({"1": {f"d{i}": s for i, s in enumerate(scores)}})


@pytest.mark.parametrize("bad", [float("inf"), -float("inf"), float("nan")])
def test_non_finite_scores_are_refused_when_a_run_is_made(tmp_path, bad):
    with pytest.raises(InvalidInputError, match="not a finite number|is NaN"):
        _run([1.0, bad])
    p = tmp_path / "r.trec"
    p.write_text(f"1 Q0 a 1 {bad} t\n1 Q0 b 2 1.0 t\n")
    with pytest.raises(InvalidInputError, match=r"r\.trec, line 1: score .* is not a finite number"):
        rw.read_run(p)
    p.write_text("1 Q0 a 1 1e999 t\n")  # parses to inf
    with pytest.raises(InvalidInputError, match="not a finite number"):
        rw.read_run(p)


@pytest.mark.parametrize("norm", ["min-max", "z-score", "sum", "max", "rank"])
@pytest.mark.parametrize("method", ["combsum", "combmnz", "wsum"])
def test_huge_scores_fuse_to_finite_scores_best_first(tmp_path, norm, method):
    run = _run([1.7e308, -1.7e308, 0.0, 1e20])
    fused = rw.fuse([run, run], method, norm=norm, weights=[1.0, 2.0])
    ranking = fused["1"]
    assert np.all(np.isfinite(ranking.scores)), ranking.scores
    assert list(ranking.docids)[:2] == ["d0", "d3"], "the best document stays first"
    # what write_run writes, read_run reads
    p = tmp_path / "fused.trec"
    rw.write_run(fused, p, tag="t")
    back = rw.read_run(p)
    assert list(back["1"].docids) == list(ranking.docids)


def test_overflowing_fusion_is_an_error_not_inf():
    run = _run([1.7e308, 1.0])
    with pytest.raises(InvalidInputError, match="overflows"):
        rw.fuse([run, run], "combsum", norm="none")


# --- 4. no negative zero ------------------------------------------------------


def _trec_eval_per_query(name: str) -> dict:
    out = {}
    for line in (TREC_EVAL / name).read_text().splitlines():
        measure, qid, value = line.split()
        out[(measure, qid)] = value
    return out


def test_ndcg_per_query_prints_as_trec_eval_prints_it():
    expected = _trec_eval_per_query("out.test.aq")
    qrels = rw.read_qrels(TREC_EVAL / "qrels.test.with-comments")
    run = rw.read_run(TREC_EVAL / "results.test")
    names = {"ndcg": "ndcg", "ndcg_cut.5": "ndcg_cut_5", "ndcg_cut.10": "ndcg_cut_10", "P.5": "P_5"}
    per_query = rw.evaluate(run, qrels, list(names), per_query=True)
    checked = 0
    for qid, values in per_query.items():
        for ours, value in zip(names.values(), values.values()):
            assert f"{value:.4f}" == expected[(ours, qid)], (ours, qid, value)
            checked += 1
    assert checked == 12
    # queries 301 and 303 score 0 at ndcg_cut_5, where trec_eval prints 0.0000 (not -0.0000)
    assert expected[("ndcg_cut_5", "301")] == expected[("ndcg_cut_5", "303")] == "0.0000"
    assert not np.signbit(list(per_query["303"].values())[2])


def test_copeland_never_returns_negative_zero():
    res = rw.copeland([0], [1], n_items=3)
    assert res.scores[2] == 0 and not np.signbit(res.scores[2])
    res = rw.elo([0], [1], k=0.0, initial=-0.0)
    assert not np.any(np.signbit(res.scores))


# --- 5. trec_eval's own files -------------------------------------------------


def test_qrels_with_comments_read_as_trec_eval_reads_them():
    expected = {}
    for line in (TREC_EVAL / "out.test").read_text().splitlines():
        measure, _, value = line.split()
        expected[measure] = value
    qrels = rw.read_qrels(TREC_EVAL / "qrels.test.with-comments")
    assert "CR#93E-1860" in qrels["301"], "a '#' inside a doc id is data"
    run = rw.read_run(TREC_EVAL / "results.test")
    names = {"map": "map", "Rprec": "Rprec", "recip_rank": "recip_rank"}
    names.update({f"P_{k}": f"P_{k}" for k in (5, 10, 15, 20, 30, 100, 200, 500, 1000)})
    means = rw.evaluate(run, qrels, list(names))
    for ours, value in zip(names.values(), means.values()):
        assert f"{value:.4f}" == expected[ours], (ours, value)


def test_run_lines_with_extra_columns_read_as_trec_eval_reads_them():
    expected = _trec_eval_per_query("out.test.aqc")
    qrels = rw.read_qrels(TREC_EVAL / "qrels.test.with-comments")
    with pytest.warns(UserWarning, match="more than six columns") as caught:
        run = rw.read_run(TREC_EVAL / "results.trunc")
    assert len([w for w in caught if "six columns" in str(w.message)]) == 1, "one warning per file"
    names = {"map": "map", "ndcg_cut.10": "ndcg_cut_10", "P.10": "P_10", "recip_rank": "recip_rank"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # query 302 is missing from the truncated run (-c scores it 0)
        per_query = rw.evaluate(run, qrels, list(names), per_query=True, missing="zero")
    assert set(per_query) == {"301", "302", "303"}
    for qid, values in per_query.items():
        for ours, value in zip(names.values(), values.values()):
            assert f"{value:.4f}" == expected[(ours, qid)], (ours, qid, value)


def test_comment_lines_and_a_bom_in_small_files(tmp_path):
    q = tmp_path / "q.txt"
    q.write_text("# judged by hand\n1 0 a 2\n   # indented comment\n1 0 b 0\n", encoding="utf-8")
    assert rw.read_qrels(q)["1"] == {"a": 2, "b": 0}
    r = tmp_path / "r.trec"
    r.write_bytes("\ufeff# comment\n1 Q0 a 1 2.0 t\n\n1 Q0 b 2 1.0 t\n".encode())
    assert list(rw.read_run(r)["1"].docids) == ["a", "b"]


def test_lone_surrogates_in_ids_or_tag_are_invalid_input(tmp_path):
    # found by test_fuzz_kernels: a raw UnicodeEncodeError came out of Run.from_dict and write_run
    with pytest.raises(InvalidInputError, match="^run: .*lone surrogate"):
        rw.Run.from_dict({"1": {"\ud800": 1.0}})
    with pytest.raises(InvalidInputError, match="^qrels: .*lone surrogate"):
        rw.Qrels.from_dict({"\udc00": {"a": 1}})
    with pytest.raises(InvalidInputError, match="^tag: .*lone surrogate"):
        rw.write_run(_run([1.0]), tmp_path / "x.trec", tag="\ud83d")


def test_writer_refuses_what_the_reader_would_skip(tmp_path):
    run = rw.Run.from_dict({"#1": {"a": 1.0}})
    with pytest.raises(InvalidInputError, match="comment"):
        rw.write_run(run, tmp_path / "x.trec", tag="t")


# --- 6. parse_permutation -----------------------------------------------------


def test_parse_permutation_lone_surrogate_does_not_raise():
    p = rw.parse_permutation("[2] > [1] \ud83d", 2)
    assert p.order.tolist() == [1, 0] and p.clean
    p = rw.parse_permutation("\udc00[3]\ud800 > [1]", 3)
    assert p.order.tolist() == [2, 0, 1] and p.parsed == 2


@pytest.mark.parametrize("text", ["", "   ", "[²] > [¹]", "no idea", "\ud83d"])
def test_nothing_parsed_is_not_letters(text):
    p = rw.parse_permutation(text, 3)
    assert p.parsed == 0 and not p.letters
    assert p.order.tolist() == [0, 1, 2]


def test_out_of_range_is_0_based_for_numbers_and_letters():
    assert rw.parse_permutation("[9] > [1]", 2).out_of_range == [8]
    assert rw.parse_permutation("[0] > [1]", 2).out_of_range == [-1]
    assert rw.parse_permutation("[Z] > [A]", 2).out_of_range == [25]
    p = rw.parse_permutation("[2] > [2]", 2)
    assert p.duplicates == [1] and p.missing == [0], "the other fields are 0-based too"


# --- 7. ragged nesting and uint64 ids ----------------------------------------


def test_ragged_ids_name_the_argument():
    with pytest.raises(InvalidInputError, match="^winners: must be a 1-D array"):
        rw.bradley_terry([[0, 1], [2]], [1, 2])
    with pytest.raises(InvalidInputError, match=r"^rankings\[1\]: must be a 1-D array"):
        rw.plackett_luce([[0, 1], [[2, 3], [4]]])


@pytest.mark.parametrize(
    "call, arg",
    [
        (lambda: rw.bradley_terry([0], [1], weights=[[1], [2, 3]]), "weights"),
        (lambda: rw.elo([0, 1], [1, 0], draws=[[True], [False, True]]), "draws"),
        (lambda: rw.kendall_tau([[1], [2, 3]], [1, 2]), "a, b"),
        (lambda: rw.fuse([_run([1.0]), _run([2.0])], "wsum", weights=[[1], [2, 3]]), "weights"),
        (lambda: rw.fuse([_run([1.0]), _run([2.0])], "wsum", weights=["a", "b"]), "weights"),
    ],
)
def test_ragged_or_non_numeric_arrays_name_the_argument(call, arg):
    with pytest.raises(InvalidInputError, match=f"^{arg}: "):
        call()


def test_python_ints_beyond_int64_are_reported_as_given():
    with pytest.raises(InvalidInputError, match=r"^rankings\[0\]: id 1180591620717411303424 is out of range"):
        rw.borda([[0, 2**70]])
    with pytest.raises(InvalidInputError, match=r"^winners: id -1180591620717411303424 is out of range"):
        rw.copeland([-(2**70)], [0])


def test_uint64_ids_above_int64_are_reported_as_given():
    big = np.array([2**63 + 1, 0], dtype=np.uint64)
    with pytest.raises(InvalidInputError, match=r"^rankings\[0\]: id 9223372036854775809 is too large"):
        rw.borda([big])
    with pytest.raises(InvalidInputError, match=r"^rankings: id 9223372036854775809 is too large"):
        rw.borda(big.reshape(1, 2))
    with pytest.raises(InvalidInputError, match="^winners: id 9223372036854775809"):
        rw.win_rate(big, np.array([1, 1], dtype=np.uint64))


# --- 8. docs that were not accurate -------------------------------------------


def test_elo_draw_between_equals_changes_nothing():
    res = rw.elo([0, 1], [1, 0], draws=[True, True])
    assert res.scores.tolist() == [1000.0, 1000.0]
    # the documented difference: two half-weight comparisons are not a draw
    halves = rw.elo([0, 1], [1, 0], weights=[0.5, 0.5])
    assert halves.scores.tolist() != [1000.0, 1000.0]
    with pytest.raises(InvalidInputError, match="^draws:"):
        rw.elo([0, 1], [1, 0], draws=[1, 0])
    with pytest.raises(InvalidInputError, match="^draws:"):
        rw.elo([0, 1], [1, 0], draws=[True])


def test_plackett_luce_refuses_zermelo():
    with pytest.raises(InvalidInputError, match="^method:"):
        rw.plackett_luce([[0, 1]], method="zermelo")  # type: ignore[arg-type]
    assert rw.plackett_luce([[0, 1]], method="mm").converged


def test_readme_names_fusion_methods_as_the_api_does():
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert "`borda` (BordaFuse)" in readme
    run = _run([2.0, 1.0])
    assert rw.fuse([run, run], "borda")["1"].docids[0] == "d0"


def test_borda_scores_that_overflow_are_an_error_not_inf():
    # found by test_fuzz_kernels under hypothesis 6.168: 1.7e308 * 2 points overflowed to inf
    with pytest.raises(rw.InvalidInputError, match="weights"):
        rw.borda([[0, 1, 2]], weights=[1.7e308])
    assert list(rw.borda([[0, 1, 2]], weights=[1e307]).scores) == [2e307, 1e307, 0.0]
