"""``python -m rankwise`` and the ``rankwise`` console script (see :mod:`rankwise.cli`)."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
