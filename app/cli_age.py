"""`fieldvault age`: the age tool's everyday commands, with the same flags.

    fieldvault age keygen [--pq] [-o OUTPUT]            new identity file (recipient on stderr)
    fieldvault age keygen -y [INPUT]                    recipients of an identity file
    fieldvault age encrypt (-r RECIPIENT | -R FILE)... [-a] [-o OUTPUT] [INPUT]
    fieldvault age encrypt -p [-a] [-o OUTPUT] [INPUT]  to a passphrase (see below)
    fieldvault age decrypt [-i IDENTITY_FILE]... [-o OUTPUT] [INPUT]

INPUT and OUTPUT default to stdin and stdout, read and written as binary. Without `-i`,
`decrypt` treats the file as passphrase-encrypted. Passphrases come from the
FIELDVAULT_PASSPHRASE environment variable or an interactive prompt, never from an argument
(which would show in the process list and shell history).

Danger: on a failed decryption with `-o`, the partial output is deleted; on stdout, a verified
prefix may already have been written, so check the exit status before using it.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import getpass
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import sync.age as age
from sync.age.keys import parse_recipients_file

PASSPHRASE_ENV = "FIELDVAULT_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "age", help="encrypt and decrypt files in the age format (like the age tool)"
    )
    verbs = parser.add_subparsers(dest="age_command", metavar="VERB", required=True)

    keygen = verbs.add_parser("keygen", help="generate an identity (like age-keygen)")
    keygen.add_argument("-o", "--output", help="write the identity to this new file (mode 0600)")
    keygen.add_argument(
        "-y", action="store_true", help="print the recipients of the identity file INPUT"
    )
    keygen.add_argument("--pq", action="store_true", help="post-quantum hybrid identity")
    keygen.add_argument("input", nargs="?", help="identity file for -y (default: stdin)")
    keygen.set_defaults(func=_keygen)

    encrypt = verbs.add_parser("encrypt", help="encrypt to recipients or a passphrase")
    encrypt.add_argument(
        "-r", "--recipient", action="append", default=[], help="age1… recipient (repeatable)"
    )
    encrypt.add_argument(
        "-R", "--recipients-file", action="append", default=[], help="file of recipients"
    )
    encrypt.add_argument("-p", "--passphrase", action="store_true", help="encrypt to a passphrase")
    encrypt.add_argument("-a", "--armor", action="store_true", help="PEM-style text output")
    encrypt.add_argument("-o", "--output", help="output file (default: stdout)")
    encrypt.add_argument("input", nargs="?", help="input file (default: stdin)")
    encrypt.set_defaults(func=_encrypt)

    decrypt = verbs.add_parser("decrypt", help="decrypt with identities or a passphrase")
    decrypt.add_argument(
        "-i", "--identity", action="append", default=[], help="identity file (repeatable)"
    )
    decrypt.add_argument("-o", "--output", help="output file (default: stdout)")
    decrypt.add_argument("input", nargs="?", help="input file (default: stdin)")
    decrypt.set_defaults(func=_decrypt)


def _fail(message: str) -> int:
    print(f"fieldvault age: error: {message}", file=sys.stderr)
    return 1


def _run(action: Callable[[argparse.Namespace], None], args: argparse.Namespace) -> int:
    try:
        action(args)
    except CliError as exc:
        return _fail(str(exc))
    except age.NoIdentityMatch:
        return _fail("no identity matched the file (wrong key or passphrase)")
    except age.UnsupportedRecipient as exc:
        return _fail(str(exc))
    except age.HmacError:
        return _fail("the file's header was altered (MAC mismatch)")
    except age.HeaderError as exc:
        return _fail(f"invalid age header: {exc}")
    except age.PayloadError as exc:
        return _fail(f"the encrypted data is damaged or truncated: {exc}")
    except age.ArmorError as exc:
        return _fail(f"invalid armor: {exc}")
    except ValueError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"{exc.strerror or exc} ({exc.filename or 'stream'})")
    except KeyboardInterrupt:
        return _fail("interrupted")
    return 0


def _keygen(args: argparse.Namespace) -> int:
    return _run(_do_keygen, args)


def _encrypt(args: argparse.Namespace) -> int:
    return _run(_do_encrypt, args)


def _decrypt(args: argparse.Namespace) -> int:
    return _run(_do_decrypt, args)


# --- keygen ------------------------------------------------------------------------------


def _do_keygen(args: argparse.Namespace) -> None:
    if args.y:
        if args.pq:
            raise CliError("-y cannot be combined with --pq")
        text = _read_text(args.input)
        lines = [age.recipient_of(identity) for identity in age.parse_identity_file(text)]
        _write_text(args.output, "".join(line + "\n" for line in lines))
        return
    if args.input:
        raise CliError("keygen takes an input file only with -y")
    identity, recipient = age.generate_identity(pq=args.pq)
    created = _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    content = f"# created: {created}\n# public key: {recipient}\n{identity}\n"
    if args.output:
        try:
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise CliError(f"output file {args.output} exists; not overwriting") from None
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(content)
        print(f"Public key: {recipient}", file=sys.stderr)
    else:
        sys.stdout.write(content)
        sys.stdout.flush()


# --- encrypt / decrypt ------------------------------------------------------------------


def _do_encrypt(args: argparse.Namespace) -> None:
    recipients: list[age.Passphrase | str] = list(args.recipient)
    for path in args.recipients_file:
        recipients += parse_recipients_file(_read_text(path).splitlines())
    if args.passphrase:
        if recipients:
            raise CliError("-p cannot be combined with -r or -R")
        recipients = [age.Passphrase(_ask_passphrase(confirm=True))]
    if not recipients:
        raise CliError("missing recipients: use -r, -R or -p")
    if not args.armor and not args.output and sys.stdout.isatty():
        raise CliError("refusing to write binary output to a terminal; use -a or -o")
    with _input(args.input) as src, _output(args.output) as dst:
        age.encrypt_stream(src, dst, recipients, armor=args.armor)


def _do_decrypt(args: argparse.Namespace) -> None:
    identities: list[age.Passphrase | str] = []
    for path in args.identity:
        identities += age.parse_identity_file(_read_text(path))
    if not identities:
        identities = [age.Passphrase(_ask_passphrase(confirm=False))]
    with _input(args.input) as src, _output(args.output) as dst:
        age.decrypt_stream(src, dst, identities)


def _ask_passphrase(*, confirm: bool) -> str:
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env is not None:
        if not from_env:
            raise CliError(f"{PASSPHRASE_ENV} is empty")
        return from_env
    if not sys.stdin.isatty():
        raise CliError(f"no terminal to ask for a passphrase; set {PASSPHRASE_ENV}")
    first = getpass.getpass("Enter passphrase: ")
    if not first:
        raise CliError("empty passphrase")
    if confirm and getpass.getpass("Confirm passphrase: ") != first:
        raise CliError("passphrases didn't match")
    return first


def _read_text(path: str | None) -> str:
    if path is None or path == "-":
        return sys.stdin.read()
    return Path(path).read_text(encoding="utf-8")


def _write_text(path: str | None, text: str) -> None:
    if path:
        Path(path).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


@contextlib.contextmanager
def _input(path: str | None) -> Iterator[BinaryIO]:
    if path is None or path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as handle:
        yield handle


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[BinaryIO]:
    """Stdout, or a file that is deleted again if the command fails."""
    if path is None or path == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    handle = open(path, "wb")  # noqa: SIM115 - closed in both branches below
    try:
        yield handle
    except BaseException:
        handle.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    handle.close()
