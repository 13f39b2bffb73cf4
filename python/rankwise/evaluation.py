"""Evaluation (trec_eval semantics), Kendall's tau and rank fusion, in Rust."""

from __future__ import annotations

import warnings
from typing import Any, Dict, Literal, Mapping, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

from . import _core
from . import _validate as v
from ._errors import InvalidInputError
from .flops import PETA, qpp, rpp
from .runs import Run, as_qrels, as_run

__all__ = ["evaluate", "kendall_tau", "fuse", "paired_randomization_test", "rpp_qpp"]

DEFAULT_METRICS = ("ndcg@10",)


def evaluate(
    run: Any,
    qrels: Any,
    metrics: Union[str, Sequence[str]] = DEFAULT_METRICS,
    *,
    per_query: bool = False,
    relevance_level: int = 1,
    missing: Literal["zero", "skip"] = "zero",
) -> Union[Dict[str, float], Dict[str, Dict[str, float]]]:
    """Evaluate a run against relevance judgments, exactly as trec_eval does.

    Args:
        run: a :class:`Run`, a list of :class:`Ranking`, or
            ``{qid: {docid: score}}`` (ordered by score, ties by doc id
            descending, as trec_eval orders them).
        qrels: a :class:`Qrels` or ``{qid: {docid: grade}}``.
        metrics: names such as ``"ndcg@10"`` (trec_eval ``ndcg_cut.10``:
            linear gains, ideal from all judged documents), ``"map"``,
            ``"map@100"``, ``"mrr@10"`` (reciprocal rank within the top 10),
            ``"recall@100"``, ``"precision@10"`` (or ``"p@10"``), ``"rprec"``;
            trec_eval/pytrec_eval names (``"ndcg_cut_10"``, ``"recip_rank"``,
            ``"P_10"``) work too. Default ``("ndcg@10",)``.
        per_query: return ``{qid: {metric: value}}`` instead of the means.
        relevance_level: binary metrics (MAP, MRR, recall, precision) count a
            document relevant when its grade is ``>= relevance_level``;
            default 1 as in trec_eval; the TREC DL collections use 2.
        missing: a judged query absent from the run scores 0 (``"zero"``,
            default, trec_eval ``-c``) or is left out (``"skip"``, trec_eval's
            default and pytrec_eval's). Queries of the run without judgments
            are never evaluated; a warning says how many were left out.

    Returns:
        ``{metric: mean}``, or ``{qid: {metric: value}}`` with ``per_query``.
        Metric keys are canonical rankwise names (``"ndcg@10"``).
    """
    names = [metrics] if isinstance(metrics, str) else [str(m) for m in metrics]
    if not names:
        raise InvalidInputError("metrics: no metrics given")
    if isinstance(relevance_level, bool) or not isinstance(relevance_level, (int, np.integer)):
        raise InvalidInputError(f"relevance_level: must be an integer, got {relevance_level!r}")
    if not 1 <= relevance_level < 2**31:
        raise InvalidInputError(
            f"relevance_level: must be >= 1 (unjudged documents have grade 0), got {relevance_level}"
        )
    r, q = as_run(run), as_qrels(qrels)
    qids, keys, values, unjudged, absent = _core.evaluate(r._data, q._data, names, int(relevance_level), missing)
    if unjudged:
        warnings.warn(f"evaluate: {unjudged} run queries have no judgments and were not evaluated", stacklevel=2)
    if absent and missing == "zero":
        warnings.warn(f"evaluate: {absent} judged queries are missing from the run and score 0", stacklevel=2)
    table = values.reshape(len(qids), len(keys))
    if per_query:
        return {qid: dict(zip(keys, row.tolist())) for qid, row in zip(qids, table)}
    return dict(zip(keys, table.mean(axis=0).tolist()))


def rpp_qpp(metric: Mapping[str, float], flops: Mapping[str, float]) -> Dict[str, float]:
    """RPP and QPP of a run, as E2R-FLOPs defines them (Peng et al. 2025).

    RPP, ranking metric per PetaFLOP: the mean over queries of
    ``m(q) / (C_q / 1e15)``; QPP, queries per PetaFLOP: ``1e15 / mean(C_q)``
    (:func:`rankwise.flops.rpp`, :func:`rankwise.flops.qpp`).

    Args:
        metric: ``{qid: value}`` of one metric per query (a column of
            ``evaluate(..., per_query=True)``).
        flops: ``{qid: FLOPs}``, e.g. each ranking's ``spend["flops"]`` or the
            ``flops`` of the CLI's spend file; every query of ``metric`` needs one > 0.

    Returns:
        ``{"rpp": ..., "qpp": ..., "pflops": mean PetaFLOPs per query, "queries": n}``.
    """
    if not metric:
        raise InvalidInputError("metric: no queries")
    qids = list(metric)
    missing = [q for q in qids if not (q in flops and float(flops[q]) > 0)]
    if missing:
        raise InvalidInputError(
            f"flops: {len(missing)} of {len(qids)} queries have no FLOPs count > 0 (first: {missing[0]!r}); "
            "RPP and QPP need a scorer that reports FLOPs"
        )
    m = [float(metric[q]) for q in qids]
    c = [float(flops[q]) for q in qids]
    return {"rpp": rpp(m, c), "qpp": qpp(len(c), c), "pflops": sum(c) / len(c) / PETA, "queries": float(len(c))}


def kendall_tau(a: npt.ArrayLike, b: npt.ArrayLike, *, kind: Literal["auto", "scores", "rankings"] = "auto") -> float:
    """Kendall's tau-b between two score vectors or two rankings, O(n log n).

    Args:
        a, b: with ``kind="scores"``, two score vectors over the same items
            (higher is better; ties allowed, as in scipy's ``kendalltau``);
            with ``kind="rankings"``, two sequences of the same distinct ids,
            best first. ``"auto"`` (default) reads numbers as scores and
            strings as rankings: pass ``kind="rankings"`` for integer ids.

    Returns:
        tau-b in [-1, 1]; NaN when either side is constant.
    """
    if kind not in ("auto", "scores", "rankings"):
        raise InvalidInputError(f"kind: expected 'auto', 'scores' or 'rankings', got {kind!r}")
    try:
        xa, xb = np.asarray(a), np.asarray(b)
    except (ValueError, TypeError) as e:  # ragged nesting
        raise InvalidInputError(f"a, b: must be 1-D arrays ({e})") from None
    if xa.ndim != 1 or xb.ndim != 1:
        raise InvalidInputError(f"a, b: must be 1-D, got shapes {xa.shape} and {xb.shape}")
    numeric = xa.dtype.kind in "iufb" and xb.dtype.kind in "iufb"
    if kind == "scores" and not numeric:
        raise InvalidInputError("a, b: kind='scores' needs numeric arrays")
    if kind == "scores" or (kind == "auto" and numeric):
        fa, fb = xa.astype(np.float64), xb.astype(np.float64)
    else:
        # two rankings of the same ids: compare positions
        la, lb = xa.tolist(), xb.tolist()
        if len(set(la)) != len(la) or len(set(lb)) != len(lb):
            raise InvalidInputError("a, b: rankings must not repeat an id")
        if set(la) != set(lb):
            raise InvalidInputError("a, b: rankings must contain the same ids")
        pos = {x: i for i, x in enumerate(lb)}
        fa = -np.arange(len(la), dtype=np.float64)
        fb = -np.array([pos[x] for x in la], dtype=np.float64)
    return float(_core.kendall_tau(np.ascontiguousarray(fa), np.ascontiguousarray(fb)))


def fuse(
    runs: Sequence[Any],
    method: Literal["rrf", "isr", "borda", "combsum", "combmnz", "wsum"] = "rrf",
    *,
    k: float = 60.0,
    weights: Optional[Sequence[float]] = None,
    norm: Optional[Literal["none", "min-max", "z-score", "sum", "max", "rank"]] = None,
) -> Run:
    """Fuse several runs into one, query by query (ranx's definitions).

    Args:
        runs: :class:`Run` objects, lists of :class:`Ranking`, ``{qid: (doc
            ids, scores)}`` with numpy arrays, or ``{qid: {docid: score}}``.
        method: ``"rrf"`` (reciprocal rank fusion, ``sum 1/(k + rank)``),
            ``"isr"`` (``n(d) * sum 1/rank^2``), ``"borda"`` (BordaFuse),
            ``"combsum"``, ``"combmnz"`` (CombSum times the number of runs
            that retrieved the document), ``"wsum"`` (weighted CombSum).
        k: the RRF constant, default 60.
        weights: one weight per run, default 1 each.
        norm: score normalisation before score-based methods: ``"min-max"``
            (default for combsum/combmnz/wsum), ``"z-score"``, ``"sum"``,
            ``"max"``, ``"rank"`` or ``"none"``. Rank-based methods ignore it.

    Returns:
        The fused :class:`Run`, each query ordered by fused score.
    """
    if isinstance(runs, (Run, dict)) or not runs:
        raise InvalidInputError("runs: expected a non-empty list of runs")
    if method == "wsum" and weights is None:
        raise InvalidInputError("weights: method 'wsum' needs weights")
    rs = [as_run(r, f"runs[{i}]") for i, r in enumerate(runs)]
    wa = v.weights(weights, "weights")
    w = None if wa is None else wa.tolist()
    return Run(_core.fuse([r._data for r in rs], str(method), float(k), w, norm or "min-max"))


def paired_randomization_test(
    a: npt.ArrayLike, b: npt.ArrayLike, *, permutations: int = 10_000, seed: int = 0
) -> float:
    """Two-sided paired randomization (permutation) test of the mean
    difference between two systems' per-query scores (Smucker, Allan and
    Carterette, CIKM 2007; Fisher's sign-flip test).

    Under the null hypothesis the two systems are exchangeable on each query,
    so the sign of each per-query difference ``a[i] - b[i]`` is flipped at
    random, ``permutations`` times; the p-value is the share of those means
    at least as far from zero as the observed one, counting the observed
    assignment itself (``(hits + 1) / (permutations + 1)``, never 0).

    Args:
        a, b: per-query scores of the two systems, over the same queries in
            the same order (1-D, finite).
        permutations: random sign assignments drawn, default 10,000 (the
            p-value's resolution is about ``1 / permutations``).
        seed: the random generator's seed, default 0: the same inputs give
            the same p-value.

    Returns:
        The p-value in (0, 1]; 1.0 when every difference is 0 (or there are
        no queries).
    """
    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if xa.ndim != 1 or xa.shape != xb.shape:
        raise InvalidInputError(f"a, b: must be 1-D of the same length, got shapes {xa.shape} and {xb.shape}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(xb))):
        raise InvalidInputError("a, b: scores must be finite")
    if (
        isinstance(permutations, bool)
        or not isinstance(permutations, (int, np.integer))
        or not 1 <= permutations <= 10**8
    ):
        raise InvalidInputError(f"permutations: must be an integer in [1, 1e8], got {permutations!r}")
    d = xa - xb
    if not d.size or not np.any(d):
        return 1.0
    rng = np.random.default_rng(seed)
    observed = abs(d.mean())
    hits = 0
    chunk = max(1, min(int(permutations), 2**22 // d.size))  # bounded memory: about 32 MB of signs at a time
    left = int(permutations)
    while left:
        k = min(chunk, left)
        signs = rng.choice([-1.0, 1.0], size=(k, d.size))
        hits += int(np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12 * max(1.0, observed)))
        left -= k
    return float((hits + 1) / (int(permutations) + 1))
