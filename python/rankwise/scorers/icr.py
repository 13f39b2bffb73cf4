"""In-context re-ranking (ICR; Chen et al., "Attention in Large Language
Models Yields Efficient Zero-Shot Re-Rankers", ICLR 2025): the prompt, the
token spans and the calibrated scores, as plain Python and numpy.

:class:`~rankwise.scorers.HFScorer` (kind ``"groupwise"``, method ``"icr"``)
runs the model: one forward pass per window with eager attention (the query
prompt and the N/A prompt packed into one row, the passages read once), the
attention probabilities of the *query region* (every token from "Please find
information ..." to the end of the prompt, the chat suffix included) averaged
over its rows, summed over heads and over layers. That gives one score per
key token, ``s_t``; the same prompt with the query replaced by ``"N/A"``
gives ``s^NA_t``. A document's tokens are those of ``"[i] text"``. Its score
(higher is more relevant), by ``calibration``:

* ``"masked"`` (the paper's default, their ``masked_NA_calibration``):
  ``c_t = s_t - s^NA_t`` over the document's tokens; tokens with
  ``c_t <= mean(c) - 2 std(c)`` (``std`` with ddof=1, as ``torch.std``) are
  dropped and the score is the sum of the rest's ``c_t``; a one-token
  document, or one whose ``c`` has no spread, keeps every token;
* ``"subtract"``: ``sum s_t - sum s^NA_t``;
* ``"none"``: ``sum s_t``, uncalibrated (the N/A prompt is not run).

The passages are cut (``max_words``, then to fit ``max_length``) once, so
that the longer of the two prompts fits, and both prompts show the same
text; the documents' spans are then the same token positions in both.

The prompt follows the reference code (OSU-NLP-Group/In-Context-Reranking,
``retrieval_type="IE"``, ``prompt_template="instruct"``).
"""

from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from .._errors import InvalidInputError

__all__ = [
    "CALIBRATIONS",
    "NA_QUERY",
    "icr_content",
    "char_spans",
    "token_spans",
    "icr_scores",
    "check_calibration",
]

SEP = "\n\n"
OPENING = (
    "Here are some paragraphs:"  # the reference's " Here..." follows a raw "[INST]"; a chat template opens the turn
)
INSTRUCTION = "Please find information that are relevant to the following query in the paragraphs above."
NA_QUERY = "N/A"
CALIBRATIONS = ("masked", "subtract", "none")

Span = Tuple[int, int]


def check_calibration(calibration: str) -> str:
    if calibration not in CALIBRATIONS:
        raise InvalidInputError(f"icr_calibration: expected one of {', '.join(CALIBRATIONS)}, got {calibration!r}")
    return calibration


def _doc(i: int, text: str) -> str:
    return f"[{i + 1}] {text}"


def icr_content(query: str, passages: Sequence[str]) -> str:
    """The user message: the passages as ``[i] text``, then the instruction and the query."""
    docs = "".join(SEP + _doc(i, p) for i, p in enumerate(passages))
    return f"{OPENING}{docs}{SEP}{INSTRUCTION}{SEP}Query: {query.strip()}"


def char_spans(prompt: str, passages: Sequence[str]) -> Tuple[List[Span], int]:
    """Where each ``[i] text`` lies in the rendered ``prompt`` (character
    ``[start, end)``) and where the query region starts, found in order after
    the opening line (so a chat template's own text before it cannot match)."""
    at = prompt.find(OPENING)
    if at < 0:
        raise InvalidInputError("icr: the chat template dropped the prompt's opening line; cannot locate the passages")
    at += len(OPENING)
    spans: List[Span] = []
    for i, p in enumerate(passages):
        piece = _doc(i, p)
        start = prompt.find(piece, at)
        if start < 0:
            raise InvalidInputError(
                f"icr: passage [{i + 1}] is not in the rendered prompt (the chat template altered it)"
            )
        spans.append((start, start + len(piece)))
        at = start + len(piece)
    q = prompt.find(INSTRUCTION, at)
    if q < 0:
        raise InvalidInputError("icr: the instruction is not in the rendered prompt (the chat template altered it)")
    return spans, q


def token_spans(offsets: Sequence[Tuple[int, int]], spans: Sequence[Span], query_char: int) -> Tuple[List[Span], int]:
    """Character spans to token ``[start, end)`` ranges through a fast
    tokenizer's offset mapping: a span holds every (non-empty) token that
    overlaps it; the query region starts at the first token that ends after
    ``query_char`` and runs to the end."""
    ends = [(k, s, e) for k, (s, e) in enumerate(offsets) if e > s]
    out: List[Span] = []
    for i, (a, b) in enumerate(spans):
        toks = [k for k, s, e in ends if s < b and e > a]
        if not toks:
            raise InvalidInputError(f"icr: passage [{i + 1}] maps to no tokens")
        out.append((toks[0], toks[-1] + 1))
    q = next((k for k, _s, e in ends if e > query_char), None)
    if q is None:
        raise InvalidInputError("icr: the query region maps to no tokens")
    return out, q


def icr_scores(
    s: npt.ArrayLike, s_na: npt.ArrayLike, spans: Sequence[Span], calibration: str = "masked"
) -> List[float]:
    """Each document's score from the per-token attention of the query prompt
    (``s``) and of the N/A prompt (``s_na``; unused by ``"none"``), both
    indexed by the same token positions, and the documents' token ranges."""
    check_calibration(calibration)
    sq = np.asarray(s, dtype=np.float64)
    sn = np.asarray(s_na, dtype=np.float64)
    out: List[float] = []
    for a, b in spans:
        if calibration == "none":
            out.append(float(sq[a:b].sum()))
            continue
        c = sq[a:b] - sn[a:b]
        if calibration == "masked" and len(c) > 1:
            sd = float(c.std(ddof=1))
            if sd > 0:
                c = c[c > c.mean() - 2 * sd]
        out.append(float(c.sum()))
    return out
