"""How hard the reliability suite pushes: quick in the normal run, heavier on request.

Set `FIELDVAULT_RELIABILITY=full` for the heavy forms (more kills, more devices, longer chaos,
more fuzzing examples). Every test reads its sizes through `pick(quick, full)` so the two forms
run the same code.
"""

from __future__ import annotations

import os
from typing import TypeVar

T = TypeVar("T")

FULL = os.environ.get("FIELDVAULT_RELIABILITY", "").lower() == "full"


def pick(quick: T, full: T) -> T:
    """`full` when FIELDVAULT_RELIABILITY=full, otherwise `quick`."""
    return full if FULL else quick
