"""The rankwise exception tree.

Every error that rankwise raises on bad input is a :class:`RankwiseError`;
the input errors are also :class:`ValueError`, so ``except ValueError`` keeps
working for callers that do not know rankwise.
"""

from __future__ import annotations

__all__ = ["RankwiseError", "InvalidInputError", "EstimationError", "ConvergenceWarning"]


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


class ConvergenceWarning(UserWarning):
    """An iterative method stopped at ``max_iter`` before reaching ``tol``."""
