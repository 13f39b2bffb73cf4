"""``rankwise rerank --stage ... --stage ...`` and ``--cascade FILE.json``: a
:class:`~rankwise.Cascade` from the command line.

A ``--stage`` is ``STRATEGY,key=value,...``: ``scorer=`` (a
:func:`~rankwise.scorers.from_spec` spec, required), ``depth=``, the scorer
options ``kind``, ``method``, ``model``, ``device``, ``dtype``,
``batch_size`` (prompts per forward pass), ``concurrency``, ``timeout``,
``temperature`` and ``seed`` (of an ``oracle:`` judge), and any other key
is a parameter of the strategy (``window=20``). A ``--cascade`` file is a
JSON list of ``{"strategy": ..., "params": {...}, "scorer": ..., "depth": ...,
<scorer options>}``. The global scorer options (``--model``, ``--device``,
``--oracle-seed``, ...) are every stage's defaults. Stages with the same
scorer and options share one scorer (one model in memory).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from ._errors import InvalidInputError
from .cascade import Cascade, Stage
from .strategies import Strategy

#: stage keys that configure the scorer: key -> the global option (args dest) that is its default
SCORER_KEYS: Dict[str, str] = {
    "kind": "kind",
    "method": "method",
    "model": "model",
    "device": "device",
    "dtype": "dtype",
    "batch_size": "model_batch_size",
    "concurrency": "concurrency",
    "timeout": "timeout",
    "temperature": "oracle_temperature",
    "seed": "oracle_seed",
}
_NUMERIC = {"batch_size": int, "concurrency": int, "timeout": float, "temperature": float, "seed": int}


def _k(name: str) -> str:
    return name.lower().replace("-", "_")


@dataclasses.dataclass
class StagePlan:
    """One stage as the command line gave it, before any scorer is built."""

    strategy: Strategy
    spec: str
    depth: Optional[int]
    options: Dict[str, Any]  # from_spec's keyword arguments, kind resolved

    def manifest(self) -> Dict[str, Any]:
        from .cli import strategy_name

        params = {f.name: getattr(self.strategy, f.name) for f in dataclasses.fields(self.strategy)}
        scorer = {"spec": self.spec, **{k: self.options[k] for k in ("kind", "method", "model", "dtype")}}
        if self.spec.startswith("oracle:"):
            scorer.update(temperature=self.options["temperature"], seed=self.options["seed"])
        return {
            "strategy": {"name": strategy_name(type(self.strategy)), **params},
            "scorer": scorer,
            "depth": self.depth,
        }


@dataclasses.dataclass
class CascadePlan:
    """The stages of a cascade job: what the journal records, and the
    :class:`~rankwise.Cascade` it builds (scorers built only then)."""

    stages: List[StagePlan]

    def manifest(self) -> Dict[str, Any]:
        return {"cascade": [s.manifest() for s in self.stages]}

    def build(self, make: Callable[[str, Dict[str, Any]], Any]) -> Cascade:
        built: Dict[str, Any] = {}
        stages = []
        for s in self.stages:
            key = json.dumps([s.spec, s.options], sort_keys=True, default=str)
            if key not in built:
                built[key] = make(s.spec, s.options)
            stages.append(Stage(s.strategy, built[key], s.depth))
        return Cascade(stages)


def _field_value(cls: type, name: str, raw: Any, where: str) -> Any:
    """``raw`` (text from --stage, or a JSON value) as the field's type."""
    from .cli import _choose, field_choices

    choices = field_choices(cls, name)
    if choices:
        return _choose(f"{where} {name}", str(raw), choices)
    if not isinstance(raw, str):
        return raw
    hint = typing.get_type_hints(cls).get(name)
    args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    for t in args:
        if t is bool:
            if raw.lower() in ("true", "1", "yes"):
                return True
            if raw.lower() in ("false", "0", "no"):
                return False
        elif t in (int, float):
            try:
                return t(raw)
            except ValueError:
                continue
        elif t is str:
            return raw
    if raw.lower() in ("none", "null"):
        return None
    raise InvalidInputError(f"{where}: {name}={raw!r} is not a valid {getattr(hint, '__name__', str(hint))}")


def _stage(
    args: argparse.Namespace, where: str, name: str, params: Dict[str, Any], spec: Any, depth: Any, sc: Dict[str, Any]
) -> StagePlan:
    from .cli import _flexible_kinds, strategy_class, strategy_name
    from .scorers import spec_kind

    cls = strategy_class(str(name))
    fields = {f.name for f in dataclasses.fields(cls) if f.name != "depth"}
    kwargs: Dict[str, Any] = {}
    for key, raw in params.items():
        if _k(key) not in fields:
            raise InvalidInputError(
                f"{where}: {strategy_name(cls)} has no parameter {key!r} (it takes {', '.join(sorted(fields)) or 'none'})"
            )
        kwargs[_k(key)] = _field_value(cls, _k(key), raw, where)
    if not isinstance(spec, str) or not spec:
        raise InvalidInputError(f"{where}: a stage needs scorer=SPEC (e.g. scorer=minilm)")
    if depth is not None:
        try:
            depth = int(depth)
        except (TypeError, ValueError):
            raise InvalidInputError(f"{where}: depth must be a whole number, got {depth!r}") from None
        if depth < 1:
            raise InvalidInputError(f"{where}: depth must be at least 1, got {depth}")
    try:
        strategy = cls(**kwargs)
    except InvalidInputError as e:
        raise InvalidInputError(f"{where}: {strategy_name(cls)}: {e}") from None
    options: Dict[str, Any] = {key: getattr(args, dest, None) for key, dest in SCORER_KEYS.items()}
    for key, raw in sc.items():
        if key in _NUMERIC and isinstance(raw, str):
            try:
                raw = _NUMERIC[key](raw)
            except ValueError:
                raise InvalidInputError(f"{where}: {key}={raw!r} is not a number") from None
        options[key] = raw
    kind = options["kind"]
    try:
        natural = spec_kind(spec, kind)
    except InvalidInputError as e:
        raise InvalidInputError(f"{where}: {str(e).removeprefix('scorer: ')}") from None
    if kind is not None and natural is not None and natural != kind:
        raise InvalidInputError(f"{where}: kind={kind}: {spec} is a {natural} scorer")
    if kind is None and strategy.call_kind in _flexible_kinds(spec):
        options["kind"] = strategy.call_kind
    if spec.startswith(("http://", "https://")) and not options["model"]:
        raise InvalidInputError(f"{where}: an OpenAI-compatible server needs model=NAME")
    return StagePlan(strategy, spec, depth, options)


def parse_stage(args: argparse.Namespace, i: int, text: str) -> StagePlan:
    """``--stage "STRATEGY,key=value,..."``."""
    where = f"--stage {i + 1}"
    parts = [p.strip() for p in text.split(",")]
    if not parts[0] or "=" in parts[0]:
        raise InvalidInputError(f"{where}: start with the strategy, e.g. 'pointwise,scorer=minilm', got {text!r}")
    params: Dict[str, Any] = {}
    sc: Dict[str, Any] = {}
    spec: Optional[str] = None
    depth: Optional[str] = None
    for p in parts[1:]:
        key, eq, value = p.partition("=")
        if not eq or not key:
            raise InvalidInputError(f"{where}: expected key=value, got {p!r}")
        k = _k(key.strip())
        if k == "scorer":
            spec = value
        elif k == "depth":
            depth = value
        elif k in SCORER_KEYS:
            sc[k] = value
        else:
            params[k] = value
    return _stage(args, where, parts[0], params, spec, depth, sc)


def parse_cascade_file(args: argparse.Namespace, path: str) -> List[StagePlan]:
    """``--cascade FILE.json``: a list of stage objects."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"--cascade: {path} does not exist or is not a file")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidInputError(f"--cascade: {path} is not JSON: {e}") from None
    if not isinstance(data, list) or not data:
        raise InvalidInputError(f"--cascade: {path} must hold a non-empty JSON list of stages")
    out = []
    for i, obj in enumerate(data):
        where = f"--cascade {path}, stage {i + 1}"
        if not isinstance(obj, dict):
            raise InvalidInputError(f"{where}: expected an object, got {type(obj).__name__}")
        unknown = set(obj) - {"strategy", "params", "scorer", "depth"} - set(SCORER_KEYS)
        if unknown:
            raise InvalidInputError(
                f"{where}: unknown key {sorted(unknown)[0]!r} (keys: strategy, params, scorer, depth, "
                f"{', '.join(SCORER_KEYS)})"
            )
        if not isinstance(obj.get("strategy"), str):
            raise InvalidInputError(f'{where}: needs "strategy": a strategy name')
        params = obj.get("params", {})
        if not isinstance(params, dict):
            raise InvalidInputError(f'{where}: "params" must be an object')
        sc = {k: obj[k] for k in SCORER_KEYS if k in obj}
        out.append(_stage(args, where, obj["strategy"], params, obj.get("scorer"), obj.get("depth"), sc))
    return out


def plan_cascade(args: argparse.Namespace) -> CascadePlan:
    """The cascade that ``--stage`` (repeated) or ``--cascade`` gives."""
    if args.stage and args.cascade:
        raise InvalidInputError("--stage and --cascade: give the stages one way, not both")
    for flag, value in (("--strategy", args.strategy), ("--depth", args.depth), ("--ray", getattr(args, "ray", None))):
        if value is not None:
            raise InvalidInputError(f"{flag} does not apply to a cascade: each --stage names its strategy and depth")
    if args.record is not None:
        raise InvalidInputError("--record does not apply to a cascade (its stages have different scorers)")
    stages = [parse_stage(args, i, t) for i, t in enumerate(args.stage)] if args.stage else []
    if args.cascade:
        stages = parse_cascade_file(args, args.cascade)
    return CascadePlan(stages)


def stage_scorer(args: argparse.Namespace) -> Callable[[str, Dict[str, Any]], Any]:
    """Builds a stage's scorer, as :func:`rankwise.scorers.from_spec` does."""

    def make(spec: str, options: Dict[str, Any]) -> Any:
        from .scorers import from_spec

        return from_spec(spec, **options)

    return make
