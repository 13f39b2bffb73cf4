"""Packaging: the installed package imports from anywhere, reports the crate's
version, ships its typing files, and its stubs match the extension."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rankwise
import rankwise._core

REPO = Path(__file__).resolve().parents[1]


def cargo_version() -> str:
    text = (REPO / "Cargo.toml").read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        section = re.search(r"^\[package\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        assert section is not None
        m = re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
        assert m is not None
        return m.group(1)
    return str(tomllib.loads(text)["package"]["version"])


def run_python(args, cwd, timeout=300):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_import_from_another_directory(tmp_path):
    proc = run_python(
        ["-c", "import rankwise, rankwise._core; print(rankwise.__version__); print(rankwise.__file__)"],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    version, path = proc.stdout.split()
    assert version == cargo_version()
    assert Path(path).resolve() == Path(rankwise.__file__).resolve()


def test_import_is_clean_of_warnings(tmp_path):
    proc = run_python(["-W", "error", "-c", "import rankwise"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == ""


def test_version_matches_cargo_toml():
    assert rankwise.__version__ == cargo_version()
    assert rankwise._core.__version__ == cargo_version()
    assert importlib.metadata.version("rankwise") == cargo_version()


def test_all_names_exist():
    assert len(rankwise.__all__) == len(set(rankwise.__all__))
    for name in rankwise.__all__:
        assert hasattr(rankwise, name), name
    for name in rankwise.aggregate.__all__:
        assert hasattr(rankwise.aggregate, name), name
        assert name in rankwise.__all__, name
    for name in ["RankwiseError", "InvalidInputError", "EstimationError", "ConvergenceWarning"]:
        assert name in rankwise.__all__


def test_public_functions_are_documented():
    for name in rankwise.aggregate.__all__:
        obj = getattr(rankwise, name)
        assert obj.__doc__ and obj.__doc__.strip(), name


def test_typing_files_ship_next_to_the_module():
    pkg_dir = Path(rankwise.__file__).resolve().parent
    core_dir = Path(rankwise._core.__file__).resolve().parent
    assert core_dir == pkg_dir
    for name in ["py.typed", "_core.pyi"]:
        assert (pkg_dir / name).is_file(), name
        assert importlib.resources.files("rankwise").joinpath(name).is_file(), name
    stub = (pkg_dir / "_core.pyi").read_text(encoding="utf-8")
    for name in ["bradley_terry", "plackett_luce", "pagerank", "win_rate", "copeland", "borda", "elo"]:
        assert f"def {name}(" in stub, name


@pytest.mark.slow  # mypy in a subprocess
def test_stubs_match_the_extension(tmp_path):
    proc = run_python(
        ["-m", "mypy.stubtest", "rankwise._core"],
        cwd=tmp_path,
    )
    print(proc.stdout)
    print(proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr


_GOOD = """
from __future__ import annotations

from typing import List, Optional, Tuple

import numpy as np
import numpy.typing as npt

import rankwise
from rankwise import AggregationResult


def fit(winners: List[int], losers: List[int]) -> npt.NDArray[np.float64]:
    res: AggregationResult = rankwise.bradley_terry(winners, losers, 3, [1.0, 0.5], method="zermelo", prior=0.5)
    it: Optional[int] = res.iterations
    ok: Optional[bool] = res.converged
    ranking: npt.NDArray[np.int64] = res.ranking
    name: str = res.method
    return res.scores


def more(rankings: List[List[int]]) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rankwise.plackett_luce(rankings, method="mm", tol=1e-10, max_iter=100)
    rankwise.plackett_luce(np.array([[0, 1], [1, 0]]), weights=np.ones(2))
    rankwise.pagerank(np.array([0, 1]), np.array([1, 0]), damping=0.9)
    rankwise.win_rate([0], [1])
    rankwise.copeland((0,), (1,), n_items=2)
    rankwise.borda(rankings, n_items=4)
    rankwise.elo([0], [1], k=32.0, base=10.0, scale=400.0, initial=1500.0)
    try:
        rankwise.bradley_terry([0], [1], prior=0)
    except rankwise.EstimationError as e:
        msg: str = str(e)
    except rankwise.InvalidInputError:
        pass
    version: str = rankwise.__version__
    return rankwise.comparisons_from_rankings(rankings)
"""

_BAD = """
import rankwise

scores: str = rankwise.bradley_terry([0], [1]).scores
rankwise.bradley_terry([0], [1], method="bogus")
rankwise.pagerank([0], [1], damping="high")
rankwise.win_rate([0], [1]).no_such_attribute
"""


@pytest.mark.slow  # mypy in a subprocess
def test_public_api_type_checks(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(_GOOD))
    (tmp_path / "bad.py").write_text(textwrap.dedent(_BAD))
    proc = run_python(
        [
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            str(tmp_path / ".cache"),
            "--show-error-codes",
            "--no-error-summary",
            "good.py",
            "bad.py",
        ],
        cwd=tmp_path,
    )
    out = proc.stdout + proc.stderr
    errors = [line for line in out.splitlines() if ": error:" in line]
    good_errors = [e for e in errors if e.startswith("good.py")]
    assert not good_errors, out
    # the stubs are real types, not Any: each misuse in bad.py is caught
    bad_lines = sorted({int(e.split(":")[1]) for e in errors if e.startswith("bad.py")})
    assert bad_lines == [4, 5, 6, 7], out
    assert proc.returncode == 1, out


def test_console_script_entry_points_load():
    dist = importlib.metadata.distribution("rankwise")
    scripts = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    for ep in scripts:
        assert callable(ep.load()), ep


def test_python_dash_m_version(tmp_path):
    proc = run_python(["-m", "rankwise", "--version"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert cargo_version() in proc.stdout
