"""rankwise: plan, drive and aggregate LLM reranking calls.

The aggregation kernels run in Rust (``rankwise._core``) on numpy arrays.
"""

from __future__ import annotations

from ._core import __version__
from ._errors import ConvergenceWarning, EstimationError, InvalidInputError, RankwiseError
from .aggregate import (
    AggregationResult,
    borda,
    bradley_terry,
    comparisons_from_rankings,
    copeland,
    elo,
    pagerank,
    plackett_luce,
    win_rate,
)

__all__ = [
    "__version__",
    "AggregationResult",
    "ConvergenceWarning",
    "EstimationError",
    "InvalidInputError",
    "RankwiseError",
    "borda",
    "bradley_terry",
    "comparisons_from_rankings",
    "copeland",
    "elo",
    "pagerank",
    "plackett_luce",
    "win_rate",
]
