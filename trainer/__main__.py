"""``python -m trainer …`` = ``checkout train …`` (what torchrun launches on every node)."""

import sys

from kiosk.cli import main

raise SystemExit(main(["train", *sys.argv[1:]]))
