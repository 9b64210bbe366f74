"""What a room needs to add ``checkout`` subcommands (no imports beyond argparse, so any room may use it)."""

from __future__ import annotations

import argparse

__all__ = ["group"]


def group(sub: argparse._SubParsersAction, groups: dict, name: str, help: str) -> argparse._SubParsersAction:
    """Return the sub-subparsers of ``checkout NAME …``, creating the group once.

    Several rooms add commands to one group (``bench kiosk`` lives with the kiosk,
    ``bench train`` with the trainer), so groups are shared through ``groups``.
    """
    if name not in groups:
        p = sub.add_parser(name, help=help)
        groups[name] = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
    return groups[name]
