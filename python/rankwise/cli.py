"""The ``rankwise`` command line: rerank, eval, plot, demo.

Errors a user can fix (a missing file, an unknown strategy or model alias,
an output that exists or is not rankwise's, qrels that judge none of the
run) print one line that says what to do, and exit with status 2; no
traceback. Warnings and the library's log (logger ``rankwise``: retries,
fallbacks, probes) print as ``rankwise: ...`` lines. Ctrl-C, SIGTERM and
SIGHUP stop a rerank within 2 s, even against a stalled server (the process
does not wait for the scorer's threads), with status 128 + the signal's
number, saying that the work is resumable.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import sys
import time
import typing
import warnings
from functools import partial
from pathlib import Path
from typing import Any, Dict, Iterator, List, Literal, Optional, Sequence, Tuple, Type, Union

import numpy as np

from . import __version__, _io, strategies
from ._cli_cascade import CascadePlan, plan_cascade, stage_scorer
from ._errors import InvalidInputError, RankwiseError
from .cascade import Cascade
from .data import Format, Request, first_stage_ranking, load_requests
from .evaluation import evaluate, paired_randomization_test, rpp_qpp
from .rerank import RerankStats, rerank, rerank_iter
from .runs import Qrels, Ranking, Run, RunWriter, read_qrels, read_run
from .strategies import Setwise, Strategy

EXAMPLES = Path(__file__).resolve().parent / "examples"
INPUT_FORMATS: Tuple[str, ...] = tuple(str(a) for a in typing.get_args(Format))
log = logging.getLogger("rankwise")


class UsageError(Exception):
    """A mistake the user can fix; printed as one line, exit status 2."""


# --- names: '-' and '_' alike, case-insensitive ------------------------------------------------


def _key(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")


def _choose(flag: str, value: str, choices: Sequence[str]) -> str:
    """The choice ``value`` names (``-`` and ``_`` alike, any case), or a UsageError listing them."""
    for c in choices:
        if _key(c) == _key(value):
            return c
    raise UsageError(f"{flag}: unknown choice {value!r}: choose one of {', '.join(choices)}")


# --- strategies by name, their options from the dataclass fields --------------------

# the registry of rankwise.strategies (a new strategy appears here by itself)
STRATEGIES: Dict[str, Type[Strategy]] = strategies.STRATEGIES
# a strategy field whose flag would clash with another option
RENAMED: Dict[Tuple[type, str], str] = {(Setwise, "method"): "setwise_method"}
# the default strategy for the kind of call the scorer answers
DEFAULT_STRATEGY = {
    "pointwise": "pointwise",
    "listwise": "jointrank",
    "pairwise": "sparse-pairwise",
    "groupwise": "jointrank",
}


def strategy_class(name: str) -> Type[Strategy]:
    try:
        return strategies.strategy_class(name)
    except InvalidInputError:
        raise UsageError(f"unknown strategy {name!r}: choose one of {', '.join(STRATEGIES)}") from None


def strategy_name(cls: Type[Strategy]) -> str:
    return next(k for k, v in STRATEGIES.items() if v is cls)


def strategy_options() -> Dict[str, List[Tuple[Type[Strategy], dataclasses.Field]]]:  # type: ignore[type-arg]
    """flag dest -> the strategies (and fields) that take it."""
    out: Dict[str, List[Tuple[Type[Strategy], dataclasses.Field]]] = {}  # type: ignore[type-arg]
    for cls in STRATEGIES.values():
        for f in dataclasses.fields(cls):
            if f.name == "depth":
                continue
            out.setdefault(RENAMED.get((cls, f.name), f.name), []).append((cls, f))
    return out


def field_choices(cls: Type[Strategy], name: str) -> Optional[Tuple[str, ...]]:
    """The names a string field takes (from its ``Literal`` type), or None."""
    hint = typing.get_type_hints(cls).get(name)
    if typing.get_origin(hint) is typing.Literal:
        return tuple(str(a) for a in typing.get_args(hint))
    return None


def build_strategy(args: argparse.Namespace, name: str) -> Strategy:
    cls = strategy_class(name)
    kwargs: Dict[str, Any] = {}
    for dest, users in strategy_options().items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        flag = f"--{dest.replace('_', '-')}"
        field = next((f for c, f in users if c is cls), None)
        if field is None:
            raise UsageError(f"{flag} does not apply to {strategy_name(cls)}; see rankwise rerank --help")
        choices = field_choices(cls, field.name)
        kwargs[field.name] = _choose(flag, value, choices) if choices else value
    try:
        return cls(**kwargs, depth=args.depth)
    except InvalidInputError as e:
        raise UsageError(f"{strategy_name(cls)}: {e}") from None
    except OverflowError:
        big = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in kwargs.items() if isinstance(v, int))
        raise UsageError(f"{strategy_name(cls)}: a value is too large ({big or f'--depth {args.depth}'})") from None


# --- scorers by spec (rankwise.scorers.from_spec) ------------------------------------------------


def _flexible_kinds(spec: str) -> Tuple[str, ...]:
    """The kinds a spec can be built as on request (empty: it has one kind of its own)."""
    if spec == "minilm" or spec.startswith(("replay:", "py:")):
        return ()
    if spec.startswith(("http://", "https://")):
        return ("pointwise", "listwise", "groupwise")
    return ("pointwise", "listwise", "pairwise", "groupwise")


def _takes_method(spec: str) -> bool:
    """Whether the scorer built from ``spec`` has methods: a model (folder or hub id) or a server."""
    return not (spec == "minilm" or spec.startswith(("replay:", "py:", "oracle:")))


def plan_job(args: argparse.Namespace) -> Tuple[Union[Strategy, CascadePlan], Optional[str]]:
    """The strategy, and the kind to build the scorer as (None: the scorer's own);
    for ``--stage``/``--cascade``, the cascade's stages (each its own kind).

    The default strategy fits the scorer's kind (a pointwise MiniLM gets
    Pointwise); a model or server built for an explicit strategy answers the
    strategy's kind unless ``--kind`` says otherwise."""
    from .scorers import spec_kind
    from .scorers.spec import method_kind

    if getattr(args, "stage", None) or getattr(args, "cascade", None):
        try:
            return plan_cascade(args), None
        except InvalidInputError as e:
            raise UsageError(str(e)) from None
    kind = _choose("--kind", args.kind, ("pointwise", "listwise", "pairwise", "groupwise")) if args.kind else None
    if args.method is not None and not _takes_method(args.scorer):
        raise UsageError(
            f"--method {args.method}: applies to a model or an OpenAI-compatible server, not to {args.scorer}"
        )
    if kind is None and args.method is not None:  # a method answers one kind (icr, grouprank: groupwise)
        implied = method_kind(args.method)
        kind = implied if implied in _flexible_kinds(args.scorer) else None
    try:
        natural = spec_kind(args.scorer, kind)
    except InvalidInputError as e:
        raise UsageError(str(e).removeprefix("scorer: ")) from None
    if kind is not None and natural is not None and natural != kind:
        raise UsageError(f"--kind {kind}: {args.scorer} is a {natural} scorer")
    name = args.strategy or DEFAULT_STRATEGY.get(natural or "listwise", "jointrank")
    strategy = build_strategy(args, name)
    if kind is None and args.strategy and strategy.call_kind in _flexible_kinds(args.scorer):
        kind = strategy.call_kind
    return strategy, kind


def _flops_model(path: Optional[str]) -> Optional[Dict[str, Any]]:
    """The config dict of ``--flops-model``: a ``config.json`` or a model folder holding one."""
    if path is None:
        return None
    p = Path(path)
    if p.is_dir():
        p = p / "config.json"
    if not p.is_file():
        raise UsageError(f"--flops-model {path}: no such file (give the model's config.json or its folder)")
    try:
        cfg = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"--flops-model {p}: not a JSON config ({e})") from None
    if not isinstance(cfg, dict):
        raise UsageError(f"--flops-model {p}: a config is a JSON object, got {type(cfg).__name__}")
    return cfg


def build_scorer(args: argparse.Namespace, kind: Optional[str]) -> Any:
    from .scorers import from_spec

    if args.scorer.startswith(("http://", "https://")) and not args.model:
        raise UsageError("an OpenAI-compatible server needs --model (the served model's name)")
    try:
        return from_spec(
            args.scorer,
            kind=kind,
            method=args.method,
            model=args.model,
            device=args.device,
            dtype=args.dtype,
            batch_size=args.model_batch_size,
            concurrency=args.concurrency,
            timeout=getattr(args, "timeout", None),
            temperature=args.oracle_temperature,
            seed=args.oracle_seed,
            max_thinking_tokens=getattr(args, "max_thinking_tokens", None),
            insert_scores=bool(getattr(args, "insert_scores", False)),
            flops_model=_flops_model(getattr(args, "flops_model", None)),
        )
    except InvalidInputError as e:
        if str(e).startswith("scorer: "):
            raise UsageError(str(e)[len("scorer: ") :]) from None
        raise UsageError(f"--{e}") from None


# --- rerank ----------------------------------------------------------------------------------------


class Signalled(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised in the main thread like Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_signalled(signum: int, frame: Any) -> None:
    raise Signalled(signum)


def _check_writable(requests: Sequence[Request], tag: str) -> None:
    """Render the first-stage run once, so the TREC writer's own check (ids
    and tag: non-empty, no whitespace) fails before any scorer work."""
    try:
        Run.from_rankings([first_stage_ranking(r) for r in requests]).to_trec(tag)
    except InvalidInputError as e:
        raise UsageError(f"--{e}" if str(e).startswith("tag:") else f"input: {e}") from None


def _check_output(path: Path) -> None:
    """An output whose folder cannot exist: say which part of the path is in the way."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"cannot create output {path}: {parent} is a file, not a folder")
            return


def _at_least(flag: str, value: Optional[int], low: int) -> None:
    if value is not None and value < low:
        raise UsageError(f"{flag}: must be at least {low}, got {value}")


def job_manifest(
    args: argparse.Namespace, strategy: Union[Strategy, CascadePlan], kind: Optional[str]
) -> Dict[str, Any]:
    """What produces the rankings, as the run's journal records it: resume requires it equal."""
    if isinstance(strategy, CascadePlan):
        return strategy.manifest()  # each stage's strategy, scorer and depth
    params = {f.name: getattr(strategy, f.name) for f in dataclasses.fields(strategy)}
    return {
        "strategy": {"name": strategy_name(type(strategy)), **params},
        "scorer": {
            "spec": args.scorer,
            "kind": kind,
            "method": args.method,
            **({"insert_scores": True} if getattr(args, "insert_scores", False) else {}),
            **(
                {"max_thinking_tokens": args.max_thinking_tokens}
                if getattr(args, "max_thinking_tokens", None) is not None
                else {}
            ),
            "model": args.model,
            "dtype": args.dtype,
            **(
                {"temperature": args.oracle_temperature, "seed": args.oracle_seed}
                if args.scorer.startswith("oracle:")
                else {}
            ),
        },
    }


def rerank_stream(
    args: argparse.Namespace, todo: List[Request], strategy: Union[Strategy, Cascade], scorer: Any, stats: RerankStats
) -> Iterator[Ranking]:
    """The rankings of ``todo`` as they finish: the one place the CLI drives the reranker."""
    options: Dict[str, Any] = {"progress": args.progress, "stats": stats, "retries": args.retries}
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    if args.max_in_flight is not None:
        options["max_in_flight"] = args.max_in_flight
    if args.timeout is not None and not args.scorer.startswith(("http://", "https://")):
        options["call_timeout"] = args.timeout  # a server takes it per request (from_spec); others per call here
    if args.record is not None:
        options["record"] = args.record
    if getattr(args, "ray", None) and isinstance(strategy, Strategy):  # scorer: a factory each Ray actor calls once
        from .ray import rerank_iter as ray_rerank_iter

        ray_opts = {"address": args.ray, "workers": args.workers, "num_gpus": args.gpus_per_worker}
        return ray_rerank_iter(todo, strategy, scorer, **ray_opts, **options)
    return rerank_iter(todo, strategy, scorer, **options)


def cmd_rerank(args: argparse.Namespace) -> int:
    if not Path(args.input).is_file():
        raise UsageError(f"input {args.input} does not exist or is not a file")
    _at_least("--batch-size", args.batch_size, 1)
    _at_least("--retries", args.retries, 0)
    _at_least("--model-batch-size", args.model_batch_size, 1)
    _at_least("--concurrency", args.concurrency, 1)
    _at_least("--max-in-flight", args.max_in_flight, 1)
    if args.timeout is not None and not (args.timeout > 0 and np.isfinite(args.timeout)):
        raise UsageError(f"--timeout: must be a positive number of seconds, got {args.timeout}")
    strategy, kind = plan_job(args)
    fmt = _choose("--format", args.format, INPUT_FORMATS) if args.format else None
    requests = load_requests(args.input, format=fmt, topics=args.topics, docs=args.docs)  # type: ignore[arg-type]
    if not requests:
        raise UsageError(f"input {args.input} holds no queries")
    _check_writable(requests, args.tag)
    out = Path(args.output)
    _check_output(out)
    mode: Literal["new", "resume", "overwrite"] = "resume" if args.resume else "overwrite" if args.overwrite else "new"
    if mode == "new":
        taken = [p for p in RunWriter.files(out) if p.exists()]
        if taken:
            raise UsageError(f"output {taken[0]} exists: pass --resume to finish it or --overwrite to start over")
    try:
        fmt_out: Literal["trec", "jsonl"] = _choose("--output-format", args.output_format, ("trec", "jsonl"))  # type: ignore[assignment]
        writer = RunWriter(
            out, requests, tag=args.tag, job=job_manifest(args, strategy, kind), mode=mode, format=fmt_out
        )
    except InvalidInputError as e:
        raise UsageError(str(e).removeprefix("path: ")) from None
    with writer:
        return _rerank_into(writer, args, requests, strategy, kind)


def _rerank_into(
    writer: RunWriter,
    args: argparse.Namespace,
    requests: List[Request],
    strategy: Union[Strategy, CascadePlan],
    kind: Optional[str],
) -> int:
    todo = [r for r in requests if r.qid not in writer.done]
    if writer.done:
        print(f"resuming: {len(writer.done)} of {len(requests)} queries already in {args.output}", file=sys.stderr)
    stats = RerankStats()
    t0 = time.perf_counter()
    signum = 0
    started = False
    try:
        if todo:
            started = True
            if isinstance(strategy, CascadePlan):  # the stages' scorers, built now (not for a finished job)
                try:
                    cascade = strategy.build(stage_scorer(args))
                except InvalidInputError as e:
                    raise UsageError(str(e).removeprefix("scorer: ")) from None
                rankings = rerank_stream(args, todo, cascade, None, stats)
            else:
                scorer = (
                    build_scorer(args, kind) if not getattr(args, "ray", None) else partial(build_scorer, args, kind)
                )
                rankings = rerank_stream(args, todo, strategy, scorer, stats)
            for ranking in rankings:
                writer.write(ranking)
    except KeyboardInterrupt as e:
        signum = e.signum if isinstance(e, Signalled) else signal.SIGINT
    if started or signum:
        wall = time.perf_counter() - t0
        outside = wall - stats.scorer_seconds
        print(
            f"{stats.queries} queries reranked ({len(requests) - len(todo)} resumed), {stats.calls} calls, {stats.docs_shown} documents shown, "
            f"{wall:.1f} s wall, {outside:.1f} s outside the scorer"
            + (
                f", {stats.tokens_in:,} tokens in, {stats.tokens_out:,} out"
                if stats.tokens_in or stats.tokens_out
                else ""
            )
            + (
                f", {len(stats.failed)} fell back to first-stage order "
                f"(see {writer.failed_path.name}; --resume retries them)"
                if stats.failed
                else ""
            ),
            file=sys.stderr,
        )
    if signum:
        why = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        print(
            f"{why}: {len(writer.records)} finished queries are kept in {writer.journal_path.name}; "
            f"run the same command with --resume to finish",
            file=sys.stderr,
        )
        return 128 + signum
    writer.finish()
    failed = [q for q, r in writer.records.items() if r.error is not None]
    return 1 if failed else 0


# --- eval, plot ----------------------------------------------------------------------------------


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


def _read_spend(path: Path) -> Dict[str, Dict[str, Any]]:
    """``{qid: spend}`` of a spend file (``RUN.spend.jsonl``: one JSON object per line, with its ``qid``)."""
    out: Dict[str, Dict[str, Any]] = {}
    for lineno, line in _io.read_lines(path, "spend"):  # split at \n only, BOM dropped
        obj = _io.parse_json(line, "spend", f"{path}, line {lineno}")
        if not isinstance(obj, dict) or "qid" not in obj:
            raise UsageError(f"{path}, line {lineno}: a spend line is a JSON object with a qid")
        out[str(obj["qid"])] = obj
    return out


def _run_flops(run_path: str, explicit: Optional[str]) -> Optional[Dict[str, float]]:
    """``{qid: FLOPs}`` from the run's spend file (``explicit``, else ``RUN.spend.jsonl`` when there is one);
    None when there is none, or when a spend file found beside the run holds no FLOPs."""
    side = Path(explicit) if explicit else Path(run_path + ".spend.jsonl")
    if not side.is_file():
        if explicit:
            raise UsageError(f"--spend {explicit}: no such file")
        return None
    flops = {q: float(v["flops"]) for q, v in _read_spend(side).items() if isinstance(v.get("flops"), (int, float))}
    if not flops and explicit:
        raise UsageError(
            f"--spend {explicit}: no query has a flops count (the scorer did not report FLOPs; "
            "HFScorer does, OpenAIScorer with flops_model=)"
        )
    return flops or None


def _efficiency(per: Dict[str, Dict[str, float]], metric: str, flops: Dict[str, float], name: str) -> Dict[str, float]:
    try:
        return rpp_qpp({q: v[metric] for q, v in per.items()}, flops)
    except InvalidInputError as e:
        raise UsageError(f"{name}: {e}") from None


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
            line += f"{float(np.mean(b - a)):>+10.4f}{paired_randomization_test(a, b):>18.4f}"
        print(line)
    # E2R-FLOPs (Peng et al. 2025): RPP, metric per PetaFLOP (mean over queries), and QPP, queries per PetaFLOP
    flops = [_run_flops(n, getattr(args, "spend", None) if k == 0 else None) for k, n in enumerate(names)]
    if any(f is not None for f in flops):
        qsets = [set(common) if len(names) == 2 else set(per[n]) for n in names]
        rows: List[Tuple[str, List[Optional[float]]]] = []
        eff = [
            None if f is None else {m: _efficiency({q: per[n][q] for q in qs}, m, f, n) for m in metrics}
            for n, f, qs in zip(names, flops, qsets)
        ]
        for m in metrics:
            rows.append((f"RPP {m}", [None if e is None else e[m]["rpp"] for e in eff]))
        rows.append(("QPP", [None if e is None else e[metrics[0]]["qpp"] for e in eff]))
        rows.append(("PFLOPs/query", [None if e is None else e[metrics[0]]["pflops"] for e in eff]))
        for label, xs in rows:
            cells = [f"{'-' if x is None else f'{x:.6g}':>20}" for x in xs]
            over = max(0, len(label) - width)  # a long label eats into the first column, which stays aligned
            pad = len(cells[0]) - len(cells[0].lstrip())
            cells[0] = cells[0][over:] if over < pad else " " + cells[0].lstrip()
            print(f"{label:<{width}}" + "".join(cells))
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
    kinds = plt.figure().canvas.get_supported_filetypes()
    plt.close("all")
    ext = Path(args.output).suffix.lstrip(".").lower()
    if ext not in kinds:
        raise UsageError(
            f"-o {args.output}: unknown image format {ext or '(none)'!r}: use a name ending in "
            + ", ".join(f".{k}" for k in sorted(kinds))
        )
    qrels = _load_qrels(args.qrels)
    m = args.metric
    from . import plotting

    paths = list(args.runs) + ([args.baseline] if args.baseline and args.baseline not in args.runs else [])
    labels = dict(zip(paths, plotting.run_labels(paths)))
    values: Dict[str, Dict[str, float]] = {}
    for path in paths:
        run = _load_run(path)
        _check_overlap(run, qrels, path)
        values[labels[path]] = {q: v[m] for q, v in _per_query(run, qrels, [m]).items()}
    base = labels[args.baseline] if args.baseline else None
    if args.against == "calls":
        points = {}
        for path in args.runs:
            side = Path(path + ".spend.jsonl")
            if not side.is_file():
                raise UsageError(
                    f"{side} not found: --against calls needs the spend file rankwise rerank writes beside a run"
                )
            spend = {}
            for lineno, line in _io.read_lines(side, "spend"):  # split at \n only, BOM dropped
                obj = _io.parse_json(line, "spend", f"{side}, line {lineno}")
                spend[obj["qid"]] = obj.get("calls", 0.0)
            per = values[labels[path]]
            points[labels[path]] = (
                float(np.mean([spend.get(q, 0.0) for q in per])),
                float(np.mean(list(per.values()))),
            )
        fig = plotting.cost_figure(
            points, m, baseline=None if base is None else (base, float(np.mean(list(values[base].values()))))
        )
    elif args.against == "flops":
        points = {}
        for path in args.runs:
            f = _run_flops(path, None)
            if f is None:
                raise UsageError(
                    f"{path}.spend.jsonl: not found or without FLOPs: --against flops needs the spend file of a run "
                    "whose scorer reports FLOPs (HFScorer; OpenAIScorer with flops_model=)"
                )
            per = values[labels[path]]
            e = _efficiency({q: {m: x} for q, x in per.items()}, m, f, path)
            points[f"{labels[path]} (RPP {e['rpp']:.3g}, QPP {e['qpp']:.3g})"] = (
                e["pflops"],
                float(np.mean(list(per.values()))),
            )
        fig = plotting.cost_figure(
            points,
            m,
            baseline=None if base is None else (base, float(np.mean(list(values[base].values())))),
            cost="PetaFLOPs per query",
        )
    else:
        fig = plotting.per_query_figure(values, m, baseline=base)
    try:
        fig.savefig(args.output, dpi=130)
    except OSError as e:
        raise UsageError(f"cannot write {args.output}: {e}") from None
    finally:
        plt.close(fig)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    requests = load_requests(EXAMPLES / "dl19_top30.json")
    qrels = read_qrels(EXAMPLES / "dl19_qrels.txt")
    strategy = build_strategy(args, args.strategy)
    bm25 = evaluate([first_stage_ranking(r) for r in requests], qrels, ["ndcg@10"])["ndcg@10"]
    print(
        f"rankwise {__version__} demo: {len(requests)} TREC DL19 queries x {len(requests[0].candidates)} BM25 candidates "
        f"(shipped in {EXAMPLES.name}/), reranked by {args.scorer} with {args.strategy}"
    )
    t1 = time.perf_counter()
    scorer = build_scorer(args, None)
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


def ints(text: str) -> Tuple[int, ...]:
    """A comma-separated list of integers, for a ``Tuple[int, ...]`` strategy field (TourRank's stages)."""
    return tuple(int(x) for x in text.split(","))


def _add_strategy_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("strategy options (each applies to the strategies named; unset = the strategy's default)")
    for dest, users in strategy_options().items():
        ann = str(users[0][1].type)
        kind: Any = ints if "Tuple" in ann else int if "int" in ann else str
        notes = {"step": "window // 2", "budget": "the sampler's own count"}
        where = ", ".join(
            f"{c.__name__} {notes.get(f.name, repr(f.default)) if f.default is None else repr(f.default)}"
            for c, f in users
        )
        listed: Dict[str, List[str]] = {}
        for c, f in users:
            choices = field_choices(c, f.name)
            if choices:
                listed.setdefault(", ".join(choices), []).append(c.__name__)
        if listed:
            where += "; choices: " + "; ".join(f"{', '.join(cs)}: {ch}" for ch, cs in listed.items())
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
        default=None,
        help="what a model or server scores: pointwise, listwise, pairwise or groupwise (one score per shown "
        "passage) (default: what --method or --strategy asks, else the scorer's own: pointwise for models, "
        "listwise for servers)",
    )
    g.add_argument(
        "--method",
        default=None,
        help="the model's method: yes_no, labels, cross_encoder, rank1 (Rank1 reasoning), tfrank (TFRank, "
        "think-free yes(score)), generate, first, reasonrank (ReasonRank reasoning), rearank (REARANK reasoning; "
        "its window: --strategy sliding_window), rank_r1 (Rank-R1, setwise), prp, icr (attention scores, local "
        "causal LMs), grouprank (one score per passage) (default: per kind)",
    )
    g.add_argument(
        "--max-thinking-tokens",
        type=int,
        default=None,
        metavar="N",
        help="the reasoning trace's budget of rank1 / reasonrank / rearank / rank_r1 / grouprank (default: 2000 "
        "for rank1, Rank1's; 3072 for reasonrank and grouprank; 1948 for rearank and 2040 for rank_r1, their "
        "2048 in all with the answer's share)",
    )
    g.add_argument(
        "--insert-scores",
        action="store_true",
        help="InsertRank: show each passage's first-stage (BM25) score after it in the listwise prompts "
        "(generate, first, reasonrank, rearank, rank_r1, grouprank); the input must carry scores",
    )
    g.add_argument("--model", default=None, help="the served model's name (OpenAI-compatible servers)")
    g.add_argument(
        "--flops-model",
        default=None,
        metavar="CONFIG",
        help="the served model's config.json (or its folder), so that a server's calls report FLOPs "
        "(E2R-FLOPs) in the spend file; local models read their own config",
    )
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
        default=None,
        help="prompts per forward pass of a local model (default: the scorer's own: 8, 32 for minilm)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="the deadline of one scorer request: a server's per-request deadline (default: its own, 60 s); "
        "for other scorers, the driver's per-call deadline (default: none)",
    )
    g.add_argument(
        "--concurrency", type=int, default=None, help="requests in flight to a server (default: the scorer's, 256)"
    )
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
    p.add_argument("-o", "--output", required=True, help="the run to write (TREC, or JSONL with --output-format)")
    p.add_argument(
        "--output-format",
        default="trec",
        metavar="{trec,jsonl}",
        help="trec: a TREC run; jsonl: rank_llm's Result JSONL, with each query's spend (default: %(default)s)",
    )
    p.add_argument(
        "--strategy",
        default=None,
        help=f"one of {', '.join(STRATEGIES)} ('-' or '_' alike) (default: fits the scorer's kind: "
        + ", ".join(f"{v} for {k}" for k, v in DEFAULT_STRATEGY.items())
        + " scorers; minilm is pointwise)",
    )
    p.add_argument("--depth", type=int, default=None, help="rerank only the top DEPTH candidates (default: all)")
    p.add_argument(
        "--stage",
        action="append",
        default=None,
        metavar="STRATEGY,scorer=SPEC[,depth=N,key=value...]",
        help="a cascade stage, repeated in order (e.g. --stage pointwise,scorer=minilm,depth=100 --stage "
        "sliding-window,scorer=http://host/v1,model=M,depth=20): keys are the strategy's parameters, depth, "
        "and the scorer's kind, method, model, device, dtype, batch_size, concurrency, timeout, temperature, seed",
    )
    p.add_argument(
        "--cascade",
        default=None,
        metavar="FILE.json",
        help='a cascade as a JSON list of stages: {"strategy", "params", "scorer", "depth", and scorer options}',
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="scorer calls per batch (default: the scorer's batch_size, else 32)",
    )
    p.add_argument("--retries", type=int, default=1, help="extra tries of a failing batch (default: %(default)s)")
    p.add_argument(
        "--max-in-flight",
        type=int,
        default=None,
        metavar="N",
        help="calls outstanding at a scorer that takes them one by one, e.g. a server "
        "(default: the scorer's max_in_flight, else its concurrency)",
    )
    p.add_argument(
        "--record",
        default=None,
        metavar="CALLS.jsonl",
        help="append every scorer call (query, doc ids in prompt order, prompt, answer, tokens, latency) to this file",
    )
    p.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="rerank on a Ray cluster (pip install 'rankwise[ray]'): local (the default: start one here), auto "
        "(the running one) or HOST:PORT / ray://HOST:PORT; each worker builds its own scorer",
    )
    p.add_argument("--workers", type=int, default=2, help="Ray workers (actors) with --ray (default: %(default)s)")
    p.add_argument(
        "--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray worker with --ray (default: %(default)s)"
    )
    p.add_argument("--format", default=None, help=f"input format: {', '.join(INPUT_FORMATS)} (default: sniffed)")
    p.add_argument("--topics", default=None, help="queries for a TREC-run input (qid<TAB>query or JSONL)")
    p.add_argument("--docs", default=None, help="passages for a TREC-run input (JSONL or docid<TAB>text)")
    p.add_argument("--tag", default="rankwise", help="run tag (default: %(default)s)")
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        "--resume",
        action="store_true",
        help="finish a job that stopped: keep the queries its journal (OUTPUT.rankwise.jsonl) holds and do the rest; "
        "refuses a file that another job or program wrote",
    )
    g.add_argument(
        "--overwrite",
        action="store_true",
        help="replace OUTPUT (the old files stay until the first query is done, and are replaced at the end)",
    )
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
    e.add_argument(
        "--spend",
        default=None,
        metavar="SPEND",
        help="the run's spend file (default: RUN.spend.jsonl when it is there); with FLOPs in it, RPP (metric per "
        "PetaFLOP) and QPP (queries per PetaFLOP) are printed, as E2R-FLOPs defines them",
    )
    e.set_defaults(func=cmd_eval)

    pl = sub.add_parser("plot", help="draw a metric per query, or against calls, for several runs")
    pl.add_argument("runs", nargs="+", metavar="RUN", help="TREC runs, one bar (or point) each")
    pl.add_argument("--qrels", required=True, help="TREC qrels")
    pl.add_argument("-o", "--output", required=True, help="image file (png, svg, pdf)")
    pl.add_argument("--metric", default="ndcg@10", help="default: %(default)s")
    pl.add_argument(
        "--baseline",
        metavar="RUN",
        help="draw each run's per-query differences against this run, with the paired randomization test "
        "(with --against calls: a line at its mean)",
    )
    pl.add_argument(
        "--against",
        choices=["query", "calls", "flops"],
        default="query",
        help="bars per query, or mean metric against mean calls or mean PetaFLOPs per query, with RPP and QPP "
        "(needs RUN.spend.jsonl) (default: %(default)s)",
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


class _StderrLines(logging.Handler):
    """The ``rankwise`` logger's records as one ``rankwise: message`` line each, on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        print("rankwise: " + " ".join(record.getMessage().split("\n")), file=sys.stderr)


def _show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    """A warning as one ``rankwise: ...`` line, without the Python source line."""
    text = " ".join(str(message).split("\n"))
    name = getattr(category, "__name__", "Warning")
    print(f"rankwise: {'warning' if name in ('UserWarning', 'Warning') else name}: {text}", file=sys.stderr)


def _configure_logging() -> None:
    if not any(isinstance(h, _StderrLines) for h in log.handlers):
        log.addHandler(_StderrLines())
    if log.level == logging.NOTSET:
        log.setLevel(logging.INFO)
    log.propagate = False


def main(argv: Optional[Sequence[str]] = None) -> int:
    top = parser()
    args = top.parse_args(argv)
    if not getattr(args, "func", None):
        top.print_help()
        return 2
    _configure_logging()
    old = {s: signal.signal(s, _raise_signalled) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = _run(args)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    if argv is None and code > 128:
        # stopped by a signal: do not wait for a scorer's threads (a stalled server) at exit
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _run(args: argparse.Namespace) -> int:
    try:
        return int(args.func(args))
    except UsageError as e:
        print(f"rankwise {args.command}: error: {e}", file=sys.stderr)
    except (RankwiseError, ImportError) as e:
        print(f"rankwise {args.command}: error: {e}", file=sys.stderr)
    except OSError as e:
        where = f": {e.filename}" if e.filename and str(e.filename) not in str(e.strerror) else ""
        print(f"rankwise {args.command}: error: {e.strerror or e}{where}", file=sys.stderr)
    except KeyboardInterrupt as e:  # outside the rerank loop (loading data or a model)
        signum = e.signum if isinstance(e, Signalled) else signal.SIGINT
        why = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
        print(f"rankwise {args.command}: {why}", file=sys.stderr)
        return 128 + signum
    return 2
