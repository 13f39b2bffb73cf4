"""Shared test setup.

* ``tests/reference.py`` is importable as ``reference`` under any pytest import mode; hypothesis is quick and
  deterministic.
* **The shared TREC DL data** (``../shared/data`` beside the repository, or ``$RANKWISE_SHARED_DATA``):
  ``SHARED_DATA`` is its path, the ``shared_data`` fixture gives it (or skips), and the ``needs_shared`` marker
  skips a test when it is missing. Test modules use these, never a path of their own.
* **Fast by default**: a plain ``pytest`` deselects the tests marked ``slow`` (more than ~2 s each: models,
  subprocesses, real kills, the README tour) and says how many it left out; ``pytest --all`` (what the README's
  test command and CI run) runs everything. An explicit ``-m EXPR`` is obeyed as given.
* **Numpy-only tests**: ``NUMPY_ONLY`` lists the test modules that need nothing beyond numpy, pytest and
  hypothesis; their tests carry the ``numpy_only`` marker, and ``pytest --numpy-only`` collects only them: the subset that
  CI runs against the installed wheel in a venv with numpy alone and no Rust toolchain. With ``RANKWISE_EXPECT_INSTALLED=1`` the run
  fails unless ``rankwise`` was imported from an installed copy (site-packages), not from the source tree.
* **Signals as a terminal would deliver them**: a job started in the background (``cmd &``, ``nohup``) inherits
  SIGINT and SIGHUP ignored, and so would every child a test starts; the Ctrl-C, SIGINT and SIGHUP tests would
  then wait for a signal that never arrives. The suite restores the default handlers first.
"""

from __future__ import annotations

import os
import signal
import sys
import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

settings.register_profile(
    "rankwise",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("rankwise")

SHARED_DATA = Path(os.environ.get("RANKWISE_SHARED_DATA") or _HERE.parents[1] / "shared" / "data")
HAS_SHARED_DATA = (SHARED_DATA / "dl19" / "bm25_top100.json").is_file()
_NO_SHARED = f"shared TREC DL data not found at {SHARED_DATA} (../shared/data beside the repository, or set RANKWISE_SHARED_DATA)"

# A decorator for tests that read the shared data (the same as @pytest.mark.needs_shared).
needs_shared = pytest.mark.needs_shared

# Test modules that need only numpy, pytest and hypothesis (and the package itself).
NUMPY_ONLY = frozenset(
    {
        "test_aggregate.py",
        "test_data.py",
        "test_errors.py",
        "test_fuzz_kernels.py",
        "test_fuzz_readers.py",
        "test_hostile_kernels.py",
        "test_hostile_planners.py",
        "test_hostile_readers.py",
        "test_oracle.py",
        "test_parse.py",
        "test_replay.py",
        "test_rerank_driver.py",
        "test_strategies.py",
    }
)


# Modules whose every test is slow: a plain run does not even import them (test_hf imports torch).
SLOW_MODULES = frozenset({"test_hf.py"})


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of the shared TREC DL data (``dl19/``, ``dl20/``); skips the test when it is missing."""
    if not HAS_SHARED_DATA:
        pytest.skip(_NO_SHARED)
    return SHARED_DATA


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--all", action="store_true", help="run the slow tests too (what CI and the README run)")
    parser.addoption(
        "--numpy-only",
        action="store_true",
        help="collect only the NUMPY_ONLY modules (for an install with numpy alone)",
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    if config.getoption("--numpy-only") and collection_path.name not in NUMPY_ONLY:
        return True
    if collection_path.name in SLOW_MODULES and not (config.getoption("--all") or config.getoption("markexpr")):
        config._rankwise_slow_modules_left_out = getattr(config, "_rankwise_slow_modules_left_out", 0) + 1  # type: ignore[attr-defined]
        return True
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: takes more than about 2 s (subprocesses, real kills, models)")
    config.addinivalue_line("markers", "needs_shared: reads the shared TREC DL data; skipped when it is missing")
    config.addinivalue_line(
        "markers", "numpy_only: needs nothing beyond numpy, pytest and hypothesis (set by conftest)"
    )
    if os.environ.get("RANKWISE_EXPECT_INSTALLED") == "1":
        import rankwise

        site = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
        where = Path(rankwise.__file__).resolve()
        if not any(where.is_relative_to(s) for s in site):
            raise pytest.UsageError(f"RANKWISE_EXPECT_INSTALLED=1 but rankwise was imported from {where}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.name in NUMPY_ONLY:
            item.add_marker(pytest.mark.numpy_only)
        if item.path.name in SLOW_MODULES and not item.get_closest_marker("slow"):
            raise pytest.UsageError(f"{item.nodeid}: a test in a SLOW_MODULES module must be marked slow")
    if config.getoption("--all") or config.getoption("markexpr"):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]
        config._rankwise_slow_left_out = len(slow)  # type: ignore[attr-defined]


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_shared") and not HAS_SHARED_DATA:
        pytest.skip(_NO_SHARED)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    left_out = getattr(config, "_rankwise_slow_left_out", 0)
    modules = getattr(config, "_rankwise_slow_modules_left_out", 0)
    if left_out or modules:
        also = f" and {modules} slow module(s) ({', '.join(sorted(SLOW_MODULES))})" if modules else ""
        terminalreporter.write_line(f"{left_out} slow tests{also} left out (pytest --all runs them)", yellow=True)
