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
* **REARANK** (Zhang et al., 2025; listwise): REARANK's prompt, from
  ``create_permutation_instruction_rearank`` in its ``rank_gpt.py``
  (lezhang7/Rearank): the system prompt "You are DeepRerank, ...", the
  instruction as the first user turn (its run-on sentences kept as they
  are), then each passage as a user turn ``[i] text`` (whitespace collapsed,
  cut to its first 400 characters) answered by "Received passage [i].", and
  the closing request to analyse each passage inside ``<think>`` and rank
  inside ``<answer>``. Its budget is its ``QwenClient``'s
  ``max_tokens=2048`` (greedy: temperature 0, top_p 1) in all, here 1,948
  for the trace and 100 for the answer. The permutation is read as
  ReasonRank's (inside ``<answer>``, else after ``</think>``). A trace that
  runs out of budget is closed as ReasonRank's and the answer generated
  after it; REARANK itself would read the digits of the unfinished trace.
  REARANK reranks the top 100 by a sliding window of 20 passages in steps
  of 10 (``process_rank_results_in_batches``), i.e.
  ``SlidingWindow(window=20, step=10)``, rankwise's default.
* **TFRank** (Fan et al., 2025; pointwise, think-free): TFRank's prompt as
  its ``evaluation/run_eval.py`` (``build_completion_prompt``, no think
  mode, ``reasoning_model=True``, as ``tfrank_demo.py`` runs its released
  models) and ``tfrank_demo.py`` (``_build_input``) build it: a raw Qwen3
  prompt (no chat template) with TFRank's system line, the instruction to
  answer ``yes(score)`` or ``no(score)`` on a 0..4 scale, the query and the
  document, ``" /no think"``, and an empty ``<think>\n\n</think>\n\n``
  after the assistant tag. TFRank generates greedily and reads two places
  of the answer (``get_next_token_probs``): P(yes) at the first answer
  token, softmax over the logprobs of "yes" and "no" (the first of
  yes/Yes/YES and of no/No/NO among the top 20; one missing gets the lowest
  top logprob minus 10), and, at the token after the one that completes
  ``yes(``/``no(`` (or ``yes (``, ``Yes(``, ...), the distribution of the
  labels "0".."4" (softmax over their logprobs, the same fallback). The
  score is the mean of the expected label over 4 and P(yes), the "Merge"
  of its ``eval_metrics.py`` and the ``final_score`` of ``tfrank_demo.py``.
  An answer where no marker is found is asked once more with TFRank's
  retry sentence appended to the input (``try_num >= 1``; its later retries
  repeat that prompt at temperature 0); if that fails too, the call gets
  TFRank's fill values (label 0.5, P(yes) 0.5, merged: 0.3125), which the
  scorers count in ``fallbacks`` and log. TFRank's default answer budget is
  ``max_new_tokens=1024``.
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
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .._errors import InvalidInputError
from . import prompts

__all__ = [
    "WINDOW_METHODS",
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
    "rearank_messages",
    "tfrank_prompt",
    "tfrank_marked",
    "tfrank_yes",
    "tfrank_label_probs",
    "tfrank_score",
    "tfrank_read",
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


REARANK_ANSWER_TOKENS = 100  # the answer's share of REARANK's 2048 (ReasonRank's answer budget)
REARANK_MAX_THINKING_TOKENS = 2048 - REARANK_ANSWER_TOKENS  # REARANK generates max_tokens=2048 in all
REARANK_MAX_CHARS = 400  # REARANK shows each passage's first 400 characters


def default_thinking_tokens(method: str) -> int:
    """The trace budget of a reasoning method when none is given: its paper's."""
    if method == "rank1":
        return RANK1_MAX_THINKING_TOKENS
    if method == "rank_r1":
        return RANK_R1_MAX_THINKING_TOKENS
    if method == "rearank":
        return REARANK_MAX_THINKING_TOKENS
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


def _numbered(query: str, passages: Sequence[str], scores: Optional[Sequence[str]]) -> "tuple[int, str, str, str]":
    """ReasonRank's pieces of a one-message window: the passage count, the
    query with ``[n]`` written ``(n)``, InsertRank's note (or ""), and the
    ``[i] text`` lines (each followed by its score line with ``scores``)."""
    shown = with_scores([_no_brackets(p).strip() for p in passages], scores)
    note = SCORE_NOTE.strip() + "\n" if scores is not None else ""
    return len(passages), _no_brackets(query).strip(), note, "".join(f"[{i + 1}] {p}\n" for i, p in enumerate(shown))


def reasonrank_messages(
    query: str, passages: Sequence[str], scores: Optional[Sequence[str]] = None
) -> List[prompts.Message]:
    """ReasonRank's prompt (``PromptMode.RANK_GPT_reasoning`` in its
    ``create_prompt``, which its README asks to follow strictly): the system
    prompt, then one user message holding the RankGPT prefix, the passages as
    ``[i] text`` lines and the post prompt; ``[n]`` in the texts becomes ``(n)``.
    With ``scores`` (InsertRank), each passage line is followed by its score line."""
    n, q, note, block = _numbered(query, passages, scores)
    user = (
        f"I will provide you with {n} passages, each indicated by a numerical identifier []. "
        f"Rank the passages based on their relevance to the search query: {q}.\n{note}\n"
        + block
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
    n, q, note, block = _numbered(query, passages, scores)
    top = GROUPRANK_MAX_SCORE
    user = (
        f"I will provide you with {n} passages, each indicated by a numerical identifier []. "
        f"Score each passage by its relevance to the search query: {q}.\n{note}\n"
        + block
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


# --- REARANK -------------------------------------------------------------------------------

REARANK_SYSTEM = (
    "You are DeepRerank, an intelligent assistant that can rank passages based on their relevancy to the search "
    "query. You first thinks about the reasoning process in the mind and then provides the user with the answer."
)


def rearank_messages(
    query: str, passages: Sequence[str], scores: Optional[Sequence[str]] = None
) -> List[prompts.Message]:
    """REARANK's conversation (``create_permutation_instruction_rearank``):
    the system prompt, the instruction, then a user turn ``[i] text`` (the
    first 400 characters, whitespace collapsed) and the reply "Received
    passage [i]." per passage, and the request to think about each passage
    and rank them inside ``<answer>``. With ``scores`` (InsertRank), each
    passage turn ends with its score line and the instruction says what they are."""
    n = len(passages)
    instruction = (  # REARANK's strings join without a space after "query."
        "I will provide you with passages, each indicated by number identifier []. Rank the passages based on "
        "their relevance to the search query."
        f"Search Query: {query}. \nRank the {n} passages above based on their relevance to the search query."
        "The passages should be listed in descending order using identifiers. The most relevant passages should be "
        "listed first. The output format should be <answer> [] > [] </answer>, e.g., <answer> [1] > [2] </answer>."
    )
    if scores is not None:
        instruction += SCORE_NOTE
    msgs: List[prompts.Message] = [
        {"role": "system", "content": REARANK_SYSTEM},
        {"role": "user", "content": instruction},
        {"role": "assistant", "content": "Okay, please provide the passages."},
    ]
    cut = [" ".join(p.split())[:REARANK_MAX_CHARS] for p in passages]
    for i, p in enumerate(with_scores(cut, scores)):
        msgs.append({"role": "user", "content": f"[{i + 1}] {p}"})
        msgs.append({"role": "assistant", "content": f"Received passage [{i + 1}]."})
    pad = " " * 12  # REARANK's triple-quoted request keeps its source indentation
    msgs.append(
        {
            "role": "user",
            "content": f'Please rank these passages according to their relevance to the search query: "{query}"\n'
            f"{pad}Follow these steps exactly:\n"
            f"{pad}1. First, within <think> tags, analyze EACH passage individually:\n"
            f"{pad}- Evaluate how well it addresses the query\n"
            f"{pad}- Note specific relevant information or keywords\n\n"
            f"{pad}2. Then, within <answer> tags, provide ONLY the final ranking in descending order of relevance "
            "using the format: [X] > [Y] > [Z]",
        }
    )
    return msgs


# --- TFRank (pointwise, think-free) ---------------------------------------------------------

TFRANK_SYSTEM = "Based on the relevance of the Documents to the Query and the Instruct provided to complete the task."
TFRANK_INSTRUCT = (
    "<Instruct>: Please judge the relevance strength between the query and the document, and directly output the "
    "relevance judgment (yes or no), followed by the relevance score in parentheses, e.g., yes(score) or "
    "no(score).\n\n\n"
    "- Relevance scores are represented by numbers from 0 to 4, with the following meanings:\n"
    "0 means completely irrelevant,\n"
    "1 means weakly relevant,\n"
    "2 means moderately relevant,\n"
    "3 means strongly relevant,\n"
    "4 means completely relevant.\n\n"
    "- For binary relevance judgment (yes or no), the rule is:\n"
    'Scores 0 and 1 are considered irrelevant and represented as "no",\n'
    'Scores 2, 3, and 4 are considered relevant and represented as "yes".\n\n\n'
)
TFRANK_RETRY = (  # appended to the input from TFRank's second try on
    "\nPlease directly output the relevance judgment (yes or no), followed by the relevance score in parentheses, "
    "e.g., yes(score) or no(score)."
)
TFRANK_MARKERS = ("yes(", "no(", "yes (", "no (", "Yes(", "No(", "Yes (", "No (")
TFRANK_LABELS = ("0", "1", "2", "3", "4")
TFRANK_MAX_NEW_TOKENS = 1024  # run_eval.py's max_new_tokens_init and tfrank_demo.py's max_new_tokens
TFRANK_UNREAD = (0.5 / 4 + 0.5) / 2  # run_eval.py's fills (label 0.5, P(yes) 0.5) as eval_metrics.py merges them


def tfrank_prompt(query: str, doc: str, retry: bool = False) -> str:
    """TFRank's raw prompt (no think mode; ``retry``: with its retry sentence);
    the answer starts at the token after the empty ``<think>`` block."""
    user = f"{TFRANK_INSTRUCT}<Query>: {query}\n\n\n<Document>: {doc}" + (TFRANK_RETRY if retry else "") + " /no think"
    return (
        f"<|im_start|>system\n{TFRANK_SYSTEM}\n<|im_end|>\n<|im_start|>user\n{user}\n<|im_end|>\n"
        f"<|im_start|>assistant\n{THINK_OPEN}\n\n{THINK_CLOSE}\n\n"
    )


def tfrank_marked(text: str) -> bool:
    """Whether the answer so far holds the judgement and its parenthesis (``yes(``, ``no (``, ...)."""
    return any(m in text for m in TFRANK_MARKERS)


def _softmax(values: Sequence[float]) -> List[float]:
    top = max(values)
    e = [math.exp(v - top) for v in values]
    total = sum(e)
    return [x / total for x in e]


def _floor(top: Mapping[str, float]) -> float:
    """What TFRank gives a token missing from the top logprobs: the lowest of them minus 10."""
    return (min(top.values()) if top else -100.0) - 10.0


def tfrank_yes(top: Mapping[str, float]) -> float:
    """P(yes) from one position's top logprobs (or logits), as TFRank's
    ``parse_yesno``: the first of yes/Yes/YES and of no/No/NO present, a
    missing one the lowest value minus 10, softmax over the two."""
    floor = _floor(top)
    yes = next((float(top[t]) for t in ("yes", "Yes", "YES") if t in top), floor)
    no = next((float(top[t]) for t in ("no", "No", "NO") if t in top), floor)
    return _softmax([yes, no])[0]


def tfrank_label_probs(top: Mapping[str, float]) -> List[float]:
    """P(0..4) from one position's top logprobs (or logits), as TFRank's
    ``parse_label``: softmax over the labels' values, a missing one the lowest value minus 10."""
    floor = _floor(top)
    return _softmax([float(top.get(k, floor)) for k in TFRANK_LABELS])


def tfrank_score(p_yes: float, label_probs: Sequence[float]) -> float:
    """TFRank's relevance: the mean of the expected label over 4 and P(yes), each clipped to [0, 1]."""
    fine = sum(k * float(p) for k, p in enumerate(label_probs)) / (len(TFRANK_LABELS) - 1)
    return (min(max(fine, 0.0), 1.0) + min(max(float(p_yes), 0.0), 1.0)) / 2.0


def tfrank_read(tokens: Sequence[str], tops: Sequence[Optional[Mapping[str, float]]]) -> Optional[float]:
    """TFRank's score of one greedy answer from its tokens and their top
    logprobs (``get_next_token_probs`` without think mode): P(yes) at the
    first token, the labels at the token after the one that completes a
    marker; None when no marker is followed by a token."""
    p_yes: Optional[float] = None
    text, marked = "", False
    for i, tok in enumerate(tokens):
        top: Mapping[str, float] = (tops[i] if i < len(tops) else None) or {}
        if i == 0:
            p_yes = tfrank_yes(top)
        if marked:
            return tfrank_score(p_yes if p_yes is not None else 0.5, tfrank_label_probs(top))
        text += tok
        marked = tfrank_marked(text)
    return None


#: the window methods that write a trace, then their answer: (the messages of a window, the answer's
#: budget after the trace for ``k`` passages); HFScorer and OpenAIScorer build and budget them alike
WINDOW_METHODS: Dict[str, Tuple[Callable[..., List[prompts.Message]], Callable[[int], int]]] = {
    "reasonrank": (reasonrank_messages, lambda k: REASONRANK_ANSWER_TOKENS),
    "rearank": (rearank_messages, lambda k: REARANK_ANSWER_TOKENS),
    "rank_r1": (rank_r1_messages, lambda k: RANK_R1_ANSWER_TOKENS),
    "grouprank": (grouprank_messages, grouprank_answer_tokens),
}
