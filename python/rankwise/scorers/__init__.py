"""Scorers: what answers the calls a strategy plans.

The protocol (:mod:`rankwise.scorers._base`): a scorer takes a batch of
calls from many queries and returns one answer per call. This package holds
the protocol types and two scorers that need no model: :class:`Replay`
(recorded LLM calls) and :class:`Oracle` (a simulated judge).
"""

from ._base import Call, Kind, ListwiseCall, PairwiseCall, PointwiseCall, Scorer, as_scorer
from .oracle import Oracle
from .replay import Replay

__all__ = [
    "Call",
    "Kind",
    "ListwiseCall",
    "PairwiseCall",
    "PointwiseCall",
    "Scorer",
    "as_scorer",
    "Oracle",
    "Replay",
]
