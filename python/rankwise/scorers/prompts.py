"""Prompt formats from the literature, as plain functions of text.

* RankGPT's listwise conversation (Sun et al., EMNLP 2023), with numeric
  identifiers ``[1]`` or, for single-token logits (FIRST, Reddy et al. 2024),
  letters ``[A]``;
* Qwen3-Reranker's yes/no judgement (pointwise);
* a fine-grained relevance label ``0..k`` (pointwise, Zhuang et al. 2024);
* PRP's pairwise question (Qin et al., NAACL 2024).
"""

from __future__ import annotations

import string
from typing import Dict, List, Sequence

__all__ = [
    "Message",
    "rankgpt_messages",
    "identifier",
    "qwen3_yes_no",
    "qwen3_yes_no_messages",
    "relevance_labels",
    "prp",
    "DEFAULT_INSTRUCTION",
]

Message = Dict[str, str]
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
LETTERS = string.ascii_uppercase[:23]  # A..W: single tokens in every common vocabulary


def identifier(i: int, letters: bool) -> str:
    """The identifier of the ``i``-th passage (0-based): ``1, 2, ...`` or ``A, B, ...``."""
    return LETTERS[i] if letters else str(i + 1)


def rankgpt_messages(query: str, passages: Sequence[str], letters: bool = False) -> List[Message]:
    """RankGPT's conversation: the passages one per turn, then the instruction."""
    n = len(passages)
    first, second = identifier(0, letters), identifier(1 if n > 1 else 0, letters)
    msgs: List[Message] = [
        {
            "role": "system",
            "content": "You are RankGPT, an intelligent assistant that can rank passages based on their relevancy to the query.",
        },
        {
            "role": "user",
            "content": f"I will provide you with {n} passages, each indicated by identifier []. \nRank the passages based on their relevance to query: {query}.",
        },
        {"role": "assistant", "content": "Okay, please provide the passages."},
    ]
    for i, p in enumerate(passages):
        ident = identifier(i, letters)
        msgs.append({"role": "user", "content": f"[{ident}] {p}"})
        msgs.append({"role": "assistant", "content": f"Received passage [{ident}]."})
    msgs.append(
        {
            "role": "user",
            "content": f"Search Query: {query}. \nRank the {n} passages above based on their relevance to the search query. "
            f"The passages should be listed in descending order using identifiers. The most relevant passages should be listed first. "
            f"The output format should be [] > [], e.g., [{first}] > [{second}]. Only respond with the ranking results, do not say any word or explain.",
        }
    )
    return msgs


QWEN3_SYSTEM = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. "
    'Note that the answer can only be "yes" or "no".'
)
QWEN3_PREFIX = f"<|im_start|>system\n{QWEN3_SYSTEM}<|im_end|>\n<|im_start|>user\n"
QWEN3_SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"


def _qwen3_user(query: str, doc: str, instruction: str) -> str:
    return f"<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {doc}"


def qwen3_yes_no(query: str, doc: str, instruction: str = DEFAULT_INSTRUCTION) -> str:
    """Qwen3-Reranker's prompt, chat template included; the next token is "yes" or "no"."""
    return f"{QWEN3_PREFIX}{_qwen3_user(query, doc, instruction)}{QWEN3_SUFFIX}"


def qwen3_yes_no_messages(query: str, doc: str, instruction: str = DEFAULT_INSTRUCTION) -> List[Message]:
    """The same judgement as chat messages, for a server that applies the model's chat template itself."""
    return [
        {"role": "system", "content": QWEN3_SYSTEM},
        {"role": "user", "content": _qwen3_user(query, doc, instruction)},
    ]


def relevance_labels(query: str, doc: str, k: int) -> List[Message]:
    """Ask for a relevance label 0..k; the next token is the label."""
    return [
        {"role": "system", "content": "You judge how relevant a passage is to a search query."},
        {
            "role": "user",
            "content": f"Query: {query}\nPassage: {doc}\n\nHow relevant is the passage to the query, on a scale from 0 "
            f"(not relevant) to {k} (perfectly relevant)? Answer with the number only.",
        },
    ]


def prp(query: str, doc_a: str, doc_b: str) -> List[Message]:
    """PRP's pairwise question; the answer starts "Passage A" or "Passage B"."""
    return [
        {
            "role": "user",
            "content": f'Given a query "{query}", which of the following two passages is more relevant to the query?\n\n'
            f'Passage A: "{doc_a}"\n\nPassage B: "{doc_b}"\n\nOutput Passage A or Passage B:',
        }
    ]
