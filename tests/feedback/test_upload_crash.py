"""kill -9 of a kiosk while it packs and uploads feedback, at ≥ 20 random moments: at head office every batch
arrives exactly once and whole, and every record sold reaches it in exactly one batch."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.exchange.feedback import read_feedback_batch
from kiosk.store import SalesStore
from tests.feedback.head_office import HeadOfficeServer

CHILD = Path(__file__).with_name("upload_child.py")
REPO = Path(__file__).resolve().parents[2]


def child(tmp_path: Path, head_office: str, seed: int, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(CHILD), str(tmp_path / "sales.sqlite"), str(tmp_path / "captures"),
                             str(tmp_path / "outbox"), head_office, str(seed), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(proc: subprocess.Popen, word: str, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"child ended before {word}: {proc.stderr.read()[-2000:]}")
        if line.split()[0] == word:
            return
    pytest.fail(f"no {word} within {timeout} s")


@pytest.mark.parametrize("kind", ["file", "http"])
def test_every_batch_arrives_exactly_once_and_whole_through_kill_9(tmp_path, kind):
    ho = tmp_path / "ho"
    ho.mkdir()
    server = HeadOfficeServer(ho).__enter__() if kind == "http" else None
    url = server.url if server else ho.as_uri()
    rng = random.Random(20261201)
    kills = 0
    try:
        while kills < 22:
            proc = child(tmp_path, url, rng.randrange(10**9), "run")
            wait_for(proc, "READY")
            wait_for(proc, rng.choice(["PACK", "DRAIN", "DRAIN"]))  # mostly in the middle of the uploads
            time.sleep(rng.uniform(0.0, 0.05))
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=10)
            assert proc.returncode == -signal.SIGKILL
            kills += 1
        done = child(tmp_path, url, 0, "finish")  # the kiosk's next start sends what is left
        out, err = done.communicate(timeout=120)
        assert done.returncode == 0 and out.split()[-1] == "0", err[-2000:]
    finally:
        if server is not None:
            server.__exit__(None, None, None)

    arrived = sorted((ho / "feedback").rglob("feedback-*.tar"))
    seen: dict[tuple[str, int], str] = {}
    for path in arrived:
        batch = read_feedback_batch(path.read_bytes(), path.name)  # whole: its bytes match its name
        for rec in batch.records:
            key = (rec["placement_id"], rec["revision"])
            assert key not in seen, f"{key} in {seen.get(key)} and {path.name}"  # every record exactly once
            seen[key] = path.name
            assert batch.files[rec["image"]]  # with its photo
    with SalesStore.open(tmp_path / "sales.sqlite") as store:
        rows = store._conn.execute("SELECT placement_id, revision, sent_revision FROM feedback").fetchall()
        assert store.open_packs() == []
    assert all(r["sent_revision"] == r["revision"] for r in rows)
    assert {(r["placement_id"], r["revision"]) for r in rows} == set(seen)  # nothing lost, nothing extra
    assert not list((tmp_path / "outbox" / "pending").glob("*.tar"))
    assert [p.name for p in ho.rglob("*.tmp")] == []  # a cut upload's temporary goes with the next upload
    retried = f", {server.refused} PUTs of a batch head office had already (412)" if server else ""
    print(f"\n{kind}: {kills} kills; {len(arrived)} batches at head office, each exactly once and whole, holding "
          f"{len(seen)} records once each{retried}")
    assert server is None or server.stored == len(arrived)  # the server stored each batch once
