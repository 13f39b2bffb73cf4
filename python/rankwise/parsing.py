"""Parsing a listwise LLM's answer into a permutation (in Rust)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List

import numpy as np
import numpy.typing as npt

from . import _core
from ._errors import InvalidInputError
from ._validate import _integer

__all__ = ["ParsedPermutation", "parse_permutation"]

MAX_WINDOW = 1_000_000


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
    if not isinstance(text, str):
        raise InvalidInputError(f"text: must be a str, got {type(text).__name__}")
    k = _integer("n", n)
    if not 0 <= k <= MAX_WINDOW:
        raise InvalidInputError(f"n: must be in [0, {MAX_WINDOW}], got {k}")
    try:
        out = _core.parse_permutation(text, k)
    except UnicodeEncodeError:  # lone surrogates cannot become UTF-8 text for Rust
        out = _core.parse_permutation(text.encode("utf-8", "surrogatepass").decode("utf-8", "replace"), k)
    order, parsed, dup, oor, missing, letters = out
    return ParsedPermutation(order, parsed, list(dup), list(oor), list(missing), letters)
