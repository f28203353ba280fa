"""The `fieldvault` command line.

Each area registers its own subcommands from a module named in `_COMMAND_MODULES`; every such
module exposes `register(subparsers)`, adding one top-level subcommand whose handler is stored
as `func` and returns an exit code. Modules are imported lazily so `fieldvault --help` stays fast
and a missing optional dependency (the server extras) only affects its own subcommand.

A command may live outside the installed packages: `fieldvault bench` is `bench/cli.py`, which
exists only in a source checkout. Its name is found beside the `app` package; `app` never imports
`bench` (the benchmarks import the app, not the other way round).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.version import __version__

SOURCE_ROOT = Path(__file__).resolve().parent.parent

# (subcommand, module, one-line help). The module is imported only when the subcommand runs.
_COMMAND_MODULES: list[tuple[str, str, str]] = [
    ("age", "app.cli_age", "encrypt and decrypt files in the age format (like the age tool)"),
    ("server", "app.cli_server", "run and initialise the organisation server"),
    ("field", "app.cli_field", "the field app and its headless commands"),
    ("coordinator", "app.cli_coordinator", "the coordinator app and its headless commands"),
    ("demo", "app.cli_demo", "start a throw-away server and both apps on localhost"),
    ("bench", "bench.cli", "run the benchmarks and print JSON results"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldvault",
        description="FieldVault: encrypted documentation of abuse, offline first.",
    )
    parser.add_argument("--version", action="version", version=f"fieldvault {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in _COMMAND_MODULES:
        placeholder = sub.add_parser(name, help=help_text, add_help=False)
        placeholder.set_defaults(_module=module)
        placeholder.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, _ = parser.parse_known_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    module = _command_module(args._module)
    real = argparse.ArgumentParser(prog="fieldvault")
    real_sub = real.add_subparsers(dest="command")
    module.register(real_sub)
    real_args = real.parse_args(args_list)
    result: int = real_args.func(real_args)
    return result


def _command_module(name: str) -> Any:
    """Import a command's module; one outside the installed packages (`bench`) is looked for
    in the source checkout this `app` package belongs to."""
    top = name.partition(".")[0]
    if importlib.util.find_spec(top) is None and (SOURCE_ROOT / top).is_dir():
        sys.path.insert(0, str(SOURCE_ROOT))
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != top:
            raise
        raise SystemExit(
            f"fieldvault {top} runs from a source checkout: {top}/ was not found"
        ) from None


if __name__ == "__main__":
    raise SystemExit(main())
