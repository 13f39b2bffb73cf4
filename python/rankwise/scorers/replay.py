"""Replaying recorded LLM calls: rankwise's own recordings and rank_llm's."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from .._errors import InvalidInputError, ScorerError
from .._io import where_of
from ..recording import PathLike, call_key, read_calls
from ._base import check_kind

__all__ = ["Replay"]

Key = Tuple[str, Tuple[str, ...]]


class Replay:
    """A scorer that answers from recorded calls.

    Each recorded call is keyed by its query id and the doc ids in prompt
    order; the answer is the recorded one, exactly as the original scorer
    gave it (for rank_llm-style files, the recorded 0-based permutation), so
    replaying a recording through the same strategy reproduces the run. A
    call that was never recorded, or whose recorded call failed, is answered
    with a :class:`~rankwise.ScorerError` naming it (that call fails, the
    rest of the batch stands), so a strategy that deviates from the recorded
    one by a single document is caught.

    Args:
        records: ``{(qid, doc ids in prompt order): answer}``.
        kind: the kind of the recorded calls, default ``"listwise"``.

    Attributes:
        hits: how many calls were answered so far.
    """

    def __init__(self, records: Mapping[Key, Any], kind: str = "listwise") -> None:
        self.kind = check_kind("Replay", kind)
        self._records: Dict[Key, Any] = {}
        for (q, d), a in records.items():
            if kind == "listwise" and not isinstance(a, str):
                a = [int(p) for p in a]
            self._records[(str(q), tuple(map(str, d)))] = a
        self._failed: Dict[Key, str] = {}
        self.hits = 0

    @classmethod
    def from_jsonl(cls, path: PathLike, *, kind: Optional[str] = None) -> "Replay":
        """Load a call recording (see :mod:`rankwise.recording`): rankwise's own
        (:class:`~rankwise.recording.Recording`, ``rerank(record=...)``,
        ``--record``, a :class:`~rankwise.scorers.Cached` file) or rank_llm-style
        window lines with ``qid``, ``docids_in_prompt_order`` and
        ``llm_permutation_0based`` (or ``llm_response``, parsed with
        :func:`~rankwise.parse_permutation`), as in
        ``shared/data/dl19/llm/rankvicuna7b_windows.jsonl``.

        ``kind`` picks the calls to replay when a recording holds several
        kinds; by default the one kind it holds (listwise for an empty file).
        A torn last line is dropped; other malformed lines raise
        :class:`~rankwise.InvalidInputError` naming the file and line, and so
        does the same call recorded with two different answers.
        """
        where = where_of(path)
        calls = read_calls(path)
        kinds = sorted({c.kind for c in calls})
        if kind is None:
            if len(kinds) > 1:
                raise InvalidInputError(f"path: {where} holds {' and '.join(kinds)} calls; pass kind= to pick one")
            kind = kinds[0] if kinds else "listwise"
        replay = cls({}, kind)
        for c in calls:
            if c.kind != kind:
                continue
            key = (c.qid, c.docids)
            if c.error is not None:
                replay._failed.setdefault(key, c.error)
                continue
            if key in replay._records and replay._records[key] != c.value:
                raise InvalidInputError(
                    f"path: {where}, line {c.line}: the same call of query {c.qid!r} is recorded with two answers"
                )
            replay._records[key] = c.value
        return replay

    def __len__(self) -> int:
        return len(self._records)

    def __call__(self, calls: List[Any]) -> List[Any]:
        """The recorded answers; an unrecorded call's answer is a ScorerError."""
        out: List[Any] = []
        for c in calls:
            kind, qid, docids = call_key(c, self.kind)
            if kind != self.kind:
                raise InvalidInputError(f"Replay answers {self.kind} calls only, got a {type(c).__name__}")
            key = (qid, docids)
            if key in self._records:
                self.hits += 1
                answer = self._records[key]
                out.append(list(answer) if isinstance(answer, list) else answer)
            elif key in self._failed:
                out.append(ScorerError(f"Replay: the recorded call of query {qid!r} failed: {self._failed[key]}"))
            else:
                out.append(
                    ScorerError(
                        f"Replay: no recorded call for query {qid!r} with these {len(docids)} documents in this order "
                        f"(first {docids[:3]}); the strategy differs from the recorded one"
                    )
                )
        return out

    def __repr__(self) -> str:
        return f"Replay({len(self)} recorded {self.kind} calls)"
