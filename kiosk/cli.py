"""The one console command, ``checkout``, with a subcommand per concern.

Each room of the project owns its subcommands in its own module, which exposes
``register(subparsers, groups)``. The till's own rooms are listed in :data:`COMMAND_MODULES`; the
trainer's (head office) are found through the ``checkout.commands`` entry points that
``pyproject.toml`` declares, so the kiosk never imports the trainer. Command modules must stay
cheap to import (no torch, no Qt at module level): heavy imports happen inside the handlers, so
``checkout catalog show`` starts in a fraction of a second, and on a till installed without the
trainer's packages a head-office command says which extra to install instead of a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import logging
import os
import sys

from kiosk.errors import UserError

#: The till's modules that add subcommands, in the order they appear in ``checkout --help``.
COMMAND_MODULES = (
    "kiosk.commands",  # kiosk, kiosk update, bench kiosk
    "catalog.cli",  # catalog import/export/show
    "kiosk.update_cli",  # kiosk update (with --unblock --config, the till's audit row)
    "kiosk.bundles.cli",  # bundle verify, kiosk model-status
    "kiosk.rollback_cli",  # kiosk rollback (the till's audit row with --config)
    "kiosk.clock_cli",  # kiosk clock-reset (the same)
    "kiosk.store.cli",  # receipt reprint
    "kiosk.staff.cli",  # staff add|list|disable|enable|reset-pin
    "kiosk.audit.cli",  # audit verify|show|key
    "kiosk.gallery_cli",  # sku enroll/list/forget, bench enroll
)
#: entry-point group of the other rooms' subcommands (``trainer``: data, train, evaluate, bundle export/sign …)
ENTRY_POINT_GROUP = "checkout.commands"
#: what a head-office command needs that a till install leaves out
EXTRA_FOR = {"torch": "trainer", "torchvision": "trainer", "onnx": "trainer", "matplotlib": "trainer",
             "tensorboard": "trainer", "safetensors": "trainer", "PySide6": "kiosk", "onnxruntime": "kiosk",
             "serial": "kiosk", "s3fs": "s3", "tensorrt": "tensorrt", "fastapi": "headoffice",
             "uvicorn": "headoffice", "jinja2": "headoffice", "itsdangerous": "headoffice", "multipart": "headoffice"}


def _registrations():
    """``register`` functions: the till's modules, then the entry points of the other rooms (by name)."""
    from importlib.metadata import entry_points

    for name in COMMAND_MODULES:
        yield importlib.import_module(name).register
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            yield ep.load()
        except ModuleNotFoundError as exc:  # that room is not installed here
            logging.getLogger(__name__).debug("checkout: no %s commands (%s)", ep.name, exc)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checkout",
        description="Edge checkout kiosk: run the kiosk, manage the SKU catalog, train, evaluate and ship models.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for register in _registrations():
        register(sub, groups)
    return parser


def disk_full(exc: BaseException) -> str | None:
    """A full disk under any writer -- an OSError, or a library's own error quoting errno 28 (safetensors, onnx) --
    as one line; None for anything else."""
    if isinstance(exc, OSError):
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            return None
        where = f" writing {exc.filename}" if exc.filename else ""
    elif "No space left on device" in str(exc) or "os error 28" in str(exc):
        where = ""
    else:
        return None
    return (f"the disk is full{where}; files being replaced keep their last complete version (every write is "
            "atomic): free some space and run the command again (a training run continues with "
            "`checkout train --resume RUN`)")


def os_error(exc: BaseException) -> str | None:
    """A file or folder the command could not read or write (missing, a file where a folder should be, no
    permission, a read-only disk) as one line naming it; None for anything else."""
    if not isinstance(exc, OSError) or exc.filename is None:
        return None
    where = f"{exc.filename} -> {exc.filename2}" if exc.filename2 else str(exc.filename)
    return f"{where}: {exc.strerror or exc}"


def sqlite_error(exc: BaseException, args: argparse.Namespace) -> str | None:
    """A SQLite error no command turned into its own message, as one line naming the database(s) the command was
    given; None for anything else."""
    import sqlite3

    if not isinstance(exc, sqlite3.Error):
        return None
    named = [str(v) for k in ("db", "catalog", "store") if isinstance(v := getattr(args, k, None), (str, os.PathLike))]
    return f"{', '.join(named) or 'a database'}: {' '.join(str(exc).split()) or type(exc).__name__} (SQLite)"


def main(argv: list[str] | None = None) -> int:
    _utf8_streams()
    try:
        return _main(argv)
    except BrokenPipeError:  # `checkout … | head`: the reader has gone, as with any Unix tool (128 + SIGPIPE)
        _quiet_stdout()
        return 141


#: the longest error line printed: a setting holding 5,000 characters was quoted whole in its refusal
MAX_ERROR_CHARS = 600
#: called, in order, when a command refuses its input (exit 2), before its ``checkout: error:`` line is printed: a
#: torchrun worker marks itself as the rank that refused (``trainer/__main__.py``), so the launcher names it even when
#: torchrun stops it before it exits
ON_REFUSAL: list = []


def clip(line: str, most: int = MAX_ERROR_CHARS) -> str:
    """``line`` as one readable line: at most ``most`` characters, its start (what and where) and its end kept."""
    if len(line) <= most:
        return line
    return f"{line[:most - 140]} … [{len(line) - most + 100:,} characters left out] … {line[-100:]}"


def _utf8_streams() -> None:
    """stdout and stderr in UTF-8 where the locale's encoding cannot write the rupee sign (a C or ISO-8859 locale
    without Python's UTF-8 mode): a bill, a catalog row or a Hindi name is never a UnicodeEncodeError after the sale
    it prints was recorded. Lone surrogates (an undecodable file name) come out as escapes."""
    for stream in (sys.stdout, sys.stderr):
        try:
            "\u20b9".encode(stream.encoding or "ascii")
        except (LookupError, UnicodeEncodeError):
            try:
                stream.reconfigure(encoding="utf-8", errors="backslashreplace")
            except (AttributeError, ValueError, OSError):  # not a text stream of ours (embedded, replaced)
                pass


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail into the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (an embedding program's): nothing to quiet
        pass


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): argparse has printed it
        return exc.code if isinstance(exc.code, int) else 2
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        from kiosk.logs import redact

        return _refuse(redact(str(exc)))  # a config error may quote a secret
    except ModuleNotFoundError as exc:  # a command of a role this install leaves out
        top = (exc.name or "").split(".")[0]
        if top not in EXTRA_FOR:
            raise
        return _refuse(f"`checkout {args.command}` needs the Python package {top!r}, which is not installed here: "
                       f"pip install 'edge-checkout-kiosk[{EXTRA_FOR[top]}]'")
    except KeyboardInterrupt:
        print("checkout: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        line = disk_full(exc) or os_error(exc) or sqlite_error(exc, args)
        if line is None:
            raise
        logging.getLogger(__name__).debug("checkout %s", args.command, exc_info=True)  # -vv shows where
        return _refuse(line)


def _refuse(line: str) -> int:
    """The command refused: :data:`ON_REFUSAL`'s hooks, then one ``checkout: error:`` line; exit status 2."""
    for hook in ON_REFUSAL:
        hook()
    print(f"checkout: error: {clip(line)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
