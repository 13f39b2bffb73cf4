"""rankwise: plan, drive and aggregate LLM reranking calls.

Planning (the strategies' state machines), aggregation, evaluation, fusion
and LLM-output parsing run in Rust (``rankwise._core``); the driver
(:func:`rerank`), the scorers (:mod:`rankwise.scorers`) and the command line
(:mod:`rankwise.cli`) are Python.
"""

from __future__ import annotations

from . import flops, scorers
from . import strategies as _strategies
from ._core import __version__
from ._errors import ConvergenceWarning, EstimationError, InvalidInputError, RankwiseError, ScorerError, ScorerWarning
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
from .cascade import Cascade, Stage
from .data import Candidate, Request, first_stage_ranking, load_documents, load_requests, load_topics
from .evaluation import evaluate, fuse, kendall_tau, paired_randomization_test, rpp_qpp
from .parsing import ParsedPermutation, ParsedScores, parse_permutation, parse_scores
from .rerank import RerankStats, rank_function, rerank, rerank_iter
from .reranker import Reranker
from .runs import Qrels, Ranking, Run, RunWriter, read_qrels, read_run, write_run
from .strategies import *  # noqa: F403 - every strategy class, from the registry's module

__all__ = [
    "__version__",
    "Cascade",
    "RerankStats",
    "Stage",
    "Reranker",
    "rank_function",
    "rerank",
    "rerank_iter",
    "scorers",
    "ScorerError",
    "ScorerWarning",
    "AggregationResult",
    "Candidate",
    "ParsedPermutation",
    "ParsedScores",
    "Qrels",
    "Ranking",
    "Request",
    "Run",
    "evaluate",
    "first_stage_ranking",
    "fuse",
    "kendall_tau",
    "load_documents",
    "load_requests",
    "load_topics",
    "parse_permutation",
    "parse_scores",
    "read_qrels",
    "read_run",
    "write_run",
    "RunWriter",
    "paired_randomization_test",
    "rpp_qpp",
    "flops",
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
__all__ += _strategies.__all__
