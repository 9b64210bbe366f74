"""What a room needs to add ``checkout`` subcommands (standard library only, so any room may use it)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["bounded", "group"]


def bounded(kind: type = float, low: float | None = None, high: float | None = None, *,
            above: float | None = None, below: float | None = None) -> Callable[[str], float]:
    """An argparse ``type``: a finite ``kind`` (int or float) at least ``low``, at most ``high``, more than ``above``,
    less than ``below``. A value out of range is argparse's one line naming the option ("argument --lr: 'nan' is
    not a finite number"), not a traceback from deep inside the library that meets it."""
    words = "a whole number" if kind is int else "a number"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {words}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        for ok, rule in ((low is None or value >= low, f"at least {low}"), (high is None or value <= high,
                                                                              f"at most {high}"),
                         (above is None or value > above, f"more than {above}"),
                         (below is None or value < below, f"less than {below}")):
            if not ok:
                raise argparse.ArgumentTypeError(f"{text}: must be {rule}")
        return value

    parse.__name__ = words
    return parse


def group(sub: argparse._SubParsersAction, groups: dict, name: str, help: str) -> argparse._SubParsersAction:
    """Return the sub-subparsers of ``checkout NAME …``, creating the group once.

    Several rooms add commands to one group (``bench kiosk`` lives with the kiosk,
    ``bench train`` with the trainer), so groups are shared through ``groups``.
    """
    if name not in groups:
        p = sub.add_parser(name, help=help)
        groups[name] = p.add_subparsers(dest=f"{name}_command", metavar="COMMAND", required=True)
    return groups[name]
