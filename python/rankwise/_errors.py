"""The rankwise exception tree.

Every error that rankwise raises on bad input is a :class:`RankwiseError`;
the input errors are also :class:`ValueError`, so ``except ValueError`` keeps
working for callers that do not know rankwise.
"""

from __future__ import annotations

__all__ = [
    "RankwiseError",
    "InvalidInputError",
    "EstimationError",
    "ScorerError",
    "ConvergenceWarning",
    "ScorerWarning",
]


class RankwiseError(Exception):
    """Base class of every rankwise exception."""


class InvalidInputError(RankwiseError, ValueError):
    """An argument has the wrong type, shape, length, range or value.

    The message starts with the argument's name.
    """


class EstimationError(RankwiseError, ValueError):
    """The input is valid but the requested estimate does not exist.

    Example: a maximum-likelihood Bradley–Terry fit (``prior=0``) where some
    item never loses. The message says which item and how to fix it.
    """


class ScorerError(RankwiseError, RuntimeError):
    """A scorer raised, returned the wrong number of answers, or returned an
    answer that is not one (NaN, a probability outside [0, 1], no ranking).

    The message names the queries concerned. ``rerank(on_error="fallback")``
    (the default) turns it into a fallback to the first-stage order for the
    affected queries instead, and warns with :class:`ScorerWarning`.
    """


class ScorerWarning(UserWarning):
    """Some queries kept their first-stage order because their scorer calls failed."""


class ConvergenceWarning(UserWarning):
    """An iterative method stopped at ``max_iter`` before reaching ``tol``."""
