"""The ``rankwise`` command line: rerank, eval, plot, demo.

Errors a user can fix (a missing file, an unknown strategy or model alias,
an output that exists, qrels that judge none of the run) print one line that
says what to do, and exit with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

import numpy as np

from . import __version__
from ._errors import InvalidInputError, RankwiseError
from .data import Request, first_stage_ranking, load_requests
from .evaluation import evaluate
from .rerank import RerankStats, rerank, rerank_iter
from .runs import Qrels, Ranking, Run, read_qrels, read_run, write_run
from .strategies import AllPairs, JointRank, Pointwise, Setwise, SlidingWindow, SparsePairwise, Strategy, Tournament

EXAMPLES = Path(__file__).resolve().parent / "examples"


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


# --- strategies by name, their options from the dataclass fields --------------------

STRATEGIES: Dict[str, Type[Strategy]] = {
    "sliding-window": SlidingWindow,
    "tournament": Tournament,
    "jointrank": JointRank,
    "sparse-pairwise": SparsePairwise,
    "all-pairs": AllPairs,
    "setwise": Setwise,
    "pointwise": Pointwise,
}
# a strategy field whose flag would clash with another option
RENAMED: Dict[Tuple[type, str], str] = {(Setwise, "method"): "setwise_method"}


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def strategy_class(name: str) -> Type[Strategy]:
    by_key = {_key(k): v for k, v in STRATEGIES.items()}
    cls = by_key.get(_key(name))
    if cls is None:
        raise UsageError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    return cls


def strategy_options() -> Dict[str, List[Tuple[Type[Strategy], dataclasses.Field]]]:  # type: ignore[type-arg]
    """flag dest -> the strategies (and fields) that take it."""
    out: Dict[str, List[Tuple[Type[Strategy], dataclasses.Field]]] = {}  # type: ignore[type-arg]
    for cls in STRATEGIES.values():
        for f in dataclasses.fields(cls):
            if f.name == "depth":
                continue
            out.setdefault(RENAMED.get((cls, f.name), f.name), []).append((cls, f))
    return out


def build_strategy(args: argparse.Namespace) -> Strategy:
    cls = strategy_class(args.strategy)
    kwargs: Dict[str, Any] = {}
    for dest, users in strategy_options().items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        field = next((f for c, f in users if c is cls), None)
        if field is None:
            raise UsageError(
                f"--{dest.replace('_', '-')} does not apply to {args.strategy}; see rankwise rerank --help"
            )
        kwargs[field.name] = value
    try:
        return cls(**kwargs, depth=args.depth)
    except InvalidInputError as e:
        raise UsageError(f"{args.strategy}: {e}") from None


# --- scorers by alias or path ------------------------------------------------------------


def build_scorer(spec: str, args: argparse.Namespace, strategy: Strategy) -> Any:
    from . import scorers

    kind = args.kind or strategy.call_kind
    if spec == "minilm":
        if args.dtype not in ("auto", "float32", "bfloat16"):
            raise UsageError("--dtype for minilm is auto, float32 or bfloat16")
        return scorers.EmbeddingScorer(device=args.device, dtype=args.dtype)
    if spec.startswith(("http://", "https://")):
        if not args.model:
            raise UsageError("an OpenAI-compatible server needs --model (the served model's name)")
        return scorers.OpenAIScorer(spec, args.model, kind=kind, method=args.method, concurrency=args.concurrency)
    if spec.startswith("replay:"):
        return scorers.Replay.from_jsonl(spec[len("replay:") :])
    if spec.startswith("oracle:"):
        path = spec[len("oracle:") :]
        first = Path(path).read_text(encoding="utf-8").split("\n", 1)[0].split() if Path(path).is_file() else []
        reference: Any = read_qrels(path) if len(first) == 4 else read_run(path, order="rank")
        print("note: the oracle scorer is a SIMULATED judge; its numbers are simulations", file=sys.stderr)
        return scorers.Oracle(
            reference,
            kind=kind if kind in ("listwise", "pointwise", "pairwise") else "listwise",  # type: ignore[arg-type]
            temperature=args.oracle_temperature,
            seed=args.oracle_seed,
        )
    if spec.startswith("py:"):
        module, _, attr = spec[len("py:") :].partition(":")
        try:
            obj = getattr(importlib.import_module(module), attr or "scorer")
        except (ImportError, AttributeError) as e:
            raise UsageError(f"cannot load scorer {spec!r}: {e}") from None
        return obj() if isinstance(obj, type) else obj
    if not os.path.exists(spec) and spec.count("/") != 1:
        raise UsageError(
            f"unknown scorer {spec!r}: use minilm, a model folder or hub id (with --kind), "
            "http(s)://server/v1 (with --model), replay:FILE.jsonl, oracle:QRELS or py:module:name"
        )
    return scorers.HFScorer.from_pretrained(
        spec, kind=kind, method=args.method, device=args.device, dtype=args.dtype, batch_size=args.model_batch_size
    )


# --- output that survives crashes ---------------------------------------------------------


class RunWriter:
    """Appends each finished query to the run in one write, so a kill never
    tears a query; on ``resume`` keeps only complete queries of an existing
    file (queries that fell back are done again). Side files, written after
    the run's lines: ``OUTPUT.spend.jsonl`` (per-query spend) and
    ``OUTPUT.failed.jsonl`` (queries that fell back, with the reason).

    Nothing is created or deleted until :meth:`open`, so a job that fails to
    start (a bad scorer, say) leaves the output as it was."""

    def __init__(self, path: Path, requests: Sequence[Request], tag: str, resume: bool, overwrite: bool) -> None:
        self.path, self.tag, self.overwrite = path, tag, overwrite
        self.expected = {r.qid: len(r.candidates) for r in requests}
        self.spend_path = path.with_name(path.name + ".spend.jsonl")
        self.failed_path = path.with_name(path.name + ".failed.jsonl")
        self.fd = -1
        if path.is_dir():
            raise UsageError(f"output {path} is a directory")
        self.done: Dict[str, List[str]] = {}
        if path.exists() and not (resume or overwrite):
            raise UsageError(f"output {path} exists: pass --resume to finish it or --overwrite to start over")
        if path.exists() and resume:
            self.done = self._recover()

    @staticmethod
    def _jsonl(path: Path) -> List[Dict[str, Any]]:
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").split("\n")[:-1]:  # a torn last line is dropped
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    @staticmethod
    def _replace(path: Path, text: str) -> None:
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def _recover(self) -> Dict[str, List[str]]:
        text = self.path.read_text(encoding="utf-8")
        lines = text.split("\n")[:-1]  # after the last newline: empty, or a torn line
        groups: Dict[str, List[str]] = {}
        for line in lines:
            groups.setdefault(line.split(" ", 1)[0], []).append(line + "\n")
        failed = {str(f.get("qid")) for f in self._jsonl(self.failed_path)}
        done = {q: ls for q, ls in groups.items() if len(ls) == self.expected.get(q) and q not in failed}
        kept = "".join("".join(ls) for ls in done.values())
        if kept != text:  # drop torn, unknown and fallen-back queries, atomically
            self._replace(self.path, kept)
        for side in (self.spend_path, self.failed_path):  # keep the side files in step with the run
            if side.exists():
                entries = [e for e in self._jsonl(side) if str(e.get("qid")) in done]
                self._replace(side, "".join(json.dumps(e) + "\n" for e in entries))
        return done

    def open(self) -> None:
        if self.overwrite:
            for p in (self.path, self.spend_path, self.failed_path):
                p.unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    @staticmethod
    def _append(path: Path, data: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data.encode("utf-8"))
        finally:
            os.close(fd)

    def write(self, r: Ranking) -> None:
        data = Run.from_rankings([r])._data.to_trec(self.tag).encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self._append(self.spend_path, json.dumps({"qid": r.qid, **r.spend}) + "\n")
        if r.error is not None:
            self._append(self.failed_path, json.dumps({"qid": r.qid, "error": r.error}) + "\n")

    def finish(self, order: Sequence[str]) -> None:
        """Rewrite the finished run in input order (atomically)."""
        self.close()
        run = read_run(self.path, order="rank")
        write_run([run[q] for q in order if q in run], self.path, tag=self.tag)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _check_writable(requests: Sequence[Request], tag: str) -> None:
    """Render the first-stage run once, so the TREC writer's own check (ids
    and tag: non-empty, no whitespace) fails before any scorer work."""
    try:
        Run.from_rankings([first_stage_ranking(r) for r in requests])._data.to_trec(tag)
    except InvalidInputError as e:
        raise UsageError(f"--{e}" if str(e).startswith("tag:") else f"input: {e}") from None


def cmd_rerank(args: argparse.Namespace) -> int:
    if not Path(args.input).is_file():
        raise UsageError(f"input {args.input} does not exist or is not a file")
    strategy = build_strategy(args)
    requests = load_requests(args.input, format=args.format, topics=args.topics, docs=args.docs)
    if not requests:
        raise UsageError(f"input {args.input} holds no queries")
    _check_writable(requests, args.tag)
    writer = RunWriter(Path(args.output), requests, args.tag, args.resume, args.overwrite)
    todo = [r for r in requests if r.qid not in writer.done]
    if writer.done:
        print(f"resuming: {len(writer.done)} of {len(requests)} queries already in {args.output}", file=sys.stderr)
    scorer = build_scorer(args.scorer, args, strategy) if todo else None
    writer.open()
    stats = RerankStats()
    t0 = time.perf_counter()
    interrupted = False
    try:
        if todo:
            for ranking in rerank_iter(
                todo,
                strategy,
                scorer,
                batch_size=args.batch_size,  # type: ignore[arg-type]
                progress=args.progress,
                stats=stats,
                retries=args.retries,
            ):
                writer.write(ranking)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        writer.close()
    wall = time.perf_counter() - t0
    outside = wall - stats.scorer_seconds
    print(
        f"{stats.queries} queries reranked ({len(writer.done)} resumed), {stats.calls} calls, {stats.docs_shown} documents shown, "
        f"{wall:.1f} s wall, {outside:.1f} s outside the scorer"
        + (f", {stats.tokens_in:,} tokens in, {stats.tokens_out:,} out" if stats.tokens_in or stats.tokens_out else "")
        + (
            f", {len(stats.failed)} fell back to first-stage order "
            f"(see {writer.failed_path.name}; --resume retries them)"
            if stats.failed
            else ""
        ),
        file=sys.stderr,
    )
    if interrupted:
        print(f"interrupted: finished queries are in {args.output}; run again with --resume to finish", file=sys.stderr)
        return 130
    writer.finish([r.qid for r in requests])
    return 1 if stats.failed else 0


def _paired_randomization(a: np.ndarray, b: np.ndarray, trials: int = 10_000, seed: int = 0) -> float:
    """Two-sided p-value of the mean difference under random sign flips (Smucker et al., CIKM 2007)."""
    d = a - b
    if not d.size or not np.any(d):
        return 1.0
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(trials, d.size))
    observed = abs(d.mean())
    return float((np.sum(np.abs((signs * d).mean(axis=1)) >= observed - 1e-12) + 1) / (trials + 1))


def _load_run(path: str) -> Run:
    if not Path(path).is_file():
        raise UsageError(f"run {path} does not exist or is not a file")
    return read_run(path)


def _load_qrels(path: str) -> Qrels:
    if not Path(path).is_file():
        raise UsageError(f"qrels {path} does not exist or is not a file")
    return read_qrels(path)


def _per_query(run: Run, qrels: Qrels, metrics: List[str], level: int = 1) -> Dict[str, Dict[str, float]]:
    out = evaluate(run, qrels, metrics, per_query=True, relevance_level=level)
    return out  # type: ignore[return-value]  # per_query=True: {qid: {metric: value}}


def _check_overlap(run: Run, qrels: Qrels, name: str) -> None:
    if not set(run) & set(qrels):
        raise UsageError(f"no query of {name} is judged in the qrels: are they for the same collection?")


def cmd_eval(args: argparse.Namespace) -> int:
    qrels = _load_qrels(args.qrels)
    runs = [(args.run, _load_run(args.run))] + ([(args.compare, _load_run(args.compare))] if args.compare else [])
    metrics = args.metric or ["ndcg@10", "map", "recall@100"]
    per: Dict[str, Dict[str, Dict[str, float]]] = {}
    for name, run in runs:
        _check_overlap(run, qrels, name)
        per[name] = _per_query(run, qrels, metrics, args.relevance_level)
    names = [n for n, _ in runs]
    if args.per_query:
        qids = sorted(set().union(*[set(per[n]) for n in names]))
        head = ["qid"] + [f"{m} {Path(n).name}" if len(names) > 1 else m for n in names for m in metrics]
        print("\t".join(head))
        for q in qids:
            print("\t".join([q] + [f"{per[n][q][m]:.4f}" if q in per[n] else "-" for n in names for m in metrics]))
        return 0
    width = max(len(m) for m in metrics) + 2
    cols = [Path(n).name for n in names]
    header = f"{'metric':<{width}}" + "".join(f"{c[:18]:>20}" for c in cols)
    if len(names) == 2:
        header += f"{'diff':>10}{'p (paired rand.)':>18}"
    print(header)
    common = sorted(set(per[names[0]]) & set(per[names[-1]]))
    for m in metrics:
        # side by side: both means over the queries both runs hold, so that diff = their difference
        means = [
            float(np.mean([per[n][q][m] for q in common]))
            if len(names) == 2
            else float(np.mean([v[m] for v in per[n].values()]))
            for n in names
        ]
        line = f"{m:<{width}}" + "".join(f"{x:>20.4f}" for x in means)
        if len(names) == 2:
            a = np.array([per[names[0]][q][m] for q in common])
            b = np.array([per[names[1]][q][m] for q in common])
            line += f"{float(np.mean(b - a)):>+10.4f}{_paired_randomization(a, b):>18.4f}"
        print(line)
    print(
        f"({len(common)} queries in both runs; means, diff and test over those)"
        if len(names) == 2
        else f"({len(per[names[0]])} queries)"
    )
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise UsageError("plot needs matplotlib: pip install 'rankwise[plot]'") from None
    qrels = _load_qrels(args.qrels)
    m = args.metric
    values: Dict[str, Dict[str, float]] = {}
    for path in args.runs:
        run = _load_run(path)
        _check_overlap(run, qrels, path)
        values[path] = {q: v[m] for q, v in _per_query(run, qrels, [m]).items()}
    fig, ax = plt.subplots(figsize=(max(7.0, 0.28 * len(values[args.runs[0]]) + 2), 4.8))
    if args.against == "calls":
        for path in args.runs:
            side = Path(path + ".spend.jsonl")
            if not side.is_file():
                raise UsageError(
                    f"{side} not found: --against calls needs the spend file rankwise rerank writes beside a run"
                )
            spend = {}
            for line in side.read_text(encoding="utf-8").splitlines():
                obj = json.loads(line)
                spend[obj["qid"]] = obj.get("calls", 0.0)
            calls = float(np.mean([spend.get(q, 0.0) for q in values[path]]))
            score = float(np.mean(list(values[path].values())))
            ax.scatter([calls], [score], s=60)
            ax.annotate(Path(path).name, (calls, score), xytext=(5, 5), textcoords="offset points", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("scorer calls per query (log)")
        ax.set_ylabel(f"mean {m}")
    else:
        order = sorted(values[args.runs[0]], key=lambda q: -values[args.runs[0]][q])
        width = 0.8 / len(args.runs)
        for k, path in enumerate(args.runs):
            ys = [values[path].get(q, 0.0) for q in order]
            ax.bar(
                np.arange(len(order)) + k * width,
                ys,
                width,
                label=f"{Path(path).name} (mean {np.mean(list(values[path].values())):.4f})",
            )
        ax.set_xticks(np.arange(len(order)) + 0.4 - width / 2)
        ax.set_xticklabels(order, rotation=90, fontsize=7)
        ax.set_ylabel(m)
        ax.set_xlabel("query (sorted by the first run)")
        ax.legend(fontsize=8)
    ax.set_title(f"{m} of {len(args.runs)} run(s)")
    fig.tight_layout()
    try:
        fig.savefig(args.output, dpi=130)
    except OSError as e:
        raise UsageError(f"cannot write {args.output}: {e}") from None
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    requests = load_requests(EXAMPLES / "dl19_top30.json")
    qrels = read_qrels(EXAMPLES / "dl19_qrels.txt")
    strategy = build_strategy(args)
    bm25 = evaluate([first_stage_ranking(r) for r in requests], qrels, ["ndcg@10"])["ndcg@10"]
    print(
        f"rankwise {__version__} demo: {len(requests)} TREC DL19 queries x {len(requests[0].candidates)} BM25 candidates "
        f"(shipped in {EXAMPLES.name}/), reranked by {args.scorer} with {args.strategy}"
    )
    t1 = time.perf_counter()
    scorer = build_scorer(args.scorer, args, strategy)
    load = time.perf_counter() - t1
    stats = RerankStats()
    t2 = time.perf_counter()
    out = rerank(requests, strategy, scorer, batch_size=args.batch_size, progress=False, stats=stats)
    took = time.perf_counter() - t2
    ndcg = evaluate(out, qrels, ["ndcg@10"])["ndcg@10"]
    print(f"  BM25      nDCG@10 = {bm25:.4f}")
    print(
        f"  reranked  nDCG@10 = {ndcg:.4f}   ({stats.calls} scorer calls in {took:.1f} s; model loaded in {load:.1f} s; "
        f"{time.perf_counter() - t0:.1f} s in all)"
    )
    return 0


# --- the parser ---------------------------------------------------------------------------------


def _add_strategy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("strategy options (each applies to the strategies named; unset = the strategy's default)")
    for dest, users in strategy_options().items():
        ann = str(users[0][1].type)
        kind = int if "int" in ann else str
        notes = {"step": "window // 2", "budget": "the sampler's own count"}
        where = ", ".join(
            f"{c.__name__} {notes.get(f.name, repr(f.default)) if f.default is None else repr(f.default)}"
            for c, f in users
        )
        g.add_argument(
            f"--{dest.replace('_', '-')}",
            dest=dest,
            type=kind,
            default=None,
            metavar=kind.__name__.upper(),
            help=f"default: {where}",
        )


def _add_scorer_options(p: argparse.ArgumentParser, default_scorer: str) -> None:
    g = p.add_argument_group("scorer")
    g.add_argument(
        "--scorer",
        default=default_scorer,
        help="minilm (the embedded sentence encoder), a model folder or hub id, http(s)://server/v1 (OpenAI-compatible), "
        "replay:FILE.jsonl (recorded calls), oracle:QRELS_OR_RUN (a SIMULATED judge) or py:module:name (default: %(default)s)",
    )
    g.add_argument(
        "--kind",
        choices=["pointwise", "listwise", "pairwise"],
        default=None,
        help="what a model or server scores (default: what the strategy asks)",
    )
    g.add_argument(
        "--method",
        default=None,
        help="the model's method: yes_no, labels, cross_encoder, generate, first, prp (default: per kind)",
    )
    g.add_argument("--model", default=None, help="the served model's name (OpenAI-compatible servers)")
    g.add_argument("--device", default="auto", help="torch device (default: %(default)s)")
    g.add_argument(
        "--dtype",
        default="auto",
        help="float32, bfloat16 or float16; auto: bf16/fp16 on CUDA, bf16 for minilm on CPUs "
        "with native bf16, else fp32 (default: %(default)s)",
    )
    g.add_argument(
        "--model-batch-size",
        type=int,
        default=8,
        help="prompts per forward pass of a local model (default: %(default)s)",
    )
    g.add_argument("--concurrency", type=int, default=8, help="requests in flight to a server (default: %(default)s)")
    g.add_argument(
        "--oracle-temperature", type=float, default=0.0, help="noise of the oracle scorer (default: %(default)s)"
    )
    g.add_argument("--oracle-seed", type=int, default=0, help="noise seed of the oracle scorer (default: %(default)s)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="rankwise", description="Plan, drive and aggregate LLM reranking calls.")
    top.add_argument("--version", action="version", version=f"rankwise {__version__}")
    sub = top.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "rerank",
        help="rerank every query of an input and write a TREC run",
        description="Rerank every query of INPUT (TREC DL JSON, rank_llm JSONL, or a TREC run with --topics and "
        "--docs) and append each finished query to OUTPUT. A killed job continues with --resume.",
    )
    p.add_argument("input", help="the requests: DL JSON, rank_llm JSONL, or a TREC run (with --topics and --docs)")
    p.add_argument("-o", "--output", required=True, help="the TREC run to write")
    p.add_argument("--strategy", default="jointrank", help=f"one of {', '.join(STRATEGIES)} (default: %(default)s)")
    p.add_argument("--depth", type=int, default=None, help="rerank only the top DEPTH candidates (default: all)")
    p.add_argument("--batch-size", type=int, default=32, help="scorer calls per batch (default: %(default)s)")
    p.add_argument("--retries", type=int, default=1, help="extra tries of a failing batch (default: %(default)s)")
    p.add_argument(
        "--format", choices=["dl-json", "rank-llm", "trec"], default=None, help="input format (default: sniffed)"
    )
    p.add_argument("--topics", default=None, help="queries for a TREC-run input (qid<TAB>query or JSONL)")
    p.add_argument("--docs", default=None, help="passages for a TREC-run input (JSONL or docid<TAB>text)")
    p.add_argument("--tag", default="rankwise", help="run tag (default: %(default)s)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--resume", action="store_true", help="keep the queries OUTPUT already holds and do the rest")
    g.add_argument("--overwrite", action="store_true", help="replace OUTPUT")
    g2 = p.add_mutually_exclusive_group()
    g2.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="always draw the progress line"
    )
    g2.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never draw it (default: on a terminal)"
    )
    _add_scorer_options(p, "minilm")
    _add_strategy_options(p)
    p.set_defaults(func=cmd_rerank)

    e = sub.add_parser("eval", help="evaluate a run (or two, side by side with a paired test)")
    e.add_argument("run", help="a TREC run (qid Q0 docid rank score tag)")
    e.add_argument("qrels", help="TREC qrels (qid 0 docid grade)")
    e.add_argument(
        "-m",
        "--metric",
        action="append",
        default=None,
        help="a metric (repeat): ndcg@10, map, mrr@10, recall@100, p@10, rprec, ... (default: ndcg@10, map, recall@100)",
    )
    e.add_argument("--per-query", action="store_true", help="one row per query")
    e.add_argument(
        "--compare",
        default=None,
        metavar="RUN2",
        help="a second run: means side by side, their difference and a paired randomization test (10,000 sign flips)",
    )
    e.add_argument(
        "--relevance-level",
        type=int,
        default=1,
        help="lowest grade counted relevant for binary metrics (default: %(default)s)",
    )
    e.set_defaults(func=cmd_eval)

    pl = sub.add_parser("plot", help="draw a metric per query, or against calls, for several runs")
    pl.add_argument("runs", nargs="+", metavar="RUN", help="TREC runs, one bar (or point) each")
    pl.add_argument("--qrels", required=True, help="TREC qrels")
    pl.add_argument("-o", "--output", required=True, help="image file (png, svg, pdf)")
    pl.add_argument("--metric", default="ndcg@10", help="default: %(default)s")
    pl.add_argument(
        "--against",
        choices=["query", "calls"],
        default="query",
        help="bars per query, or mean metric against mean calls (needs RUN.spend.jsonl) (default: %(default)s)",
    )
    pl.set_defaults(func=cmd_plot)

    d = sub.add_parser(
        "demo", help="rerank a small real DL19 subset (shipped) with the embedded MiniLM and print nDCG@10"
    )
    d.add_argument("--strategy", default="pointwise", help=f"one of {', '.join(STRATEGIES)} (default: %(default)s)")
    d.add_argument("--depth", type=int, default=None, help=argparse.SUPPRESS)
    d.add_argument("--batch-size", type=int, default=256, help="scorer calls per batch (default: %(default)s)")
    _add_scorer_options(d, "minilm")
    _add_strategy_options(d)
    d.set_defaults(func=cmd_demo)
    return top


def main(argv: Optional[Sequence[str]] = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    if not getattr(args, "func", None):
        top.print_help()
        return 2
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"rankwise {args.command}: error: {e}", file=sys.stderr)
    except (RankwiseError, ImportError) as e:
        print(f"rankwise {args.command}: error: {e}", file=sys.stderr)
    except OSError as e:
        print(f"rankwise {args.command}: error: {e.strerror or e}: {e.filename or ''}".rstrip(": "), file=sys.stderr)
    return 2
