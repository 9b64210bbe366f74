"""PNG charts of a quality report (matplotlib, Agg: no display needed): correction rate per SKU with drift alarms
marked, the drift score (change-point GLR) of the SKUs that alarmed (or came closest), the most confused pairs, and
time to select."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from kiosk.errors import DataError

__all__ = ["CHARTS", "png", "write_charts"]

ALARM, OK, GREY = "#c62828", "#2e7d32", "#9e9e9e"


def _figure(width: float = 8.0, height: float = 4.0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["text.parse_math"] = False  # SKU ids and store names are text, never TeX ("$" stopped a chart)
    fig, ax = plt.subplots(figsize=(width, height), dpi=100)
    return plt, fig, ax


def _save(plt, fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def correction_chart(report: dict, path: Path) -> Path:
    skus = sorted(report["skus"], key=lambda s: -(s["correction_rate"] or 0))[:25]
    plt, fig, ax = _figure(8, max(3.0, 0.3 * len(skus) + 1))
    names = [s["sku"] for s in skus][::-1]
    rates = [100 * (s["correction_rate"] or 0) for s in skus][::-1]
    colours = [ALARM if s["drift"].get("alarm") or s["drift"].get("store_alarms") else OK for s in skus][::-1]
    ax.barh(names, rates, color=colours)
    ax.set_xlabel("corrections, % of placements (red: drift alarm)")
    ax.set_title("Correction rate per SKU")
    return _save(plt, fig, path)


def cusum_chart(report: dict, path: Path, most: int = 4) -> Path:
    tested = [s for s in report["skus"] if s["drift"].get("path")]
    chosen = sorted(tested, key=lambda s: (not s["drift"]["alarm"], -s["drift"]["peak"]))[:most]
    plt, fig, ax = _figure()
    for s in chosen:
        d = s["drift"]
        ax.plot(range(d["baseline_n"], d["baseline_n"] + len(d["path"])), d["path"],
                label=f"{s['sku']}{' (alarm)' if d['alarm'] else ''}", color=ALARM if d["alarm"] else None)
    threshold = report["settings"]["threshold"]
    ax.axhline(threshold, color=GREY, linestyle="--", label=f"threshold {threshold:g}")
    ax.set_xlabel("placement of the SKU (after its baseline)")
    ax.set_ylabel("drift score S")
    ax.set_title("Drift: change-point score of each SKU's corrections (a rise above its own rate)")
    if chosen:
        ax.legend(fontsize=8)
    return _save(plt, fig, path)


def pairs_chart(report: dict, path: Path) -> Path:
    pairs = report["confused_pairs"][::-1]
    plt, fig, ax = _figure(8, max(3.0, 0.35 * len(pairs) + 1))
    ax.barh([f"{p['item']} ← {p['model_said']}" for p in pairs], [p["count"] for p in pairs], color=GREY)
    ax.set_xlabel("placements (item ← what the model said first)")
    ax.set_title("Most confused pairs")
    return _save(plt, fig, path)


def select_chart(report: dict, path: Path) -> Path:
    skus = [s for s in report["skus"] if s["select_s"] is not None]
    skus = sorted(skus, key=lambda s: -s["select_s"])[:20][::-1]
    plt, fig, ax = _figure(8, max(3.0, 0.3 * len(skus) + 1))
    ax.barh([s["sku"] for s in skus], [s["select_s"] for s in skus], color=GREY)
    ax.set_xlabel("median seconds from placing the item to the shopper's choice")
    ax.set_title("Time to select")
    return _save(plt, fig, path)


CHARTS = {"correction-rate": correction_chart, "drift-cusum": cusum_chart, "confused-pairs": pairs_chart,
          "time-to-select": select_chart}
_PYPLOT = threading.Lock()  # pyplot's figures are global state: one chart is drawn at a time


def png(name: str, report: dict) -> bytes:
    """Chart ``name`` (a key of :data:`CHARTS`) of ``report`` as PNG bytes."""
    buf = io.BytesIO()
    with _PYPLOT:
        CHARTS[name](report, buf)
    return buf.getvalue()


def write_charts(report: dict, out: Path) -> list[Path]:
    """The four charts of ``report`` (:meth:`QualityReport.to_dict`) as PNG files in ``out``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DataError(f"--charts {out}: not a folder (the charts are written into a folder)")
    out.mkdir(parents=True, exist_ok=True)
    return [correction_chart(report, out / "correction-rate.png"), cusum_chart(report, out / "drift-cusum.png"),
            pairs_chart(report, out / "confused-pairs.png"), select_chart(report, out / "time-to-select.png")]
