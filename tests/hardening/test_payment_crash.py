"""Acceptance: kill -9 the kiosk at random moments around payment — before the intent, after the terminal's
approval, after the approval is stored, after the sale commits, before the receipt shows — and restart it each time.

Every approval the terminal gave leads to exactly one sale (with that approval as its payment reference), no cart
is ever sent to the terminal under two keys (no approval asked twice), and every committed sale's receipt is shown
(again, after a restart) and can be reprinted. The counts are printed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from catalog.model import Sku
from catalog.repository import Catalog
from kiosk.payments.simulator import Terminal
from kiosk.store import SalesStore

CHILD = Path(__file__).with_name("payment_child.py")
REPO = Path(__file__).resolve().parents[2]
#: the markers a kill is aimed after (see payment_child.py), and what each window is
MOMENTS = {"PAYING": "before the intent", "INTENT": "intent written, terminal not asked",
           "APPROVED": "approved, not stored", "STORED": "approval stored, sale not committed",
           "COMMITTED": "sale committed, receipt not shown"}
KILLS = 32  # the acceptance run (slow); the default suite kills 10 times, twice at each moment


def _catalog(work: Path) -> None:
    with Catalog.open(work / "catalog.sqlite") as cat:
        cat.upsert_many([Sku("milk-500", "Toned Milk 500 ml", "Dairy", "unit", 2800, 500, "0401"),
                         Sku("curd-400", "Curd 400 g", "Dairy", "unit", 4500, 500, "0403"),
                         Sku("bread-400", "Bread 400 g", "Bakery", "unit", 4000, 0, "1905")])


def _child(work: Path, seed: int, mode: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(CHILD), str(work), str(seed), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(REPO))


def _kill_after(work: Path, seed: int, target: str, rng: random.Random) -> list[list[str]]:
    """Run the child until it prints ``target`` (the second time it pays, so restarts are covered too), then
    SIGKILL it a random moment later; returns its complete output lines, split."""
    proc = _child(work, seed, "run")
    lines, seen = [], 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"child ended early: {proc.stderr.read()[-3000:]}")
        lines.append(line.split())
        if lines[-1] and lines[-1][0] == target:
            seen += 1
            if seen == 2:
                break
    time.sleep(rng.uniform(0, 0.025))
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.stdout.read()  # the text object, not communicate(): that reads the raw pipe and loses the lines
    proc.stderr.read()  # readline() already took into its buffer
    proc.wait(timeout=10)
    complete = rest[: rest.rfind("\n") + 1]  # a line cut by the kill was never "shown"
    assert proc.returncode == -signal.SIGKILL
    return lines + [x.split() for x in complete.splitlines() if x.strip()]


def _audit(work: Path, shown: set[str]) -> Counter:
    counts = Counter()
    terminal = Terminal(work / "terminal.sqlite")
    approvals = [c for c in terminal.ledger() if c["status"] == "approved"]
    keys_per_cart = Counter()
    for key in {r["idempotency_key"]: r["reference"] for r in terminal.requests("charge")}.items():
        keys_per_cart[key[1]] += 1
    with SalesStore.open(work / "sales.sqlite") as store:
        sales = {s.cart_id: s for s in store.sales()}
        counts["approvals"] = len(approvals)
        counts["sales"] = len(sales)
        per_cart = Counter(c["reference"] for c in approvals)
        counts["double charges"] = sum(n - 1 for n in per_cart.values()) + sum(
            1 for c in approvals if c["reference"] not in sales)
        counts["approval asked twice for a cart"] = sum(n - 1 for n in keys_per_cart.values())
        counts["sales without an approval"] = sum(
            1 for cart, s in sales.items() if s.payment_ref not in {c["approval_ref"] for c in approvals})
        counts["sales never shown"] = sum(1 for s in sales.values() if s.receipt_no not in shown)
        for s in sales.values():
            copy = store.reprint(s.receipt_no, by="audit")
            counts["reprintable receipts"] += copy.text.endswith(s.receipt_text) and "DUPLICATE" in copy.text
        counts["unfinished payments"] = len(store.payments(states=("pending", "approved")))
    terminal.close()
    return counts


@pytest.mark.parametrize("kills", [10, pytest.param(KILLS, marks=pytest.mark.slow)])
def test_kill_9_around_payment_never_charges_twice(kills, tmp_path, capsys):
    work = tmp_path
    _catalog(work)
    rng = random.Random(20261130 + kills)
    moments, shown, shown_after_restart = Counter(), set(), 0
    for i in range(kills):
        target = list(MOMENTS)[i % len(MOMENTS)] if i < len(MOMENTS) else rng.choice(list(MOMENTS))
        out = _kill_after(work, rng.randrange(10**9), target, rng)
        marks = [p for p in out if p and p[0] in MOMENTS]
        moments[marks[-1][0]] += 1  # the last step the child reached before the kill
        ready = next(n for n, p in enumerate(out) if p and p[0] == "READY")
        first_pay = next((n for n, p in enumerate(out) if p and p[0] == "PAYING"), len(out))
        shown |= {p[1] for p in out if p and p[0] == "SHOWN"}
        shown_after_restart += sum(1 for p in out[ready:first_pay] if p and p[0] == "SHOWN")
    settle = _child(work, 1, "settle")
    out, err = settle.communicate(timeout=60)
    assert settle.returncode == 0, err[-3000:]
    shown |= {p.split()[1] for p in out.splitlines() if p.startswith("SHOWN")}
    shown_after_restart += sum(1 for p in out.splitlines() if p.startswith("SHOWN"))
    counts = _audit(work, shown)
    with capsys.disabled():
        print(f"\npayment crash test: {kills} kill -9s, last step reached: "
              + ", ".join(f"{MOMENTS[m]} {moments[m]}" for m in MOMENTS))
        print("  " + ", ".join(f"{k} {v}" for k, v in counts.items())
              + f", receipts shown again after a restart {shown_after_restart}")
    assert sum(moments.values()) == kills and all(moments[m] for m in MOMENTS), moments
    assert counts["approvals"] == counts["sales"] > 0
    assert counts["double charges"] == 0 and counts["approval asked twice for a cart"] == 0
    assert counts["sales without an approval"] == 0 and counts["unfinished payments"] == 0
    assert counts["reprintable receipts"] == counts["sales"] and counts["sales never shown"] == 0
    assert shown_after_restart >= 1
