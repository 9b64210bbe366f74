"""``--sample-log``: which samples each optimizer step trained on, per rank (both training pipelines)."""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write


class SampleLog:
    """``RUN/samples/rank<R>.jsonl``: one line per optimizer step with the ids of the samples it trained on.

    Opening it at resume step ``s`` drops the lines of steps after ``s`` (steps the checkpoint does not
    contain), so the log always describes exactly what the saved model has seen.
    """

    def __init__(self, run: Path, rank: int, keep_until_step: int):
        folder = Path(run) / "samples"
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"rank{rank}.jsonl"
        kept = []
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill
                if rec.get("step", 1 << 62) <= keep_until_step:
                    kept.append(line)
        atomic_write(self.path, "".join(x + "\n" for x in kept))
        self.fh = open(self.path, "a")

    def record(self, epoch: int, step: int, batch: int, ids: list[int]) -> None:
        self.fh.write(json.dumps({"epoch": epoch, "step": step, "batch": batch, "ids": ids}) + "\n")
        self.fh.flush()

    def close(self) -> None:
        self.fh.close()


def read_sample_logs(run: Path) -> dict[int, list[int]]:
    """epoch → every sample id trained on in it, over all ranks (duplicates kept, for checking)."""
    seen: dict[int, list[int]] = {}
    for p in sorted((Path(run) / "samples").glob("rank*.jsonl")):
        for line in p.read_text().splitlines():
            rec = json.loads(line)
            seen.setdefault(rec["epoch"], []).extend(rec["ids"])
    return seen
