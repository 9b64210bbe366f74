"""The dashboard's reports under load: one computation per report however many requests ask at once (six cold
Quality pages took 37 s each and 1.5 GB together), an expired report served while the next is made, a failure
reaching every waiter and never kept, and the charts drawn once per report."""

from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the [headoffice] extra is not installed")

from trainer.headoffice import charts  # noqa: E402
from trainer.headoffice import quality as quality_module  # noqa: E402
from trainer.headoffice.dashboard import DashboardData  # noqa: E402


def _at_once(n: int, call) -> list:
    """What ``call`` returned (or raised) in each of ``n`` threads started together."""
    results: list = [None] * n

    def run(i: int) -> None:
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - what each request met
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_six_requests_for_a_cold_report_compute_it_once(seeded, monkeypatch):
    made = []
    real = quality_module.quality_report

    def slow_report(*args, **kw):
        made.append(kw.get("stores"))
        time.sleep(0.2)  # every request arrives while it is being made
        return real(*args, **kw)

    monkeypatch.setattr(quality_module, "quality_report", slow_report)
    data = DashboardData(str(seeded.root))
    results = _at_once(6, data.quality)
    assert made == [None]
    assert all(r is results[0] for r in results) and results[0]["skus"]


def test_an_expired_report_is_served_while_the_next_is_made(tmp_path):
    data = DashboardData(str(tmp_path), ttl_s=0.05)
    assert data._cached(("k",), lambda: "first") == "first"
    time.sleep(0.1)
    started = threading.Event()

    def slow() -> str:
        started.set()
        time.sleep(0.5)
        return "second"

    leader = threading.Thread(target=lambda: data._cached(("k",), slow))
    leader.start()
    assert started.wait(5)
    t = time.monotonic()
    assert data._cached(("k",), lambda: pytest.fail("made twice")) == "first"  # at once, not after the leader
    assert time.monotonic() - t < 0.2
    leader.join(5)
    assert data._cached(("k",), lambda: pytest.fail("made again")) == "second"


def test_a_failure_reaches_every_waiter_and_is_not_kept(tmp_path):
    data = DashboardData(str(tmp_path))
    calls = []

    def broken() -> str:
        calls.append(1)
        time.sleep(0.2)
        raise ValueError("unreadable")

    results = _at_once(4, lambda: data._cached(("k",), broken))
    assert len(calls) == 1 and all(isinstance(r, ValueError) for r in results)
    assert data._cached(("k",), lambda: "made again") == "made again"  # the next request tries again
    assert data._flights == {}


def test_each_chart_is_drawn_once_per_report(seeded, monkeypatch):
    drawn = []

    def counted(report, out):  # the drawing itself is test_dashboard's: here only how often it happens
        drawn.append(1)
        time.sleep(0.1)
        out.write(b"\x89PNG " + ",".join(report["stores"]).encode())

    monkeypatch.setitem(charts.CHARTS, "drift-cusum", counted)
    data = DashboardData(str(seeded.root))
    pngs = _at_once(4, lambda: data.chart("drift-cusum", "BLR-0042")) + [data.chart("drift-cusum", "BLR-0042")]
    assert len(drawn) == 1 and all(p == pngs[0] for p in pngs) and pngs[0] == b"\x89PNG BLR-0042"
    assert data.chart("no-such-chart") is None
    data._cache.pop(("quality", "BLR-0042", None))  # a new report: its charts are drawn again
    assert data.chart("drift-cusum", "BLR-0042")[:4] == b"\x89PNG" and len(drawn) == 2
