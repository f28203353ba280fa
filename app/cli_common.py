"""Plumbing shared by the `fieldvault field` and `fieldvault coordinator` commands.

`verb_adder(verbs)` returns a function that adds a sub-command taking `--data` (overriding the
parent's) and `--json`. `read_secret(env, prompt)` returns a passphrase from the environment
variable `env`, or asks for it on the terminal (twice with `confirm=True`); without a terminal it
exits with a message naming the variable.

Danger: a passphrase in an environment variable can be read by other processes of the same user;
prefer the prompt on shared machines. Messages never contain the passphrase.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable
from typing import Any

PASSPHRASE_ENV = "FIELDVAULT_PASSPHRASE"  # noqa: S105 - a variable name, not a secret


def verb_adder(verbs: Any) -> Callable[[str, str], argparse.ArgumentParser]:
    """`verbs` is the result of `add_subparsers`; the returned function adds one verb."""

    def verb(name: str, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = verbs.add_parser(name, help=help_text)
        sub.add_argument("--data", default=argparse.SUPPRESS, help="data directory")
        sub.add_argument("--json", action="store_true", help="print JSON")
        return sub

    return verb


def read_secret(env: str, prompt: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise SystemExit(f"set {env} or run interactively to enter the {prompt.lower()}")
    first = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"Repeat {prompt.lower()}: ") != first:
        raise SystemExit("the passphrases differ")
    return first


def command(
    verb: Callable[[str, str], argparse.ArgumentParser],
    name: str,
    help_text: str,
    func: Callable[[argparse.Namespace], int],
    *positionals: str,
) -> argparse.ArgumentParser:
    """A verb (from `verb_adder`) that runs `func`, taking `positionals` in order; add its
    options to what is returned."""
    sub = verb(name, help_text)
    for positional in positionals:
        sub.add_argument(positional)
    sub.set_defaults(func=func)
    return sub
