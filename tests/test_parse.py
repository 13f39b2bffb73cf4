"""parse_permutation: never raises on any text, always returns a permutation,
and reads the recorded RankVicuna answers exactly as rank_llm parsed them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rankwise as rw
from conftest import SHARED_DATA as SHARED
from conftest import needs_shared

RECORDED = SHARED / "dl19" / "llm" / "rankvicuna7b_windows.jsonl"

# text that looks like LLM output: brackets, digits of several scripts,
# letters, separators, think tags, noise
PIECES = st.one_of(
    st.sampled_from(["[", "]", " > ", ">", ",", " ", "\n", "</think>", "<think>", "Answer:", "[A]", "[W]", "[0]"]),
    st.integers(0, 40).map(str),
    st.integers(1, 25).map(lambda i: f"[{i}]"),
    st.integers(1, 9).map(lambda i: chr(0xFF10 + i)),  # fullwidth digits
    st.integers(1, 9).map(lambda i: chr(0x0660 + i)),  # Arabic-Indic digits
    st.sampled_from(list("ABCDEFGHXYZ")),
    st.text(max_size=5),
)


@settings(max_examples=300)
@given(st.lists(PIECES, max_size=40).map("".join), st.integers(0, 30))
def test_never_raises_and_always_a_permutation(text, n):
    p = rw.parse_permutation(text, n)
    assert sorted(p.order.tolist()) == list(range(n))
    assert p.order.dtype == np.int64
    assert 0 <= p.parsed <= n
    assert p.missing == p.order[p.parsed :].tolist()
    assert p.clean == (not p.duplicates and not p.out_of_range and not p.missing)


@settings(max_examples=200)
@given(st.permutations(list(range(20))), st.sampled_from(["[{}]", "{}", "[ {} ]"]), st.sampled_from([" > ", ">", ", "]))
def test_clean_answers_round_trip(perm, fmt, sep):
    text = sep.join(fmt.format(i + 1) for i in perm)
    p = rw.parse_permutation(text, 20)
    assert p.order.tolist() == perm and p.clean


@given(st.permutations(list(range(10))))
def test_letters_and_think_tags(perm):
    text = "<think>I think [1] > [2]</think>" + " > ".join(f"[{chr(65 + i)}]" for i in perm)
    p = rw.parse_permutation(text, 10)
    assert p.order.tolist() == perm and p.letters and p.clean


def test_repairs_are_reported():
    p = rw.parse_permutation("[2] > [2] > [9] > [1]", 4)
    assert p.order.tolist() == [1, 0, 2, 3]
    # every id reported 0-based, [9] included
    assert (p.parsed, p.duplicates, p.out_of_range, p.missing) == (2, [1], [8], [2, 3])
    assert not p.clean


@pytest.mark.parametrize("n", [-1, 1.5, "3", True, 10**7])
def test_bad_n(n):
    with pytest.raises(rw.InvalidInputError, match="^n:"):
        rw.parse_permutation("[1]", n)


def test_bad_text():
    with pytest.raises(rw.InvalidInputError, match="^text:"):
        rw.parse_permutation(b"[1]", 1)  # type: ignore[arg-type]


@needs_shared
def test_recorded_rankvicuna_answers_parse_as_rank_llm_did():
    rows = [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) == 387
    for r in rows:
        n = len(r["docids_in_prompt_order"])
        p = rw.parse_permutation(r["llm_response"], n)
        recorded = r["llm_permutation_0based"]
        assert p.order[: len(recorded)].tolist() == recorded
        # the window after applying the answer, as rank_llm produced it
        docs = r["docids_in_prompt_order"]
        assert [docs[i] for i in p.order] == r["ranked_docids"]
