"""Check that the installed distributions are exactly the given `name==version` pins.

`python -m tests.support.installed_versions requests==2.32.3 cryptography==43.0.1` exits 1 and
names every difference, so `make test-lowest` cannot pass while pip quietly installed something
newer than the floor it is meant to test.
"""

from __future__ import annotations

import importlib.metadata
import sys


def differences(pins: list[str]) -> list[str]:
    found = []
    for pin in pins:
        name, _, wanted = pin.partition("==")
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "nothing"
        if installed != wanted:
            found.append(f"{name}: wanted {wanted}, installed {installed}")
    return found


def main(argv: list[str]) -> int:
    problems = differences(argv)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
