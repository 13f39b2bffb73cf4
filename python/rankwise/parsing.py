"""Parsing an LLM's answer (in Rust): a listwise one into a permutation, a
groupwise one into one score per shown document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Tuple

import numpy as np
import numpy.typing as npt

from . import _core
from ._errors import InvalidInputError
from ._validate import _integer

__all__ = ["ParsedPermutation", "parse_permutation", "ParsedScores", "parse_scores"]

MAX_WINDOW: int = _core.MAX_WINDOW  # the parsers' limit, from Rust


@dataclass(frozen=True)
class ParsedPermutation:
    """A permutation of ``range(n)`` read from an LLM answer, and what was repaired.

    Attributes:
        order: int64 array, a permutation of ``range(n)``, best first.
        parsed: how many leading positions came from the text.
        duplicates: 0-based ids the text named again (dropped).
        out_of_range: ids outside the window (dropped), 0-based like every
            field here, whatever the text wrote: ``[9]`` is 8, ``[0]`` is -1,
            ``[Z]`` is 25.
        missing: 0-based ids never named, appended in prompt order.
        letters: whether the answer used letters (``[A] > [C]``) instead of
            numbers; False when it named no identifier at all.
    """

    order: npt.NDArray[np.int64]
    parsed: int
    duplicates: List[int]
    out_of_range: List[int]
    missing: List[int]
    letters: bool

    @property
    def clean(self) -> bool:
        """True when every id was named exactly once and in range."""
        return not (self.duplicates or self.out_of_range or self.missing)


def parse_permutation(text: str, n: int) -> ParsedPermutation:
    """Turn ``"[3] > [1] > [2]"`` and its messy variants into a permutation.

    Never raises on a ``str`` (lone surrogates such as ``"\\ud83d"`` read
    as U+FFFD, which names nothing): missing brackets, letters ``A..W``, digits of
    other scripts (fullwidth, Arabic-Indic, ...), reasoning before a closing
    ``</think>`` (ignored), repeated ids (first occurrence wins), ids outside
    ``1..n`` (dropped) and truncated output are all repaired, and the result
    says what was. Ids never named are appended in prompt order.

    Args:
        text: the model's answer.
        n: the number of items in the prompt.
    """
    text, k = _checked(text, n)
    order, parsed, dup, oor, missing, letters = _core.parse_permutation(text, k)
    return ParsedPermutation(order, parsed, list(dup), list(oor), list(missing), letters)


def _checked(text: Any, n: Any) -> Tuple[str, int]:
    """The text (lone surrogates as U+FFFD, which Rust's UTF-8 cannot hold) and ``n``, checked."""
    if not isinstance(text, str):
        raise InvalidInputError(f"text: must be a str, got {type(text).__name__}")
    k = _integer("n", n)
    if not 0 <= k <= MAX_WINDOW:
        raise InvalidInputError(f"n: must be in [0, {MAX_WINDOW}], got {k}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text, k


@dataclass(frozen=True)
class ParsedScores:
    """One score per prompt document read from a groupwise LLM answer, and what was repaired.

    Attributes:
        scores: float64 array of ``n`` scores in prompt order, higher is
            better; NaN where the text gave a document no score.
        parsed: how many documents got a score.
        duplicates: 0-based ids scored again (the first score wins).
        out_of_range: ids outside the window (dropped), 0-based: ``[9]`` is 8, ``[0]`` is -1.
        missing: 0-based ids without a score.
    """

    scores: npt.NDArray[np.float64]
    parsed: int
    duplicates: List[int]
    out_of_range: List[int]
    missing: List[int]

    @property
    def clean(self) -> bool:
        """True when every document got exactly one score and no id was out of range."""
        return not (self.duplicates or self.out_of_range or self.missing)


def parse_scores(text: str, n: int) -> ParsedScores:
    """Read one score per document from a groupwise answer (GroupRank style).

    Never raises on a ``str``. Only the text after the last ``</think>``
    counts, inside ``<answer>...</answer>`` when there is one; digits of other
    scripts read as ASCII. A document is named by a bracketed number (``[3]``
    or ``[ 3 ]``, 1-based, also as a JSON key ``"3"`` or ``"[3]"``) and its score is the
    first number after it, before the next document and within 24
    characters: ``[3]: 7``, ``[3] = 0.8``, ``[3] score 7/10``, ``{"3": 7}``.
    Scores may be signed (a ``-`` or ``−`` attached to the digits; a
    spaced one, ``[2] - 5``, is a separator), have an exponent (``5e-05``) or
    a leading dot (``.5``). Without any bracketed id, the numbers of the text are the
    scores in prompt order (``7, 3, 9``). The first score of a document
    wins; a document without one is NaN (the planners put it after the
    scored ones and count the answer as repaired).

    Args:
        text: the model's answer.
        n: the number of documents in the prompt.
    """
    text, k = _checked(text, n)
    scores, parsed, dup, oor, missing = _core.parse_scores(text, k)
    return ParsedScores(scores, parsed, list(dup), list(oor), list(missing))
