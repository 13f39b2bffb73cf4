"""Figures of evaluation results, as IR papers draw them (``rankwise plot``).

* :func:`per_query_figure`: a metric per query for one or more runs. With a
  ``baseline``, the per-query differences of each run against it, sorted
  (the figure IR papers use), with the mean difference and its p-value from
  the paired randomization test (:func:`~rankwise.evaluation.paired_randomization_test`).
  Up to ``max_bars`` queries (default 100) it draws one bar per query, named;
  above, a sorted-difference curve and a histogram (or, without a baseline,
  each run's sorted per-query values and their distribution), so 7,000
  queries give the same fixed-size figure as 70.
* :func:`cost_figure`: the mean metric against the mean scorer calls per
  query, one point per run, with the Pareto front (no other run is both
  cheaper and better) and the baseline as a line; fixed size, plain-number
  ticks.

Runs are named as a paper would: :func:`run_label` drops the directory and
the ``.trec``/``.run``/``.txt`` suffix. Needs matplotlib (``pip install
'rankwise[plot]'``); the figures are returned, not shown, and drawn with the
non-interactive Agg backend when no backend is chosen.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from ._errors import InvalidInputError
from .evaluation import paired_randomization_test

__all__ = ["run_label", "run_labels", "per_query_figure", "cost_figure", "pareto_front"]

PathLike = Union[str, "os.PathLike[str]"]

_SUFFIXES = (".gz", ".trec", ".run", ".txt", ".tsv", ".res")
#: the widest figure, in inches (at the CLI's 130 dpi: about 2,100 pixels)
MAX_WIDTH = 16.0


def run_label(path: PathLike) -> str:
    """A run's name for titles and legends: the file name without its directory
    and without ``.trec``, ``.run``, ``.txt``, ``.tsv``, ``.res`` (or ``.gz``)."""
    name = Path(path).name
    changed = True
    while changed:
        changed = False
        for s in _SUFFIXES:
            if name.lower().endswith(s) and len(name) > len(s):
                name, changed = name[: -len(s)], True
    return name


def run_labels(paths: Sequence[PathLike]) -> List[str]:
    """:func:`run_label` of each path; where two would read the same, their
    parent directories are kept to tell them apart."""
    short = [run_label(p) for p in paths]
    return [str(Path(os.fspath(p)).parent / lab) if short.count(lab) > 1 else lab for p, lab in zip(paths, short)]


def _pyplot() -> Any:
    try:
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InvalidInputError("plotting needs matplotlib: pip install 'rankwise[plot]'") from None
    return plt


def _check_values(values: Mapping[str, Mapping[str, float]], what: str) -> Dict[str, Dict[str, float]]:
    if not values:
        raise InvalidInputError(f"{what}: no runs to plot")
    out: Dict[str, Dict[str, float]] = {}
    for name, per in values.items():
        vals = {str(q): float(v) for q, v in per.items()}
        if not vals:
            raise InvalidInputError(f"{what}: run {name!r} has no evaluated query")
        bad = [q for q, v in vals.items() if not math.isfinite(v)]
        if bad:
            raise InvalidInputError(f"{what}: run {name!r} has a non-finite value for query {bad[0]!r}")
        out[str(name)] = vals
    return out


def _difference_summary(diff: np.ndarray, a: np.ndarray, b: np.ndarray) -> str:
    p = paired_randomization_test(a, b)
    wins, losses = int(np.sum(diff > 0)), int(np.sum(diff < 0))
    star = " *" if p < 0.05 else ""
    return (
        f"mean \u0394 {float(diff.mean()):+.4f}, p = {p:.4f}{star} (paired randomization, {diff.size} queries); "
        f"better on {wins}, worse on {losses}, tied on {diff.size - wins - losses}"
    )


def per_query_figure(
    values: Mapping[str, Mapping[str, float]],
    metric: str,
    *,
    baseline: Optional[str] = None,
    max_bars: int = 100,
) -> Any:
    """A metric per query.

    Args:
        values: ``{run name: {qid: metric value}}``, in legend order (names as
            :func:`run_label` gives them).
        metric: the metric's name, for the axis and title.
        baseline: the name of the run (a key of ``values``) to compare the
            others against; each other run gets a panel of per-query
            differences (run minus baseline, over the queries both hold),
            sorted, with the mean difference, its p-value (paired
            randomization test, 10,000 sign flips) and wins/losses. Default
            None: the values themselves.
        max_bars: up to this many queries, one bar per query with its id
            (default 100); above, sorted curves and distributions.

    Returns:
        A matplotlib ``Figure`` of fixed height and at most 16 inches wide.
    """
    vals = _check_values(values, "values")
    if isinstance(max_bars, bool) or not isinstance(max_bars, int) or max_bars < 1:
        raise InvalidInputError(f"max_bars: must be a positive integer, got {max_bars!r}")
    plt = _pyplot()
    if baseline is not None:
        if baseline not in vals:
            raise InvalidInputError(f"baseline: {baseline!r} is not one of the runs ({', '.join(vals)})")
        others = [n for n in vals if n != baseline]
        if not others:
            raise InvalidInputError("baseline: there is no other run to compare with the baseline")
        n_max = max(len(set(vals[n]) & set(vals[baseline])) for n in others)
        bars = n_max <= max_bars
        width = min(MAX_WIDTH, max(7.0, 0.13 * n_max + 3.0)) if bars else 12.0
        fig, axes = plt.subplots(
            len(others),
            1 if bars else 2,
            figsize=(width, 3.6 * len(others) + 0.6),
            squeeze=False,
            gridspec_kw=None if bars else {"width_ratios": [3, 1]},
        )
        for row, name in enumerate(others):
            common = sorted(set(vals[name]) & set(vals[baseline]))
            if not common:
                raise InvalidInputError(f"values: runs {name!r} and {baseline!r} have no query in common")
            b = np.array([vals[baseline][q] for q in common])
            a = np.array([vals[name][q] for q in common])
            diff = a - b
            order = np.argsort(-diff, kind="stable")
            ax = axes[row][0]
            colors = np.where(diff[order] > 0, "tab:green", np.where(diff[order] < 0, "tab:red", "tab:gray"))
            if bars:
                ax.bar(np.arange(len(common)), diff[order], 0.8, color=colors)
                ax.set_xticks(np.arange(len(common)))
                ax.set_xticklabels([common[i] for i in order], rotation=90, fontsize=6 if len(common) > 40 else 8)
                ax.set_xlim(-0.6, len(common) - 0.4)
                ax.set_xlabel("query (sorted by difference)")
            else:
                x = (np.arange(len(common)) + 0.5) / len(common) * 100.0
                d = diff[order]
                ax.fill_between(x, d, 0, where=d > 0, color="tab:green", alpha=0.6, step="mid", linewidth=0)
                ax.fill_between(x, d, 0, where=d < 0, color="tab:red", alpha=0.6, step="mid", linewidth=0)
                ax.plot(x, d, color="black", linewidth=0.6)
                ax.set_xlim(0, 100)
                ax.set_xlabel(f"queries, sorted by difference (% of {len(common)})")
                hist = axes[row][1]
                hist.hist(diff, bins=min(60, max(10, int(math.sqrt(len(common))))), color="tab:blue", alpha=0.8)
                hist.axvline(0.0, color="black", linewidth=0.8)
                hist.axvline(float(diff.mean()), color="tab:orange", linewidth=1.2, label="mean")
                hist.set_xlabel(f"\u0394 {metric}")
                hist.set_ylabel("queries")
                hist.legend(fontsize=8)
            ax.axhline(0.0, color="black", linewidth=0.8)
            ax.set_ylabel(f"\u0394 {metric}")
            ax.set_title(f"{name} vs {baseline}: {metric} per query\n{_difference_summary(diff, a, b)}", fontsize=9)
        fig.tight_layout()
        return fig
    names = list(vals)
    first = vals[names[0]]
    n = len(first)
    if n <= max_bars:
        order_q = sorted(first, key=lambda q: -first[q])
        fig, ax = plt.subplots(figsize=(min(MAX_WIDTH, max(7.0, 0.13 * n * len(names) + 3.0)), 4.8))
        width = 0.8 / len(names)
        for k, name in enumerate(names):
            ys = [vals[name].get(q, np.nan) for q in order_q]
            ax.bar(
                np.arange(n) + k * width,
                ys,
                width,
                label=f"{name} (mean {np.mean(list(vals[name].values())):.4f})",
            )
        ax.set_xticks(np.arange(n) + 0.4 - width / 2)
        ax.set_xticklabels(order_q, rotation=90, fontsize=6 if n > 40 else 8)
        ax.set_xlim(-0.6, n)
        ax.set_xlabel(f"query (sorted by {names[0]})")
        ax.set_ylabel(metric)
        ax.legend(fontsize=8)
        ax.set_title(f"{metric} per query" + (f" of {len(names)} runs" if len(names) > 1 else f": {names[0]}"))
        fig.tight_layout()
        return fig
    fig, (ax, box) = plt.subplots(1, 2, figsize=(12.0, 4.8), gridspec_kw={"width_ratios": [3, 1]})
    for name in names:
        desc = np.sort(np.array(list(vals[name].values())))[::-1]
        x = (np.arange(desc.size) + 0.5) / desc.size * 100.0
        ax.plot(x, desc, linewidth=1.2, label=f"{name} (mean {desc.mean():.4f}, {desc.size} queries)")
    ax.set_xlim(0, 100)
    ax.set_xlabel("queries, sorted by the run's own value (%)")
    ax.set_ylabel(metric)
    ax.legend(fontsize=8)
    ax.set_title(f"{metric} per query, sorted", fontsize=10)
    box.boxplot([list(vals[name].values()) for name in names], showmeans=True)
    box.set_xticks(np.arange(1, len(names) + 1))
    box.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    box.set_ylabel(metric)
    box.set_title("distribution", fontsize=10)
    fig.tight_layout()
    return fig


def pareto_front(points: Mapping[str, Tuple[float, float]]) -> List[str]:
    """The runs on the cost/quality Pareto front, cheapest first: those that no
    other run beats on both counts (as cheap or cheaper and strictly better,
    or cheaper and as good). ``points``: ``{name: (mean calls, mean metric)}``."""
    items = sorted(points.items(), key=lambda kv: (kv[1][0], -kv[1][1]))
    front: List[str] = []
    best = -math.inf
    for name, (_, y) in items:
        if y > best:
            front.append(name)
            best = y
    return front


def cost_figure(
    points: Mapping[str, Tuple[float, float]],
    metric: str,
    *,
    baseline: Optional[Tuple[str, float]] = None,
    cost: str = "scorer calls per query",
) -> Any:
    """Mean metric against mean scorer calls (or another cost) per query, one point per run.

    Args:
        points: ``{run name: (mean calls per query, mean metric)}``; calls must
            be finite and >= 0.
        metric: the metric's name.
        baseline: ``(name, mean metric)`` of a run to draw as a horizontal
            line (e.g. the first stage, which makes no calls); default None.
        cost: the x axis' name, default "scorer calls per query" (the CLI's
            ``--against flops`` gives "PetaFLOPs per query").

    Returns:
        A matplotlib ``Figure`` of 7.5 x 5 inches: a log calls axis (with
        plain-number ticks) when the calls span more than a factor of 10,
        else a linear one; the Pareto front (:func:`pareto_front`) as a step line.
    """
    if not points:
        raise InvalidInputError("points: no runs to plot")
    for name, (x, y) in points.items():
        if not (math.isfinite(x) and x >= 0 and math.isfinite(y)):
            raise InvalidInputError(f"points: run {name!r} has calls {x!r} and {metric} {y!r}; need finite, calls >= 0")
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, LogLocator

    fig, ax = plt.subplots(figsize=(7.5, 5.0))
    xs = np.array([p[0] for p in points.values()])
    positive = xs[xs > 0]
    log = positive.size > 0 and positive.size == xs.size and positive.max() / positive.min() > 10
    for name, (x, y) in points.items():
        ax.scatter([x], [y], s=50, zorder=3)
        ax.annotate(name, (x, y), xytext=(6, 4), textcoords="offset points", fontsize=8)
    front = pareto_front(points)
    if len(front) > 1:
        fx = [points[n][0] for n in front]
        fy = [points[n][1] for n in front]
        ax.step(fx, fy, where="post", color="tab:gray", linestyle="--", linewidth=1.0, label="Pareto front", zorder=2)
    if baseline is not None:
        bname, by = baseline
        if not math.isfinite(by):
            raise InvalidInputError(f"baseline: {bname!r} has a non-finite {metric}")
        ax.axhline(by, color="tab:red", linestyle=":", linewidth=1.2, label=f"{bname} ({by:.4f})")
    if log:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_minor_locator(LogLocator(base=10, subs="auto"))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.set_xlabel(f"{cost} (log scale)")
    else:
        ax.set_xlim(
            left=0, right=(max(1.0, float(xs.max())) if cost == "scorer calls per query" else float(xs.max())) * 1.15
        )
        ax.set_xlabel(cost)
    ax.margins(x=0.12, y=0.08)  # room for the names of the outermost points
    ax.set_ylabel(f"mean {metric}")
    ax.grid(True, which="major", alpha=0.3)
    if len(front) > 1 or baseline is not None:
        ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{metric} against cost ({len(points)} runs)", fontsize=10)
    fig.tight_layout()
    return fig
