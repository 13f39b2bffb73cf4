"""rankwise.plotting and `rankwise plot`: per-query differences against a
baseline with the paired test, fixed-size distribution views for many
queries, the cost plot with its Pareto front, paper-style run names."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

import rankwise as rw
from rankwise import cli
from rankwise.evaluation import paired_randomization_test

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plotting = pytest.importorskip("rankwise.plotting")


def png_size(path: Path) -> tuple:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def all_text(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def synthetic(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    base = rng.uniform(0, 1, n)
    better = np.clip(base + rng.normal(0.05, 0.1, n), 0, 1)
    qids = [f"q{i}" for i in range(n)]
    return {"bm25": dict(zip(qids, base.tolist())), "vicuna": dict(zip(qids, better.tolist()))}


def test_run_labels_read_like_a_paper():
    assert plotting.run_label("runs/vicuna.trec") == "vicuna"
    assert plotting.run_label("bm25_top100.trec.gz") == "bm25_top100"
    assert plotting.run_label("a.run") == "a" and plotting.run_label(".trec") == ".trec"
    assert plotting.run_labels(["x/run.trec", "y/run.trec", "z.txt"]) == ["x/run", "y/run", "z"]


@pytest.mark.parametrize("n", [30, pytest.param(7000, marks=pytest.mark.slow)])
def test_differences_against_a_baseline_with_the_paired_test(tmp_path, n):
    values = synthetic(n)
    fig = plotting.per_query_figure(values, "ndcg@10", baseline="bm25")
    a = np.array([values["vicuna"][q] for q in sorted(values["vicuna"])])
    b = np.array([values["bm25"][q] for q in sorted(values["bm25"])])
    p = paired_randomization_test(a, b)
    text = all_text(fig)
    assert "vicuna vs bm25" in text and f"p = {p:.4f}" in text and f"{float((a - b).mean()):+.4f}" in text
    ax = fig.axes[0]
    if n <= 100:  # one bar per query, named, sorted by difference
        heights = [r.get_height() for r in ax.patches]
        assert len(heights) == n and heights == sorted(heights, reverse=True)
        labels = [t.get_text() for t in ax.get_xticklabels()]
        diff = {q: values["vicuna"][q] - values["bm25"][q] for q in values["bm25"]}
        assert labels == sorted(diff, key=lambda q: -diff[q])
    else:  # a sorted-difference curve and a histogram, no per-query bars or names
        assert len(fig.axes) == 2 and len(ax.patches) == 0
        assert not any(t.get_text().startswith("q") for t in ax.get_xticklabels())
    out = tmp_path / "diff.png"
    fig.savefig(out, dpi=130)
    width, height = png_size(out)
    assert width <= 16 * 130 and height <= 5 * 130


def test_many_queries_without_a_baseline_give_a_fixed_size_distribution_view(tmp_path):
    fig = plotting.per_query_figure(synthetic(6980), "ndcg@10")
    assert len(fig.axes) == 2 and fig.get_size_inches().tolist() == [12.0, 4.8]
    assert len(fig.axes[0].lines) == 2  # one sorted curve per run
    small = plotting.per_query_figure(synthetic(20), "ndcg@10")
    assert len(small.axes[0].patches) == 40  # 20 queries x 2 runs


def test_pareto_front():
    points = {"cheap": (1.0, 0.5), "dominated": (10.0, 0.45), "good": (9.0, 0.7), "best": (100.0, 0.72)}
    assert plotting.pareto_front(points) == ["cheap", "good", "best"]
    assert plotting.pareto_front({"a": (5.0, 0.5), "b": (5.0, 0.6)}) == ["b"]


def test_cost_figure_is_fixed_size_with_plain_ticks_a_front_and_the_baseline(tmp_path):
    points = {"pointwise": (100.0, 0.64), "sliding": (9.0, 0.67), "jointrank": (20.0, 0.66), "setwise": (400.0, 0.7)}
    fig = plotting.cost_figure(points, "ndcg@10", baseline=("bm25", 0.5058))
    ax = fig.axes[0]
    assert fig.get_size_inches().tolist() == [7.5, 5.0] and ax.get_xscale() == "log"
    fig.canvas.draw()
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks and all("$" not in t and "^" not in t for t in ticks)  # 10, 20, 50, not 10^1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Pareto front" in legend and "bm25 (0.5058)" in legend
    (front,) = [ln for ln in ax.lines if ln.get_label() == "Pareto front"]
    assert list(front.get_xdata()) == [9.0, 400.0]  # sliding, then setwise; jointrank and pointwise are dominated
    narrow = plotting.cost_figure({"a": (9.0, 0.6), "b": (12.0, 0.61)}, "map")
    assert narrow.axes[0].get_xscale() == "linear"


def test_bad_input_raises_clear_errors():
    with pytest.raises(rw.InvalidInputError, match="baseline: 'nope' is not one of the runs"):
        plotting.per_query_figure(synthetic(5), "ndcg@10", baseline="nope")
    with pytest.raises(rw.InvalidInputError, match="no other run"):
        plotting.per_query_figure({"bm25": synthetic(5)["bm25"]}, "ndcg@10", baseline="bm25")
    with pytest.raises(rw.InvalidInputError, match="non-finite value for query 'q1'"):
        plotting.per_query_figure({"a": {"q0": 0.1, "q1": float("nan")}}, "ndcg@10")
    with pytest.raises(rw.InvalidInputError, match="no query in common"):
        plotting.per_query_figure({"a": {"q0": 0.1}, "b": {"q1": 0.2}}, "ndcg@10", baseline="a")
    with pytest.raises(rw.InvalidInputError, match="max_bars"):
        plotting.per_query_figure(synthetic(5), "ndcg@10", max_bars=0)
    with pytest.raises(rw.InvalidInputError, match="calls >= 0"):
        plotting.cost_figure({"a": (-1.0, 0.5)}, "ndcg@10")
    with pytest.raises(rw.InvalidInputError, match="no runs"):
        plotting.cost_figure({}, "ndcg@10")


def write_runs(tmp_path: Path, n: int):
    """Two TREC runs over the same judged queries, and their qrels."""
    rng = np.random.default_rng(1)
    qrels, base, better = [], [], []
    for q in range(n):
        docs = [f"d{q}_{i}" for i in range(10)]
        grades = rng.integers(0, 3, 10)
        qrels += [f"{q} 0 {d} {g}" for d, g in zip(docs, grades)]
        order = rng.permutation(10)
        base.append(rw.Ranking.from_order(str(q), [docs[i] for i in order]))
        better.append(rw.Ranking.from_order(str(q), [docs[i] for i in np.argsort(-grades, kind="stable")]))
    (tmp_path / "qrels.txt").write_text("\n".join(qrels) + "\n")
    rw.write_run(base, tmp_path / "bm25.trec")
    rw.write_run(better, tmp_path / "oracle.trec")
    with open(tmp_path / "oracle.trec.spend.jsonl", "w") as f:
        for q in range(n):
            f.write(json.dumps({"qid": str(q), "calls": 9.0}) + "\n")
    return tmp_path / "qrels.txt", tmp_path / "bm25.trec", tmp_path / "oracle.trec"


@pytest.mark.parametrize("n", [12, 150])
def test_cli_plot_baseline(tmp_path, n):
    qrels, bm25, oracle = write_runs(tmp_path, n)
    png = tmp_path / "diff.png"
    assert cli.main(["plot", str(oracle), "--baseline", str(bm25), "--qrels", str(qrels), "-o", str(png)]) == 0
    assert png_size(png)[0] <= 16 * 130
    cost = tmp_path / "cost.png"
    args = ["plot", str(oracle), "--baseline", str(bm25), "--qrels", str(qrels), "--against", "calls", "-o", str(cost)]
    assert cli.main(args) == 0
    assert png_size(cost) == (int(7.5 * 130), int(5.0 * 130))
