"""Shared test setup: make ``tests/reference.py`` importable as ``reference``
under any pytest import mode, and keep hypothesis quick and deterministic."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

settings.register_profile(
    "rankwise",
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("rankwise")
