"""The one console command, ``checkout``, with a subcommand per concern.

Each room of the project owns its subcommands in its own module, which exposes
``register(subparsers)``. Modules listed here must stay cheap to import (no torch, no Qt
at module level): heavy imports happen inside the command handlers, so ``checkout
catalog show`` starts in a fraction of a second.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from kiosk.errors import UserError

#: Modules that add subcommands, in the order they appear in ``checkout --help``.
COMMAND_MODULES = (
    "kiosk.commands",  # kiosk, kiosk update, bench kiosk
    "catalog.cli",  # catalog import/export/show
    "trainer.cli",  # data …, train, evaluate, bundle …, bench train/ddp
    "trainer.cli_ddp",  # data shard, bench ddp
    "kiosk.bundles.cli",  # keys …, bundle sign/verify/publish
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="checkout",
        description="Edge checkout kiosk: run the kiosk, manage the SKU catalog, train, evaluate and ship models.")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a room not built yet must not break the others
            if exc.name and name.startswith(exc.name):
                continue
            raise
        module.register(sub, groups)
    return parser


def group(sub: argparse._SubParsersAction, groups: dict, name: str, help: str) -> argparse._SubParsersAction:
    """Return the sub-subparsers of ``checkout NAME …``, creating the group once.

    Several rooms add commands to one group (``bench kiosk`` lives with the kiosk,
    ``bench train`` with the trainer), so groups are shared through ``groups``.
    """
    if name not in groups:
        p = sub.add_parser(name, help=help)
        groups[name] = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
    return groups[name]


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * args.verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"checkout: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("checkout: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
