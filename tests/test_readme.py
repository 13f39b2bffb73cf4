"""The README's examples run as written: the Python blocks, and the bash
blocks made only of `rankwise` commands (paths to the shared data resolved
against the repository root; files they write land in a temp dir)."""

from __future__ import annotations

import ast
import io
import os
import re
import shlex
import subprocess
import sys
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)
COMMANDS = [
    line
    for block in re.findall(r"```bash\n(.*?)```", README, re.S)
    for line in block.splitlines()
    if line.startswith("rankwise ")
]


def test_readme_has_examples():
    assert len(BLOCKS) >= 2 and len(COMMANDS) >= 5


# A trailing comment that starts like a value (`x  # {'a': 0.66...}: prose`), or a comment line right after
# an expression, states what the expression gives; `...` stands for anything (doctest's ELLIPSIS).
_VALUE_START = re.compile(r"[\[{('\"]|array\(|-?\d|True\b|False\b|None\b")


def _expected_value(comment: str) -> str | None:
    """The value part of a comment (a balanced bracket expression, or the text up to ``": "``), or None."""
    text = comment.lstrip("#").strip()
    if not _VALUE_START.match(text):
        return None
    depth, quote = 0, ""
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == ":" and depth == 0 and text[i + 1 : i + 2] in (" ", ""):
            return text[:i].strip()
    return text.strip()


_NUMBER = r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def _matches(expected: str, value: object) -> bool:
    """``repr(value)`` reads as ``expected``: ``'`` and ``"`` alike, whitespace loosely, ``0.2476...`` any number
    that rounds or truncates to 0.2476, any other ``...`` anything."""
    got = repr(value).replace('"', "'")
    if isinstance(value, tuple) and not expected.startswith("("):
        got = got[1:-1]
    pattern, stated = "", []
    for part in re.split(r"(-?\d+\.\d+\.\.\.|\.\.\.|\s+)", expected.replace('"', "'")):
        if part.endswith("...") and part != "...":
            pattern += f"({_NUMBER})"
            stated.append(part[:-3])
        elif part == "...":
            pattern += ".*?"
        elif part.isspace():
            pattern += r"\s*"
        else:
            pattern += re.escape(part)
    m = re.fullmatch(pattern, got, re.S)
    if m is None:
        return False
    for text, number in zip(stated, m.groups()):
        decimals = len(text.split(".")[1])
        if not (number.startswith(text) or abs(float(number) - float(text)) <= 0.5 * 10**-decimals + 1e-15):
            return False
    return True


def run_block(code: str, name: str) -> int:
    """Run ``code`` statement by statement; check each expression against its stated value. Returns how many
    values were checked."""
    lines = code.splitlines()
    comments = {
        tok.start[0]: tok.string
        for tok in tokenize.generate_tokens(io.StringIO(code).readline)
        if tok.type == tokenize.COMMENT
    }
    namespace: dict[str, object] = {"__name__": "__readme__"}
    checked = 0
    for stmt in ast.parse(code).body:
        end = stmt.end_lineno or stmt.lineno
        if not isinstance(stmt, ast.Expr):
            exec(compile(ast.Module([stmt], []), name, "exec"), namespace)
            continue
        value = eval(compile(ast.Expression(stmt.value), name, "eval"), namespace)
        comment = comments.get(end)
        if comment is None and end < len(lines) and lines[end].lstrip().startswith("#"):
            comment = lines[end].strip()  # a comment line right below
        expected = _expected_value(comment) if comment else None
        if expected is not None:
            assert _matches(expected, value), f"{name}, line {end}: README says {expected}, got {value!r}"
            checked += 1
    return checked


def test_value_comments_are_read_as_values():
    assert _expected_value("# {'ndcg@10': 0.6681...}: the published 0.6682") == "{'ndcg@10': 0.6681...}"
    assert _expected_value("# array([2, 0, 1, 3]): always a permutation") == "array([2, 0, 1, 3])"
    assert _expected_value("# 2, [0], [7], [1, 3], False") == "2, [0], [7], [1, 3], False"
    assert _expected_value("# sums to 1") is None and _expected_value("# ~30: each batch") is None
    assert _matches("{'a': 0.66...}", {"a": 0.6681}) and not _matches("{'a': 0.66...}", {"a": 0.67})
    assert _matches("{'map': 0.2476...}", {"map": 0.2475997}) and not _matches("{'map': 0.2476...}", {"map": 0.2474})
    assert _matches('{"k": ...}', {"k": [1, 2]}) and not _matches("{'k': 1}", {"k": 1, "j": 2})
    assert _matches("2, [0], False", (2, [0], False)) and not _matches("2, [0], False", (2, [1], False))
    with pytest.raises(AssertionError, match="README says 3"):
        run_block("x = 1\nx + 1  # 3: wrong on purpose\n", "a block")


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs_and_gives_what_it_says(index, tmp_path, monkeypatch, shared_data):
    code = BLOCKS[index]
    if "../shared/data" in code:
        if shared_data is None:
            pytest.skip("shared TREC DL data not found beside the project")
        code = code.replace("../shared/data", shared_data.as_posix())
    if "EmbeddingScorer" in code:
        pytest.importorskip("torch")
    if "rankwise.ray" in code:
        pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)
    run_block(code, f"README.md example {index}")


def test_readme_states_values_to_check():
    # the value comments are what makes the examples tests: they must not vanish in an edit
    stated = [
        _expected_value(c)
        for block in BLOCKS
        for tok in tokenize.generate_tokens(io.StringIO(block).readline)
        if tok.type == tokenize.COMMENT
        for c in [tok.string]
    ]
    assert sum(v is not None for v in stated) >= 5


@pytest.mark.slow
def test_readme_commands_run_in_order(tmp_path, shared_data):
    """The CLI tour, command after command in one folder, as a new user would."""
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    for line in COMMANDS:
        args = shlex.split(line.replace("../shared/data", shared_data.as_posix()))
        r = subprocess.run(
            [sys.executable, "-m", "rankwise", *args[1:]],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=900,
        )
        assert r.returncode == 0, f"{line}\n{r.stderr}"
        if "vicuna.trec --per-query" in line:
            assert len(r.stdout.splitlines()) == 44
        if line.startswith("rankwise eval minilm.trec"):
            ndcg = float(r.stdout.splitlines()[1].split()[1])
            assert abs(ndcg - 0.642) < 0.003, ndcg  # the embedded MiniLM's DL19 nDCG@10 (fp32 0.6424, bf16 0.6432)
        if "--compare vicuna.trec" in line:
            assert "0.6682" in r.stdout


@pytest.mark.slow
def test_readme_demo_output_is_what_the_demo_prints(tmp_path):
    """Set-up 1 ends with `rankwise demo`; the README shows its output: the nDCG figures must be the ones printed."""
    pytest.importorskip("torch")
    shown = re.search(r"```text\n(rankwise \S+ demo:.*?)```", README, re.S)
    assert shown, "the README shows the demo's output in a text block"
    r = subprocess.run(
        [sys.executable, "-m", "rankwise", "demo"], cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    assert r.returncode == 0, r.stderr
    for label in ("BM25", "reranked"):
        said = re.search(rf"^\s*{label}\s+nDCG@10 = (\d\.\d+)", shown.group(1), re.M)
        printed = re.search(rf"^\s*{label}\s+nDCG@10 = (\d\.\d+)", r.stdout, re.M)
        assert said and printed, (shown.group(1), r.stdout)
        assert said.group(1) == printed.group(1), (
            f"README says {label} {said.group(1)}, demo printed {printed.group(1)}"
        )
