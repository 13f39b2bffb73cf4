"""Scorers: what answers the calls a strategy plans.

The protocol (:mod:`rankwise.scorers._base`): a scorer takes a batch of
calls from many queries and returns one answer per call. This package holds
the protocol types, two scorers that need no model, :class:`Replay`
(recorded LLM calls) and :class:`Oracle` (a simulated judge), the wrapper
:class:`Cached` (answers repeated calls from a file), and the model
scorers :class:`HFScorer` and :class:`EmbeddingScorer` (torch and
transformers, ``pip install 'rankwise[hf]'``; imported on first use).
"""

from typing import Any

from ._base import Answer, Call, Kind, ListwiseCall, PairwiseCall, PointwiseCall, Scorer, as_scorer
from .adapters import RerankersScorer
from .cache import Cached
from .openai import OpenAIScorer
from .oracle import Oracle
from .replay import Replay
from .spec import from_spec, spec_kind

__all__ = [
    "Answer",
    "Call",
    "Kind",
    "ListwiseCall",
    "PairwiseCall",
    "PointwiseCall",
    "Scorer",
    "as_scorer",
    "Cached",
    "OpenAIScorer",
    "Oracle",
    "Replay",
    "RerankersScorer",
    "from_spec",
    "spec_kind",
    "HFScorer",
    "EmbeddingScorer",
]

# torch-backed scorers load on first use, so `import rankwise` never imports torch
_LAZY = {"HFScorer": ".hf", "EmbeddingScorer": ".embedding"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
