"""Crash safety: SIGKILL a process that edits the store at random moments, then reopen and check.

A SIGKILL loses everything the process had not handed to the kernel, like a kiosk crash
(a real power cut additionally loses the OS page cache; WAL + synchronous=FULL fsyncs each
commit, which is what protects against that, and a process kill cannot test it).
"""

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.store import SalesStore

CHILD = Path(__file__).with_name("crash_child.py")


def run_and_kill(db: Path, seed: int, mode: str, delay: float) -> list[list[str]]:
    """Start the child, SIGKILL it ``delay`` seconds after it opened the store (its READY line: on a loaded machine
    the interpreter's start-up alone can outlast a delay counted from the spawn), return its output lines (split)."""
    proc = subprocess.Popen([sys.executable, str(CHILD), str(db), str(seed), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    if not ready or proc.stdout.readline().strip() != "READY":
        proc.kill()
        pytest.fail(f"child did not open the store: {proc.communicate()[1][-2000:]}")
    time.sleep(delay)
    if proc.poll() is not None:  # it must not have ended by itself
        out, err = proc.communicate()
        pytest.fail(f"child exited early with {proc.returncode}: {err[-2000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    out = proc.stdout.read()  # the text object, not communicate(): that reads the raw pipe and loses the lines
    proc.stderr.read()  # readline() already took into its buffer (a sale's PAYING/PAID lines: a false "sold twice")
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    complete = out[: out.rfind("\n") + 1]  # a line cut off by the kill was never "shown"
    return [line.split() for line in complete.splitlines() if line.strip()]


def test_lines_survive_sigkill(tmp_path):
    db = tmp_path / "sales.sqlite"
    rng = random.Random(20240601)
    shown: dict[str, tuple[str, int]] = {}  # line id -> (sku, total), as the UI showed it
    removed: set[str] = set()
    kills = 0
    kills_after_edits = 0
    while kills < 24:
        out = run_and_kill(db, rng.randrange(10**9), "lines", rng.uniform(0.02, 0.35))
        kills += 1
        in_flight_add = bool(out) and out[-1][0] == "ADDING"
        in_flight_remove = out[-1][1] if out and out[-1][0] == "REMOVING" else None
        for parts in out:
            if parts[0] == "SHOWN":
                assert parts[1] not in shown, "a line id was shown twice"
                shown[parts[1]] = (parts[2], int(parts[3]))
            elif parts[0] == "REMOVED":
                removed.add(parts[1])
        kills_after_edits += any(p[0] in ("SHOWN", "REMOVED") for p in out)

        with SalesStore.open(db) as store:
            assert store.integrity_check() == "ok"
            lines = store.open_cart().lines
            ids = [line.line_id for line in lines]
            assert len(ids) == len(set(ids)), "a line appears twice"
            present = set(ids)
            expected = set(shown) - removed
            missing = expected - present
            assert missing <= {in_flight_remove}, f"shown lines lost after kill {kills}: {missing}"
            if in_flight_remove in missing:
                removed.add(in_flight_remove)  # that removal was committed before the kill
            extra = present - set(shown)
            assert len(extra) <= (1 if in_flight_add else 0), f"lines nobody asked for: {extra}"
            for line in lines:
                if line.line_id in shown:
                    assert (line.sku, line.total) == shown[line.line_id]
                else:  # the add that was committed but not yet printed: shown from now on
                    shown[line.line_id] = (line.sku, line.total)
            assert not present & removed
    assert kills_after_edits >= 20
    assert len(shown) > 50 and removed


def test_kill_during_pay_never_makes_two_sales(tmp_path):
    db = tmp_path / "sales.sqlite"
    rng = random.Random(7)
    paid: dict[str, str] = {}  # cart id -> receipt no as printed
    for _ in range(12):
        out = run_and_kill(db, rng.randrange(10**9), "pay", rng.uniform(0.02, 0.35))
        paying = [p[1] for p in out if p[0] == "PAYING"]
        for p in out:
            if p[0] == "PAID":
                paid[p[1]] = p[2]
        with SalesStore.open(db) as store:
            assert store.integrity_check() == "ok"
            # the till retries the payment it was doing when the kiosk died
            if paying and paying[-1] not in paid:
                retry = store.pay(paying[-1])
                again = store.pay(paying[-1])
                assert retry == again
                paid[paying[-1]] = retry.receipt_no
            sales = store.sales()
            carts = [s.cart_id for s in sales]
            assert len(carts) == len(set(carts)), "a cart was sold twice"
            assert [s.receipt_seq for s in sales] == list(range(1, len(sales) + 1)), "receipt numbers not monotonic"
            by_cart = {s.cart_id: s.receipt_no for s in sales}
            for cart_id, receipt_no in paid.items():
                assert by_cart[cart_id] == receipt_no
            assert set(by_cart) == set(paid)
            for s in sales:
                r = s.receipt()
                assert r.bill.total == s.total and r.receipt_no == s.receipt_no
    assert len(paid) >= 12
