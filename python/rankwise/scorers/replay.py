"""Replaying recorded listwise LLM calls."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from .._errors import InvalidInputError, ScorerError
from ..parsing import parse_permutation
from ..runs import PathLike, _read_text
from ._base import ListwiseCall

__all__ = ["Replay"]

Key = Tuple[str, Tuple[str, ...]]


class Replay:
    """A listwise scorer that answers from recorded LLM calls.

    Each recorded call is keyed by its query id and the doc ids in prompt
    order; the answer is the recorded permutation (0-based positions, as the
    original run parsed it). A call that was never recorded raises
    :class:`~rankwise.ScorerError` naming it, so a strategy that deviates
    from the recorded one by a single document is caught.

    Attributes:
        hits: how many calls were answered so far.
    """

    kind = "listwise"

    def __init__(self, records: Mapping[Key, Sequence[int]]) -> None:
        self._records: Dict[Key, List[int]] = {
            (str(q), tuple(map(str, d))): [int(p) for p in a] for (q, d), a in records.items()
        }
        self.hits = 0

    @classmethod
    def from_jsonl(cls, path: PathLike) -> "Replay":
        """Load calls from a JSONL with ``qid``, ``docids_in_prompt_order`` and
        ``llm_permutation_0based`` (or ``llm_response``, parsed with
        :func:`~rankwise.parse_permutation`), one call per line, as in
        ``shared/data/dl19/llm/rankvicuna7b_windows.jsonl``."""
        where = os.fspath(path)
        records: Dict[Key, List[int]] = {}
        for lineno, line in enumerate(_read_text(path, "path").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                qid, docids = str(obj["qid"]), tuple(str(d) for d in obj["docids_in_prompt_order"])
                perm: Optional[Any] = obj.get("llm_permutation_0based")
                if perm is None:
                    perm = parse_permutation(str(obj["llm_response"]), len(docids)).order.tolist()
                answer = [int(p) for p in perm]
            except json.JSONDecodeError as e:
                raise InvalidInputError(f"path: {where}, line {lineno}: invalid JSON: {e}") from None
            except (KeyError, TypeError, ValueError) as e:
                raise InvalidInputError(
                    f"path: {where}, line {lineno}: expected qid, docids_in_prompt_order and "
                    f"llm_permutation_0based or llm_response ({e!r})"
                ) from None
            key = (qid, docids)
            if key in records and records[key] != answer:
                raise InvalidInputError(
                    f"path: {where}, line {lineno}: the same call of query {qid!r} is recorded with two answers"
                )
            records[key] = answer
        return cls(records)

    def __len__(self) -> int:
        return len(self._records)

    def __call__(self, calls: List[ListwiseCall]) -> List[Any]:
        """The recorded answers; an unrecorded call's answer is a ScorerError
        (that call fails, the rest of the batch stands)."""
        out: List[Any] = []
        for c in calls:
            if not isinstance(c, ListwiseCall):
                raise InvalidInputError(f"Replay answers listwise calls only, got a {type(c).__name__}")
            key = (c.qid, tuple(d.docid for d in c.docs))
            answer = self._records.get(key)
            if answer is None:
                out.append(
                    ScorerError(
                        f"Replay: no recorded call for query {c.qid!r} with these {len(c.docs)} documents in this order "
                        f"(first {key[1][:3]}); the strategy differs from the recorded one"
                    )
                )
            else:
                self.hits += 1
                out.append(answer)
        return out

    def __repr__(self) -> str:
        return f"Replay({len(self)} recorded calls)"
