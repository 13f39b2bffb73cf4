"""Reasoning rerankers and InsertRank: the prompts and the text handling that
:class:`~rankwise.scorers.HFScorer` and :class:`~rankwise.scorers.OpenAIScorer` share.

* **Rank1** (Weller et al., 2025; pointwise): the model writes a trace after
  ``<think>`` and closes it with ``</think>``; the relevance is P(" true")
  against P(" false") at the token after ``</think>``. The prompt and the
  default budget (2,000 generated tokens, ``max_output_tokens`` in the Rank1
  code) are Rank1's. A trace that runs out of budget is cut after its last
  complete sentence and closed with ``"\\n</think>"``, as Rank1's
  ``_fix_incomplete_responses`` does; the scorer counts and logs it.
* **ReasonRank / Rank-K** (Liu et al., 2025; listwise): ReasonRank's prompt
  (its system prompt and one user message, as its ``create_prompt``) and
  budget (``reasoning_maxlen`` 3072 + 100 answer tokens, greedy); the answer is
  the text inside ``<answer>...</answer>``, else whatever follows ``</think>``. A trace that
  runs out of budget is closed (``"\\n</think>\\n<answer>"``) and the answer
  generated after it.
* **Rank-R1** (Zhuang et al., 2025; setwise): Rank-R1's system and user
  prompts (its README's, the passages as ``[i] text`` lines), a trace and
  the label of the single most relevant passage inside ``<answer>``; one
  budget of 2,048 generated tokens (2,040 for the trace and 8 for the
  answer; Rank-R1's ``max_new_tokens``). The answer is handed to the
  planner as that passage first and the others in prompt order (a setwise
  plan uses only the best). Rank-R1 runs it with ``Setwise(set_size=20,
  top_k=10)`` (``num_child=19``, heapsort).
* **GroupRank** (Sun et al., 2025; groupwise): the window is shown as in
  ReasonRank's prompt, and the model compares the passages with each other,
  may reason inside ``<think>``, and gives every passage a relevance score
  from 0 to 10 inside ``<answer>``, one ``[i]: score`` line each, read by
  :func:`~rankwise.parse_scores`. GroupRank's released prompt was not at
  hand: this prompt is rankwise's own in the shape the paper describes
  (query and group in, one score per document out), and its budget is
  ReasonRank's. A trace that runs out of budget is closed as ReasonRank's.
* **InsertRank** (Seetharaman et al., 2025): each passage of a listwise
  prompt is followed by ``BM25 score: S`` and the prompt says that the
  scores come from a lexical retriever. The format is the one of rank_llm's
  InsertRank pull request (castorini/rank_llm#258, which says it follows the
  paper): the raw score with three decimals. ``score_scale="minmax100"``
  rescales each window's scores to integers 0..100 instead; the paper's own
  ablation over scales was not at hand to check.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

from .._errors import InvalidInputError
from . import prompts

__all__ = [
    "RANK1_MAX_THINKING_TOKENS",
    "REASONRANK_MAX_THINKING_TOKENS",
    "REASONRANK_SYSTEM",
    "THINK_OPEN",
    "THINK_CLOSE",
    "Trace",
    "rank1_prompt",
    "rank1_close",
    "split_trace",
    "answer_text",
    "reasonrank_messages",
    "grouprank_messages",
    "rank_r1_messages",
    "default_thinking_tokens",
    "best_first",
    "scaled_scores",
    "shown_scores",
    "thinking_share",
]

log = logging.getLogger("rankwise")

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
RANK1_MAX_THINKING_TOKENS = 2000  # Rank1's max_output_tokens
REASONRANK_MAX_THINKING_TOKENS = 3072  # ReasonRank's --reasoning_maxlen (run_rank_llm.sh)
REASONRANK_ANSWER_TOKENS = 100  # ReasonRank generates reasoning_maxlen + 100 tokens
RANK1_CLOSE = "\n" + THINK_CLOSE
REASONRANK_CLOSE = "\n" + THINK_CLOSE + "\n" + ANSWER_OPEN
GROUPRANK_MAX_SCORE = 10  # the top of the 0..10 scale the prompt asks for
RANK_R1_ANSWER_TOKENS = 8  # "<answer>[12]</answer>"
RANK_R1_MAX_THINKING_TOKENS = 2048 - RANK_R1_ANSWER_TOKENS  # Rank-R1 generates max_new_tokens=2048 in all
REASONRANK_SYSTEM = (
    "You are RankLLM, an intelligent assistant that can rank passages based on their relevance to the query. "
    "Given a query and a passage list, you first thinks about the reasoning process in the mind and then provides "
    "the answer (i.e., the reranked passage list). The reasoning process and answer are enclosed within <think> "
    "</think> and <answer> </answer> tags, respectively, i.e., <think> reasoning process here </think> "
    "<answer> answer here </answer>."
)


def default_thinking_tokens(method: str) -> int:
    """The trace budget of a reasoning method when none is given: its paper's."""
    if method == "rank1":
        return RANK1_MAX_THINKING_TOKENS
    if method == "rank_r1":
        return RANK_R1_MAX_THINKING_TOKENS
    return REASONRANK_MAX_THINKING_TOKENS


def rank1_prompt(query: str, passage: str) -> str:
    """Rank1's prompt, raw (no chat template: Rank1 is trained from base models); it ends with ``<think>``."""
    return (
        "Determine if the following passage is relevant to the query. Answer only with 'true' or 'false'.\n"
        f"Query: {query}\nPassage: {passage}\n{THINK_OPEN}"
    )


def rank1_close(trace: str) -> str:
    """A trace that ran out of budget, cut after its last complete sentence
    (as Rank1 does) and closed: what the prompt is continued with before P(true) is read."""
    text = trace.rstrip()
    if not text.endswith((".", "!", "?")):
        cut = max(text.rfind("."), text.rfind("!"), text.rfind("?"))
        if cut != -1:
            text = text[: cut + 1]
    return "\n" + text.strip() + RANK1_CLOSE


@dataclass(frozen=True)
class Trace:
    """A generation split at ``</think>``.

    Attributes:
        thinking: the reasoning text (without the tags).
        answer: what follows ``</think>`` ("" when it was never closed).
        closed: whether the model closed the thought itself.
    """

    thinking: str
    answer: str
    closed: bool


def split_trace(text: str, reasoning: Optional[str] = None) -> Trace:
    """Split a generation into thinking and answer. ``reasoning`` is a server's
    separate ``reasoning_content`` (vLLM/SGLang reasoning parsers, DeepSeek):
    then ``text`` is the answer alone. Otherwise the thought ends at the last
    ``</think>`` (a leading ``<think>`` is dropped); without one, the whole text is thinking."""
    if reasoning is not None and reasoning != "":
        return Trace(reasoning.strip(), text, True)
    at = text.rfind(THINK_CLOSE)
    if at == -1:
        body = text.split(THINK_OPEN, 1)[1] if THINK_OPEN in text else text
        if THINK_OPEN not in text and ANSWER_OPEN in text:  # a think-free answer
            return Trace("", text, True)
        return Trace(body.strip(), "", False)
    head = text[:at]
    head = head.split(THINK_OPEN, 1)[1] if THINK_OPEN in head else head
    return Trace(head.strip(), text[at + len(THINK_CLOSE) :], True)


def answer_text(answer: str) -> str:
    """The permutation text of a listwise answer: inside ``<answer>...</answer>``
    when present (or after an unclosed ``<answer>``), else the answer as it is."""
    at = answer.rfind(ANSWER_OPEN)
    if at == -1:
        return answer.strip()
    body = answer[at + len(ANSWER_OPEN) :]
    end = body.find(ANSWER_CLOSE)
    return (body if end == -1 else body[:end]).strip()


def thinking_share(tokens_out: int, trace: Trace) -> int:
    """Thinking tokens estimated from a total and the trace's text: the
    thinking's share of the characters, when the server reports no
    ``reasoning_tokens``."""
    total = len(trace.thinking) + len(trace.answer)
    if tokens_out <= 0 or total == 0:
        return 0
    return int(round(tokens_out * len(trace.thinking) / total))


# --- InsertRank ----------------------------------------------------------------------

SCORE_SCALES = ("minmax100", "raw")


def scaled_scores(scores: Sequence[float], scale: str = "raw") -> List[str]:
    """The first-stage scores of one window as the prompt shows them.

    ``raw`` (default): the scores as given, three decimals; ``minmax100``:
    min-max scaled to integers 0..100 within the window (the best shown
    passage 100, the worst 0; all equal: 100 each).
    """
    if scale not in SCORE_SCALES:
        raise InvalidInputError(f"score_scale: one of {', '.join(SCORE_SCALES)}, got {scale!r}")
    vals = [float(s) for s in scores]
    if not all(math.isfinite(v) for v in vals):
        raise InvalidInputError("insert_scores: the first-stage scores must be finite")
    if scale == "raw":
        return [f"{v:.3f}" for v in vals]
    lo, hi = min(vals, default=0.0), max(vals, default=0.0)
    if hi == lo:
        return ["100"] * len(vals)
    return [str(int(round(100 * (v - lo) / (hi - lo)))) for v in vals]


def shown_scores(docs: Sequence[Any], scale: str) -> List[str]:
    """``scaled_scores`` of a call's candidates; an :class:`InvalidInputError`
    when none of them carries a first-stage score (all 0.0, the default)."""
    scores = [float(getattr(d, "score", 0.0)) for d in docs]
    if all(s == 0.0 for s in scores):
        ids = ", ".join(str(getattr(d, "docid", "?")) for d in docs[:3])
        raise InvalidInputError(
            f"insert_scores: the candidates of this call ({ids}{', ...' if len(docs) > 3 else ''}) have no "
            "first-stage scores (all 0.0); give scores in the input or leave insert_scores off"
        )
    return scaled_scores(scores, scale)


def with_scores(passages: Sequence[str], scores: Optional[Sequence[str]]) -> List[str]:
    """Passages with ``BM25 score: S`` on a line after each, when ``scores`` is given."""
    if scores is None:
        return list(passages)
    return [f"{p}\nBM25 score: {s}" for p, s in zip(passages, scores)]


SCORE_NOTE = (
    " You are also given the BM25 scores from a lexical retrieval system: consider both the passage content "
    "and the BM25 scores as signals of relevance."
)


def listwise_messages(
    query: str, passages: Sequence[str], *, letters: bool = False, scores: Optional[Sequence[str]] = None
) -> List[prompts.Message]:
    """RankGPT's conversation, with InsertRank's scores beside the passages when given."""
    msgs = prompts.rankgpt_messages(query, with_scores(passages, scores), letters)
    if scores is not None:
        msgs[1] = {"role": msgs[1]["role"], "content": msgs[1]["content"] + SCORE_NOTE}
    return msgs


def _no_brackets(text: str) -> str:
    """ReasonRank's ``replace_number``: ``[12]`` in a query or passage becomes ``(12)``."""
    return re.sub(r"\[(\d+)\]", r"(\1)", text)


def reasonrank_messages(
    query: str, passages: Sequence[str], scores: Optional[Sequence[str]] = None
) -> List[prompts.Message]:
    """ReasonRank's prompt (``PromptMode.RANK_GPT_reasoning`` in its
    ``create_prompt``, which its README asks to follow strictly): the system
    prompt, then one user message holding the RankGPT prefix, the passages as
    ``[i] text`` lines and the post prompt; ``[n]`` in the texts becomes ``(n)``.
    With ``scores`` (InsertRank), each passage line is followed by its score line."""
    n = len(passages)
    q = _no_brackets(query).strip()
    shown = with_scores([_no_brackets(p).strip() for p in passages], scores)
    note = SCORE_NOTE.strip() + "\n" if scores is not None else ""
    user = (
        f"I will provide you with {n} passages, each indicated by a numerical identifier []. "
        f"Rank the passages based on their relevance to the search query: {q}.\n{note}\n"
        + "".join(f"[{i + 1}] {p}\n" for i, p in enumerate(shown))
        + f"Search Query: {q}.\nRank the {n} passages above based on their relevance to the search query. "
        "All the passages should be included and listed using identifiers, in descending order of relevance. "
        "The format of the answer should be [] > [], e.g., [2] > [1]."
    )
    return [{"role": "system", "content": REASONRANK_SYSTEM}, {"role": "user", "content": user}]


GROUPRANK_SYSTEM = (
    "You are RankLLM, an intelligent assistant that scores passages by their relevance to the query. "
    "Given a query and a group of passages, you compare the passages with each other, first think about the "
    "reasoning process in the mind and then provide the answer (i.e., a relevance score for every passage). The "
    "reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, respectively, "
    "i.e., <think> reasoning process here </think> <answer> answer here </answer>."
)


def grouprank_answer_tokens(k: int) -> int:
    """The answer's budget after the trace: about 8 tokens per ``[i]: score`` line, and the tags."""
    return 8 * k + 16


def grouprank_messages(
    query: str, passages: Sequence[str], scores: Optional[Sequence[str]] = None
) -> List[prompts.Message]:
    """A GroupRank-style groupwise prompt (rankwise's own; see the module
    docs): the system prompt, then one user message with the passages as
    ``[i] text`` lines and the request for one 0..10 score per passage as
    ``[i]: score`` lines; ``[n]`` in the texts becomes ``(n)``. With
    ``scores`` (InsertRank), each passage line is followed by its score line."""
    n = len(passages)
    q = _no_brackets(query).strip()
    shown = with_scores([_no_brackets(p).strip() for p in passages], scores)
    note = SCORE_NOTE.strip() + "\n" if scores is not None else ""
    top = GROUPRANK_MAX_SCORE
    user = (
        f"I will provide you with {n} passages, each indicated by a numerical identifier []. "
        f"Score each passage by its relevance to the search query: {q}.\n{note}\n"
        + "".join(f"[{i + 1}] {p}\n" for i, p in enumerate(shown))
        + f"Search Query: {q}.\nCompare the {n} passages above with each other and give every one of them a "
        f"relevance score from 0 (irrelevant) to {top} (perfectly relevant). List all the passages by their "
        "identifiers, one per line, in the form [i]: score, e.g., [1]: 7."
    )
    return [{"role": "system", "content": GROUPRANK_SYSTEM}, {"role": "user", "content": user}]


RANK_R1_SYSTEM = (
    "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
    "assistant first thinks about the reasoning process in the mind and then provides the user with the answer. "
    "The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>."
)


def rank_r1_messages(
    query: str, passages: Sequence[str], scores: Optional[Sequence[str]] = None
) -> List[prompts.Message]:
    """Rank-R1's setwise prompt (its README's ``prompt_system`` and
    ``prompt_user``): which of the ``[i] text`` passages is most relevant, the
    label in square brackets inside the answer tags. With ``scores``
    (InsertRank), each passage line is followed by its score line."""
    docs = "\n".join(f"[{i + 1}] {p}" for i, p in enumerate(with_scores(list(passages), scores)))
    note = "\n" + SCORE_NOTE.strip() if scores is not None else ""
    user = (
        f'Given the query: "{query}", which of the following documents is most relevant?\n{docs}{note}\n'
        "After completing the reasoning process, please provide only the label of the most relevant document to "
        "the query, enclosed in square brackets, within the answer tags. For example, if the third document is the "
        "most relevant, the answer should be: <think> reasoning process here </think> <answer>[3]</answer>."
    )
    return [{"role": "system", "content": RANK_R1_SYSTEM}, {"role": "user", "content": user}]


def best_first(answer: str, k: int) -> Any:
    """A setwise answer (``[3]``) as a ranking of the ``k`` shown: the named
    passage first, the others in prompt order; the text itself when it names
    no shown passage (the planner then counts it unparsed)."""
    from ..parsing import parse_permutation

    p = parse_permutation(answer, k)
    if p.parsed == 0:
        return answer
    best = int(p.order[0])
    return [best] + [i for i in range(k) if i != best]
