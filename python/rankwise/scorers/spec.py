"""Scorers by name: ``from_spec("minilm")``, ``from_spec("http://host:8000/v1", model=...)``.

The specs, as the command line takes them:

* ``minilm``: the embedded MiniLM sentence encoder (:class:`EmbeddingScorer`), pointwise;
* a model folder or a hub id (``org/name``): :class:`HFScorer`, of ``kind`` (default
  pointwise) and ``method`` (default: per kind and model);
* ``http://…/v1`` or ``https://…/v1``: an OpenAI-compatible server (:class:`OpenAIScorer`),
  needs ``model``; ``kind`` default listwise;
* ``replay:CALLS.jsonl``: recorded calls (:class:`Replay`);
* ``oracle:QRELS_OR_RUN``: a SIMULATED judge that answers from qrels or a run
  (:class:`Oracle`), for tests and strategy studies, never for results;
* ``py:module:name``: any scorer object, scorer class (instantiated without
  arguments) or batch function in an importable module (``name`` defaults to
  ``scorer``).
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any, Dict, Optional

from .._errors import InvalidInputError
from ._base import KINDS, check_kind

__all__ = ["from_spec", "spec_kind", "method_kind"]

SPECS = (
    "minilm, a model folder or hub id, http(s)://server/v1, replay:FILE.jsonl, oracle:QRELS_OR_RUN or py:module:name"
)

log = logging.getLogger("rankwise")


def _py_object(spec: str) -> Any:
    module, _, attr = spec[len("py:") :].partition(":")
    if not module:
        raise InvalidInputError(f"scorer: {spec!r} names no module: use py:module:name")
    try:
        return getattr(importlib.import_module(module), attr or "scorer")
    except (ImportError, AttributeError) as e:
        raise InvalidInputError(f"scorer: cannot load {spec!r}: {e}") from None


def _is_model_path(spec: str) -> bool:
    return os.path.exists(spec) or (spec.count("/") == 1 and not spec.startswith("/") and " " not in spec)


def method_kind(method: Optional[str]) -> Optional[str]:
    """The kind of call a model's or server's ``method`` answers (``icr`` and
    ``grouprank``: groupwise, ``rank1``: pointwise, ...), from the method
    tables of :class:`HFScorer` and :class:`OpenAIScorer`; None for None or
    a method no table (or more than one kind) has."""
    if method is None:
        return None
    from .hf import METHODS as LOCAL
    from .openai import METHODS as SERVED

    kinds = {k for table in (LOCAL, SERVED) for k, methods in table.items() if method in methods}
    return kinds.pop() if len(kinds) == 1 else None


def spec_kind(spec: str, kind: Optional[str] = None) -> Optional[str]:
    """The kind of call the scorer :func:`from_spec` builds from ``spec`` (and
    ``kind``) answers, found without loading a model; None when it follows the
    strategy (a ``py:`` batch function without a ``kind`` attribute)."""
    if kind is not None:
        check_kind("a scorer", kind)
    if spec == "minilm":
        return "pointwise"
    if spec.startswith(("http://", "https://")):
        return kind or "listwise"
    if spec.startswith("replay:"):
        return kind or "listwise"
    if spec.startswith("oracle:"):
        return kind or "listwise"
    if spec.startswith("py:"):
        found = getattr(_py_object(spec), "kind", None)
        return str(found) if found in KINDS else kind
    if _is_model_path(spec):
        return kind or "pointwise"
    raise InvalidInputError(f"scorer: unknown scorer {spec!r}: use {SPECS}")


def from_spec(
    spec: str,
    *,
    kind: Optional[str] = None,
    method: Optional[str] = None,
    model: Optional[str] = None,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: Optional[int] = None,
    concurrency: Optional[int] = None,
    timeout: Optional[float] = None,
    temperature: float = 0.0,
    seed: int = 0,
    max_thinking_tokens: Optional[int] = None,
    insert_scores: bool = False,
    flops_model: Any = None,
) -> Any:
    """Build a scorer from a spec string (see the module docstring).

    Args:
        spec: what to build.
        kind: the kind of call a model or server answers (``"pointwise"``,
            ``"listwise"``, ``"pairwise"``, ``"groupwise"``); default per
            spec (see :func:`spec_kind`).
        method: the model's method (see :class:`HFScorer` and
            :class:`OpenAIScorer`); default per kind.
        model: the served model's name (servers; required there).
        device, dtype: torch device and dtype of local models, default ``"auto"``.
        batch_size: prompts per forward pass of a local model; default the
            scorer's own (8 for :class:`HFScorer`, 32 for MiniLM).
        concurrency: requests in flight to a server; default the scorer's own (256).
        timeout: the deadline of one server request in seconds; default the
            scorer's own (60 s).
        temperature, seed: noise and seed of the simulated ``oracle:`` judge,
            default 0 and 0.
        max_thinking_tokens: the trace budget of the reasoning methods (rank1,
            reasonrank, grouprank) of a model or server; default the method's own.
        insert_scores: InsertRank, first-stage scores in the listwise prompts
            of a model or server (default off).
        flops_model: the served model's shape for a server's FLOPs (a config
            dict or a :class:`rankwise.flops.ModelShape`; see
            :class:`OpenAIScorer`); a local model reads its own config. Default None.

    Raises:
        InvalidInputError: an unknown spec, a missing ``model`` for a server,
            a ``py:`` name that cannot be imported or is not a scorer, a kind
            or method the scorer does not take.
    """
    from .openai import OpenAIScorer
    from .oracle import Oracle
    from .replay import Replay

    if not isinstance(spec, str) or not spec:
        raise InvalidInputError(f"scorer: expected a spec string ({SPECS}), got {spec!r}")
    if kind is not None:
        check_kind("a scorer", kind)
    if flops_model is not None and not spec.startswith(("http://", "https://")):
        raise InvalidInputError(
            "flops_model: applies to an OpenAI-compatible server; a local model reads its own config, "
            f"and {spec.split(':')[0]!r} reports no FLOPs"
        )
    if spec == "minilm" and (insert_scores or max_thinking_tokens is not None):
        raise InvalidInputError("insert_scores: and max_thinking_tokens apply to a model or a server, not to minilm")
    if spec == "minilm":
        if kind not in (None, "pointwise"):
            raise InvalidInputError(f"kind: minilm is a pointwise scorer, got {kind!r}")
        if dtype not in ("auto", "float32", "bfloat16"):
            raise InvalidInputError(f"dtype: minilm takes auto, float32 or bfloat16, got {dtype!r}")
        extra: Dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
        from .embedding import EmbeddingScorer

        return EmbeddingScorer(device=device, dtype=dtype, **extra)
    if spec.startswith(("http://", "https://")):
        if not model:
            raise InvalidInputError("model: an OpenAI-compatible server needs the served model's name")
        extra_t: Dict[str, Any] = {} if timeout is None else {"timeout": float(timeout)}
        if insert_scores:
            extra_t["insert_scores"] = True
        if max_thinking_tokens is not None:
            extra_t["max_thinking_tokens"] = max_thinking_tokens
        if flops_model is not None:
            extra_t["flops_model"] = flops_model
        return OpenAIScorer(spec, model, kind=kind or "listwise", method=method, concurrency=concurrency, **extra_t)
    if (insert_scores or max_thinking_tokens is not None) and not _is_model_path(spec):
        raise InvalidInputError(
            "insert_scores: and max_thinking_tokens apply to a model or an OpenAI-compatible server, "
            f"not to {spec.split(':')[0]!r}"
        )
    if spec.startswith("replay:"):
        return Replay.from_jsonl(spec[len("replay:") :])
    if spec.startswith("oracle:"):
        path = spec[len("oracle:") :]
        from ..runs import read_qrels, read_run

        if not Path(path).is_file():
            raise InvalidInputError(f"scorer: oracle reference {path} does not exist or is not a file")
        with open(path, encoding="utf-8", errors="replace") as f:
            first = next((ln.split() for ln in f if ln.strip() and not ln.lstrip().startswith("#")), [])
        reference: Any = read_qrels(path) if len(first) == 4 else read_run(path, order="rank")
        log.warning("the oracle scorer is a SIMULATED judge; its numbers are simulations")
        return Oracle(reference, kind=kind or "listwise", temperature=temperature, seed=seed)  # type: ignore[arg-type]
    if spec.startswith("py:"):
        obj = _py_object(spec)
        if isinstance(obj, type):
            try:
                obj = obj()
            except Exception as e:
                raise InvalidInputError(f"scorer: {spec!r} could not be built without arguments: {e}") from None
        if not (callable(obj) or callable(getattr(obj, "submit", None))):
            raise InvalidInputError(
                f"scorer: {spec!r} is a {type(obj).__name__}, not a scorer (a function of a batch of calls)"
            )
        return obj
    if not _is_model_path(spec):
        raise InvalidInputError(f"scorer: unknown scorer {spec!r}: use {SPECS}")
    from .hf import HFScorer

    return HFScorer.from_pretrained(
        spec,
        kind=kind or "pointwise",
        method=method,
        device=device,
        dtype=dtype,
        batch_size=batch_size or 8,
        max_thinking_tokens=max_thinking_tokens,
        insert_scores=insert_scores,
    )
