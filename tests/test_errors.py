"""Bad input raises rankwise.InvalidInputError (a ValueError and a
RankwiseError) whose message names the offending argument.

The cases run in-process; one slow test runs them again in a child
interpreter and checks that it exits normally (no Rust panic turned abort,
no segfault), and two run big inputs under a memory cap in a child.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import rankwise
import reference

W, L = [0, 1, 2], [1, 2, 0]
RANKINGS = [[0, 1, 2], [2, 1]]

PAIR_FUNCS = {
    "bradley_terry": rankwise.bradley_terry,
    "pagerank": rankwise.pagerank,
    "win_rate": rankwise.win_rate,
    "copeland": rankwise.copeland,
    "elo": rankwise.elo,
}
RANKING_FUNCS = {
    "plackett_luce": rankwise.plackett_luce,
    "borda": rankwise.borda,
}


def check_invalid(call, arg):
    """``call()`` raises InvalidInputError naming ``arg`` at the start of its
    message (``arg`` is a plain name such as ``"weights"``; a message that
    starts ``"rankings[3]: ..."`` names ``"rankings"``)."""
    with pytest.raises(rankwise.InvalidInputError) as excinfo:
        call()
    e = excinfo.value
    assert type(e) is rankwise.InvalidInputError
    assert isinstance(e, ValueError)
    assert isinstance(e, rankwise.RankwiseError)
    msg = str(e)
    assert re.match(rf"{re.escape(arg)}(\[\d+\])?: ", msg), f"message should start with {arg!r}: {msg!r}"
    return msg


def test_exception_hierarchy():
    assert issubclass(rankwise.InvalidInputError, ValueError)
    assert issubclass(rankwise.InvalidInputError, rankwise.RankwiseError)
    assert issubclass(rankwise.EstimationError, ValueError)
    assert issubclass(rankwise.EstimationError, rankwise.RankwiseError)
    assert issubclass(rankwise.RankwiseError, Exception)
    assert issubclass(rankwise.ConvergenceWarning, UserWarning)
    assert not issubclass(rankwise.EstimationError, rankwise.InvalidInputError)


# ---------------------------------------------------------------------------
# comparison arrays, for every comparison-based aggregator
# ---------------------------------------------------------------------------


@pytest.fixture(params=sorted(PAIR_FUNCS))
def pair_func(request):
    return PAIR_FUNCS[request.param]


def test_different_lengths(pair_func):
    msg = check_invalid(lambda: pair_func([0, 1, 2], [1, 2]), "losers")
    assert "length" in msg


def test_empty_input(pair_func):
    msg = check_invalid(lambda: pair_func([], []), "winners")
    assert "empty" in msg
    check_invalid(lambda: pair_func(np.array([], dtype=np.int64), np.array([], dtype=np.int64)), "winners")


@pytest.mark.parametrize("which", ["winners", "losers"])
def test_ids_out_of_range(pair_func, which):
    w, l = [0, 1, 5], [1, 2, 0]
    if which == "losers":
        w, l = l, w
    msg = check_invalid(lambda: pair_func(w, l, n_items=3), which)
    assert "5" in msg


@pytest.mark.parametrize("which", ["winners", "losers"])
def test_negative_ids(pair_func, which):
    w, l = [0, -1, 2], [1, 2, 0]
    if which == "losers":
        w, l = l, w
    check_invalid(lambda: pair_func(w, l), which)
    check_invalid(lambda: pair_func(w, l, n_items=3), which)
    check_invalid(lambda: pair_func([-1], [-2]), "winners")


def test_n_items_smaller_than_an_id(pair_func):
    msg = check_invalid(lambda: pair_func(W, L, n_items=2), "winners")
    assert "n_items=2" in msg


def test_n_items_zero(pair_func):
    check_invalid(lambda: pair_func(W, L, n_items=0), "winners")


@pytest.mark.parametrize("n_items", [-1, 2.0, "3", True, [3]])
def test_bad_n_items_type_or_sign(pair_func, n_items):
    check_invalid(lambda: pair_func(W, L, n_items=n_items), "n_items")


def test_n_items_too_large(pair_func):
    check_invalid(lambda: pair_func(W, L, n_items=2**33), "n_items")


def test_n_items_beyond_int64(pair_func):
    # an absurd n_items is bad input like any other: InvalidInputError, not
    # a bare OverflowError from the binding layer
    check_invalid(lambda: pair_func(W, L, n_items=2**70), "n_items")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1.0, -1e-300])
def test_bad_weight_values(pair_func, bad):
    msg = check_invalid(lambda: pair_func(W, L, weights=[1.0, bad, 1.0]), "weights")
    assert "weights[1]" in msg


@pytest.mark.parametrize("weights", [[1.0, 1.0], [1.0, 1.0, 1.0, 1.0], []])
def test_wrong_weights_length(pair_func, weights):
    msg = check_invalid(lambda: pair_func(W, L, weights=weights), "weights")
    assert "length" in msg


@pytest.mark.parametrize(
    "weights",
    [
        [[1.0, 1.0, 1.0]],  # 2-D
        ["a", "b", "c"],
        [1 + 1j, 1, 1],
        np.array([True, False, True]),
        2.0,  # a scalar
    ],
)
def test_bad_weights_type_or_shape(pair_func, weights):
    check_invalid(lambda: pair_func(W, L, weights=weights), "weights")


@pytest.mark.parametrize("w,l", [([0, 1, 1], [1, 1, 0]), ([3], [3])])
def test_self_comparison(pair_func, w, l):
    msg = check_invalid(lambda: pair_func(w, l), "losers")
    assert "itself" in msg


@pytest.mark.parametrize(
    "ids",
    [
        np.array([0.0, 1.0, 2.0]),
        [0.0, 1.0, 2.0],
        [0, 1.5, 2],
        np.array([True, False, True]),
        ["0", "1", "2"],
        [0, None, 2],
        np.array([0, 1, 2], dtype=np.complex128),
    ],
)
@pytest.mark.parametrize("which", ["winners", "losers"])
def test_non_integer_ids(pair_func, ids, which):
    other = [1, 2, 0]
    w, l = (ids, other) if which == "winners" else (other, ids)
    check_invalid(lambda: pair_func(w, l), which)


@pytest.mark.parametrize("ids", [np.array([[0, 1, 2]]), [[0, 1], [2, 0]], 5, np.zeros((1, 1, 3), dtype=int)])
@pytest.mark.parametrize("which", ["winners", "losers"])
def test_non_1d_ids(pair_func, ids, which):
    other = [1, 2, 0]
    w, l = (ids, other) if which == "winners" else (other, ids)
    check_invalid(lambda: pair_func(w, l), which)


def test_uint64_ids_beyond_int64(pair_func):
    big = np.array([0, 2**63 + 5], dtype=np.uint64)
    check_invalid(lambda: pair_func(big, np.array([1, 0], dtype=np.uint64)), "winners")


# ---------------------------------------------------------------------------
# rankings, for every ranking-based function
# ---------------------------------------------------------------------------

RANKING_CALLS = dict(RANKING_FUNCS, comparisons_from_rankings=rankwise.comparisons_from_rankings)


@pytest.fixture(params=sorted(RANKING_CALLS))
def ranking_func(request):
    return RANKING_CALLS[request.param]


@pytest.mark.parametrize(
    "rankings",
    [
        [[0, 1, 0]],
        [[0, 1, 2], [3, 2, 3]],
        np.array([[0, 1, 1], [0, 1, 2]]),
    ],
)
def test_ranking_with_repeated_id(ranking_func, rankings):
    msg = check_invalid(lambda: ranking_func(rankings), "rankings")
    assert "more than once" in msg


@pytest.mark.parametrize("rankings", [[], (), np.zeros((0, 3), dtype=np.int64)])
def test_empty_rankings(ranking_func, rankings):
    msg = check_invalid(lambda: ranking_func(rankings), "rankings")
    assert "empty" in msg


@pytest.mark.parametrize(
    "rankings",
    [
        [[0, 1.5, 2]],
        [[0, 1], [1.0, 0.0]],
        [["a", "b"]],
        [[0, None]],
        [[True, False]],
        np.array([[0.0, 1.0], [1.0, 0.0]]),
        np.array([[True, False]]),
    ],
)
def test_non_integer_ranking_entries(ranking_func, rankings):
    check_invalid(lambda: ranking_func(rankings), "rankings")


@pytest.mark.parametrize(
    "rankings",
    ["abc", b"abc", 5, 2.5, None, np.zeros((2, 2, 2), dtype=np.int64), [[[0, 1]]], [0, 1, 2]],
)
def test_malformed_rankings(ranking_func, rankings):
    check_invalid(lambda: ranking_func(rankings), "rankings")


@pytest.mark.parametrize("rankings", [[[0, -1, 2]], [[0, 1], [2, -3]]])
def test_negative_ids_in_rankings(ranking_func, rankings):
    check_invalid(lambda: ranking_func(rankings), "rankings")


@pytest.fixture(params=sorted(RANKING_FUNCS))
def ranking_agg(request):
    return RANKING_FUNCS[request.param]


def test_ranking_id_out_of_range(ranking_agg):
    msg = check_invalid(lambda: ranking_agg([[0, 1], [2, 3]], n_items=3), "rankings")
    assert "3" in msg


@pytest.mark.parametrize("weights", [[1.0], [1.0, 2.0, 3.0], [[1.0, 1.0]], [1.0, np.nan], [1.0, -2.0], [np.inf, 1]])
def test_bad_ranking_weights(ranking_agg, weights):
    check_invalid(lambda: ranking_agg(RANKINGS, weights=weights), "weights")


@pytest.mark.parametrize("n_items", [-1, 1.5, True, 2**33, 2**70])
def test_bad_ranking_n_items(ranking_agg, n_items):
    check_invalid(lambda: ranking_agg(RANKINGS, n_items=n_items), "n_items")


# ---------------------------------------------------------------------------
# method and numeric parameters
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["bogus", "Newman", "", 3, None])
def test_bad_method_bradley_terry(method):
    msg = check_invalid(lambda: rankwise.bradley_terry(W, L, method=method), "method")
    assert "newman" in msg


@pytest.mark.parametrize("method", ["bogus", "MM", "", 3, None])
def test_bad_method_plackett_luce(method):
    msg = check_invalid(lambda: rankwise.plackett_luce(RANKINGS, method=method), "method")
    assert "newman" in msg


def test_plackett_luce_bad_method_message_lists_its_own_methods():
    # plackett_luce documents method="newman" or "mm"; the error should
    # suggest those, not bradley_terry's "zermelo"
    msg = check_invalid(lambda: rankwise.plackett_luce(RANKINGS, method="bogus"), "method")
    assert '"mm"' in msg or "'mm'" in msg, msg


ITERATIVE = {
    "bradley_terry": lambda **kw: rankwise.bradley_terry(W, L, **kw),
    "bradley_terry/zermelo": lambda **kw: rankwise.bradley_terry(W, L, method="zermelo", **kw),
    "plackett_luce": lambda **kw: rankwise.plackett_luce(RANKINGS, **kw),
    "plackett_luce/mm": lambda **kw: rankwise.plackett_luce(RANKINGS, method="mm", **kw),
    "pagerank": lambda **kw: rankwise.pagerank(W, L, **kw),
}


@pytest.fixture(params=sorted(ITERATIVE))
def iterative(request):
    return ITERATIVE[request.param]


@pytest.mark.parametrize("tol", [0, 0.0, -1e-8, np.nan, np.inf, -np.inf])
def test_bad_tol(iterative, tol):
    check_invalid(lambda: iterative(tol=tol), "tol")


@pytest.mark.parametrize("tol", ["1e-8", None, True, [1e-8]])
def test_tol_wrong_type(iterative, tol):
    check_invalid(lambda: iterative(tol=tol), "tol")


@pytest.mark.parametrize("max_iter", [0, -5, True, False, 2.0, 1.5, "10", None])
def test_bad_max_iter(iterative, max_iter):
    check_invalid(lambda: iterative(max_iter=max_iter), "max_iter")


def test_huge_max_iter_is_not_an_overflow_error(iterative):
    # a max_iter that does not fit the binding's integer type must either
    # work (it only bounds the sweeps) or be reported as bad input, not leak
    # a bare OverflowError
    try:
        res = iterative(max_iter=2**70)
    except rankwise.InvalidInputError as e:
        assert str(e).startswith("max_iter"), str(e)
    else:
        assert res.converged


@pytest.mark.parametrize("max_iter", [np.int64(500), np.uint16(500), 500])
def test_max_iter_accepts_integers(iterative, max_iter):
    res = iterative(max_iter=max_iter)
    assert res.converged and res.iterations <= 500


@pytest.mark.parametrize("prior", [-1.0, -1e-12, np.nan, np.inf, True, "1", None])
@pytest.mark.parametrize(
    "func",
    [
        lambda prior: rankwise.bradley_terry(W, L, prior=prior),
        lambda prior: rankwise.bradley_terry(W, L, prior=prior, method="zermelo"),
        lambda prior: rankwise.plackett_luce(RANKINGS, prior=prior),
        lambda prior: rankwise.plackett_luce(RANKINGS, prior=prior, method="mm"),
    ],
)
def test_bad_prior(func, prior):
    check_invalid(lambda: func(prior), "prior")


@pytest.mark.parametrize("damping", [1.0, 1.5, -0.01, -1.0, np.nan, np.inf, True, "0.85", None])
def test_bad_damping(damping):
    check_invalid(lambda: rankwise.pagerank(W, L, damping=damping), "damping")


@pytest.mark.parametrize("damping", [0.0, 0.5, 0.999999])
def test_good_damping(damping):
    # the edges of the valid range give the dense power iteration's answer (0 gives the uniform vector)
    w, l = [0, 0, 1, 3], [1, 2, 2, 0]
    res = rankwise.pagerank(w, l, damping=damping)
    assert res.converged
    np.testing.assert_allclose(res.scores, reference.pagerank(w, l, 4, damping=damping), rtol=1e-6, atol=1e-9)
    if damping == 0.0:
        assert res.scores.tolist() == [0.25] * 4


@pytest.mark.parametrize(
    "kwargs,arg",
    [
        (dict(k=-1.0), "k"),
        (dict(k=-1e-9), "k"),
        (dict(k=np.nan), "k"),
        (dict(k=np.inf), "k"),
        (dict(k="4"), "k"),
        (dict(base=1.0), "base"),
        (dict(base=0.5), "base"),
        (dict(base=0.0), "base"),
        (dict(base=-10.0), "base"),
        (dict(base=np.inf), "base"),
        (dict(base=np.nan), "base"),
        (dict(scale=0.0), "scale"),
        (dict(scale=-400.0), "scale"),
        (dict(scale=np.nan), "scale"),
        (dict(initial=np.inf), "initial"),
        (dict(initial=np.nan), "initial"),
        (dict(initial=None), "initial"),
    ],
)
def test_bad_elo_parameters(kwargs, arg):
    check_invalid(lambda: rankwise.elo(W, L, **kwargs), arg)


def test_elo_k_zero_is_allowed():
    res = rankwise.elo(W, L, k=0.0)
    assert np.all(res.scores == 1000.0)


# --- what the in-process cases above cannot show -----------------------------


def _run_capped(code: str, headroom_mb: int = 64) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter whose address space is capped at what
    it has mapped after ``import rankwise`` plus ``headroom_mb``."""
    prelude = textwrap.dedent(f"""
        import resource, re
        import numpy as np
        import rankwise
        vm = int(re.search(r"VmSize:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
        cap = vm + {headroom_mb} * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    """)
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUST_BACKTRACE": "0", "RANKWISE_NUM_THREADS": "1"},
    )


# 50 million items need ~200 MB per score vector: more than the cap allows.
_BIG = 50_000_000


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to size the memory cap")
@pytest.mark.parametrize(
    "call,arg",
    [
        (f"rankwise.bradley_terry([0], [1], n_items={_BIG}, tol=-1)", "tol"),
        (f"rankwise.pagerank([0], [1], n_items={_BIG}, damping=2.0)", "damping"),
        (f"rankwise.plackett_luce([[0, 1]], n_items={_BIG}, prior=-1.0)", "prior"),
        (f"rankwise.plackett_luce([[0, 1]], n_items={_BIG}, tol=0.0)", "tol"),
    ],
)
def test_validation_happens_before_any_work(call, arg):
    # Under a memory cap that the work would exceed, only a check made before the work can report
    # the bad parameter: a late check dies in the allocation (an abort or a MemoryError) instead.
    proc = _run_capped(
        f"""
        try:
            {call}
        except rankwise.InvalidInputError as e:
            print("raised:", e)
        """
    )
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-2000:]}"
    assert proc.stdout.startswith(f"raised: {arg}: "), proc.stdout


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to size the memory cap")
def test_running_out_of_memory_raises_instead_of_aborting():
    proc = _run_capped(
        f"""
        try:
            rankwise.bradley_terry([0], [1], n_items={_BIG})
        except MemoryError as e:
            print("raised MemoryError")
        """
    )
    assert proc.returncode == 0, f"rc={proc.returncode}\n{proc.stderr[-2000:]}"
    assert proc.stdout.strip() == "raised MemoryError"


@pytest.mark.slow
def test_no_case_of_this_module_kills_the_interpreter():
    # The cases above run in one process; had one aborted it (a panic turned abort, a segfault), the
    # run would end with no verdict on the rest. Run them all in a child and read its exit status.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not slow",
            "-k",
            "not capped and not before_any_work and not instead_of_aborting",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parent,
    )
    assert proc.returncode == 0, (
        f"child pytest exited with {proc.returncode}:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    )
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) > 500, proc.stdout[-2000:]


# --- guards against inputs that would exhaust memory or overflow ------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: rankwise.bradley_terry([0], [1], n_items=4_000_000_000),
        lambda: rankwise.bradley_terry([0], [4_000_000_000]),
        lambda: rankwise.pagerank([4_000_000_000], [0]),
        lambda: rankwise.plackett_luce([[0, 4_000_000_000]]),
        lambda: rankwise.borda(np.array([[0, 4_000_000_000]])),
    ],
)
def test_sizes_beyond_memory_are_refused_not_attempted(call):
    with pytest.raises(rankwise.InvalidInputError, match="memory"):
        call()


def test_win_rate_with_weights_near_float_max():
    res = rankwise.win_rate([0, 1], [1, 0], weights=[1e308, 1e308])
    assert res.scores.tolist() == [0.5, 0.5]
