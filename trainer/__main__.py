"""``python -m trainer …`` = ``checkout train …`` (what torchrun launches on every node)."""

import os
import sys
from pathlib import Path

from kiosk.cli import ON_REFUSAL, main
from trainer.launch import REFUSALS_ENV


def _mark_refusal() -> None:
    """This worker refuses its input: say which rank, before torchrun may stop it (trainer.launch names it)."""
    folder, rank = os.environ.get(REFUSALS_ENV), os.environ.get("RANK", "")
    if folder and rank.isascii() and rank.isdigit():
        try:
            Path(folder, f"rank-{int(rank)}").touch()
        except OSError:  # the launcher's folder is gone: it names the rank from torchrun's report instead
            pass


ON_REFUSAL.append(_mark_refusal)
raise SystemExit(main(["train", *sys.argv[1:]]))
