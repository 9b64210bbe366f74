"""``checkout report quality SRC [--since …] [--store …]``: how well recognition does in the stores, from the feedback
batches the kiosks sent (the head-office location ``checkout feedback collect`` reads: ``feedback/<store>/<kiosk>/``).

Records are merged as collect merges them (a broken batch is skipped whole and named; per placement the highest
revision wins). Only placements whose final label is trusted count (staff, barcode, shopper or auto); per SKU — the
item as finally labelled —

* ``placements``; ``recognised``: how often the model's top-1 was this SKU (for any item);
* ``auto_add_rate``: added without a tap;
* ``top1`` / ``top3``: the final choice was the model's first / among its first three suggestions;
* ``correction_rate``: the final choice was not the model's top-1 (a shopper picked another tile, searched, or staff
  corrected it);
* ``select_s``: median seconds from the placement to the shopper's choice (placements the shopper chose by a tap or
  a search, whose choice was not changed later);
* ``drift``: :func:`trainer.headoffice.drift.detect` over the SKU's whole history in time order (the baseline needs
  the past, so ``--since`` only narrows which alarms and figures are shown).

Also the most confused pairs (item → what the model said) and the totals per store.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from statistics import median

from kiosk.exchange import BatchError
from kiosk.exchange.feedback import KIND, read_feedback_batch
from trainer.fleet.location import HeadOffice
from trainer.headoffice.drift import DriftSettings, detect

__all__ = ["Placement", "QualityReport", "SkuQuality", "quality_report", "read_placements"]

log = logging.getLogger(__name__)
LABELLED = ("staff", "barcode", "shopper", "auto")
DEFAULT_DRIFT = DriftSettings()


@dataclass(frozen=True)
class Placement:
    store: str
    kiosk: str
    placement_id: str
    placed_at: datetime
    select_s: float | None  # placement → the shopper's choice (tap or search), when that choice stood
    top: tuple[str, ...]
    recognised: str | None
    label: str
    chooser: str

    @property
    def corrected(self) -> bool:
        return self.label != (self.recognised or (self.top[0] if self.top else None))


def _time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def _placement(store: str, kiosk: str, rec: dict) -> Placement | None:
    if rec.get("trust") not in LABELLED or not rec.get("label"):
        return None
    placed, updated = _time(rec["placed_at"]), _time(rec["updated_at"] or rec["placed_at"])
    chooser = rec.get("chooser") or ""
    select_s = (updated - placed).total_seconds() if chooser.split(":")[0] in ("shopper", "search") else None
    return Placement(store, kiosk, rec["placement_id"], placed, select_s, tuple(s for s, _ in rec["top_k"]),
                     rec.get("recognised_sku"), rec["label"], chooser)


def read_placements(src: str) -> tuple[list[Placement], list[dict]]:
    """Every labelled placement at ``src`` (newest revision each), oldest first; and the batches skipped."""
    ho = HeadOffice(src)
    newest: dict[tuple[str, str, str], tuple[tuple, dict, str, str]] = {}
    keys, skipped = ho.batches(KIND)
    for key, store_dir, kiosk_dir in keys:
        try:
            batch = read_feedback_batch(ho.read(key), key.rsplit("/", 1)[-1], where=key,
                                        filed_under=(store_dir, kiosk_dir))
        except (BatchError, OSError, MemoryError) as exc:
            skipped.append({"batch": key, "reason": str(exc).removeprefix(f"{key}: ")})
            continue
        store, kiosk = batch.meta["store_id"], batch.meta["kiosk_id"]
        for rec in batch.records:
            k = (store, kiosk, rec["placement_id"])
            rank = (rec["revision"], rec["updated_at"])
            if k not in newest or rank > newest[k][0]:
                newest[k] = (rank, rec, store, kiosk)
    found = [p for _, rec, store, kiosk in newest.values() if (p := _placement(store, kiosk, rec)) is not None]
    return sorted(found, key=lambda p: (p.placed_at, p.store, p.kiosk, p.placement_id)), skipped


@dataclass
class SkuQuality:
    sku: str
    placements: int = 0
    recognised: int = 0
    auto_added: int = 0
    top1: int = 0
    top3: int = 0
    corrected: int = 0
    select_s: float | None = None
    drift: dict = field(default_factory=dict)

    def rates(self) -> dict[str, float | None]:
        n = self.placements
        return {k: (getattr(self, a) / n if n else None) for k, a in (
            ("auto_add_rate", "auto_added"), ("top1_rate", "top1"), ("top3_rate", "top3"),
            ("correction_rate", "corrected"))}

    def to_dict(self) -> dict:
        return {**asdict(self), **self.rates()}


def _tally(placements: list[Placement], sku: str) -> SkuQuality:
    q = SkuQuality(sku)
    times = []
    for p in placements:
        q.placements += 1
        q.auto_added += p.chooser == "auto"
        q.top1 += bool(p.top) and p.top[0] == p.label
        q.top3 += p.label in p.top[:3]
        q.corrected += p.corrected
        if p.select_s is not None:
            times.append(p.select_s)
    q.select_s = round(median(times), 2) if times else None
    return q


@dataclass
class QualityReport:
    source: str
    since: str | None
    stores: list[str]
    totals: dict
    per_store: dict[str, dict]
    skus: list[dict]
    confused_pairs: list[dict]
    alarms: list[dict]
    skipped: list[dict]
    settings: dict

    def to_dict(self) -> dict:
        return asdict(self)


def _drift(history: list[Placement], since: datetime | None, settings: DriftSettings) -> dict:
    result = detect([int(p.corrected) for p in history], [p.placed_at.isoformat() for p in history], settings)
    d = result.to_dict(with_path=True)
    if result.alarm and since is not None and _time(result.alarm_at) < since:
        d["alarm_before_since"] = True
    return d


def _alarm(sku: str, drift: dict, store: str = "") -> dict:
    return {"sku": sku, "store": store, **{k: drift[k] for k in ("alarm_at", "baseline_rate", "recent_rate", "p0",
                                                                  "peak")}}


def _store_alarms(history: list[Placement], since: datetime | None, settings: DriftSettings) -> list[dict]:
    """The test again per store: the alarms of the stores where this SKU drifted."""
    per_store: dict[str, list[Placement]] = defaultdict(list)
    for p in history:
        per_store[p.store].append(p)
    out = []
    for store, placed in sorted(per_store.items()):
        drift = _drift(placed, since, settings)
        if drift["alarm"] and not drift.get("alarm_before_since"):
            out.append(_alarm(placed[0].label, drift, store))
    return out


def quality_report(src: str, *, since: datetime | None = None, stores: list[str] | None = None,
                   settings: DriftSettings = DEFAULT_DRIFT, top_pairs: int = 10,
                   placements: list[Placement] | None = None, skipped: list[dict] | None = None) -> QualityReport:
    """The report over ``src`` (or the ``placements`` already read from it)."""
    if placements is None:
        placements, skipped = read_placements(src)
    if stores:
        placements = [p for p in placements if p.store in stores]
    shown = [p for p in placements if since is None or p.placed_at >= since]
    history: dict[str, list[Placement]] = defaultdict(list)
    for p in placements:
        history[p.label].append(p)
    by_sku: dict[str, list[Placement]] = defaultdict(list)
    by_store: dict[str, list[Placement]] = defaultdict(list)
    recognised = Counter(p.recognised for p in shown if p.recognised)
    for p in shown:
        by_sku[p.label].append(p)
        by_store[p.store].append(p)
    skus = []
    for sku in sorted(by_sku):
        q = _tally(by_sku[sku], sku)
        q.recognised = recognised.get(sku, 0)
        q.drift = _drift(history[sku], since, settings)
        skus.append(q)
    pairs = Counter((p.label, p.recognised) for p in shown if p.corrected and p.recognised)
    only = next(iter(by_store)) if len(by_store) == 1 else ""
    alarms = [_alarm(q.sku, q.drift, only) for q in skus if q.drift["alarm"] and not q.drift.get("alarm_before_since")]
    if len(by_store) > 1:  # a store's own drift (its camera, its supplier) hides in the fleet's figures
        for q in skus:
            q.drift["store_alarms"] = _store_alarms(history[q.sku], since, settings)
            alarms += [a for a in q.drift["store_alarms"] if a["sku"]]
    return QualityReport(
        source=str(src), since=since.isoformat() if since else None, stores=sorted(by_store),
        totals=_tally(shown, "*").to_dict(), per_store={s: _tally(ps, "*").to_dict() for s, ps in
                                                        sorted(by_store.items())},
        skus=[q.to_dict() for q in skus],
        confused_pairs=[{"item": a, "model_said": b, "count": n} for (a, b), n in pairs.most_common(top_pairs)],
        alarms=alarms, skipped=list(skipped or []), settings=asdict(settings))


def _pct(x: float | None) -> str:
    return "    -" if x is None else f"{100 * x:5.1f}"


def _flag(drift: dict) -> str:
    local = ", ".join(a["store"] for a in drift.get("store_alarms", []))
    if drift.get("alarm"):
        return "ALARM since " + drift["alarm_at"][:16]
    if local:
        return f"ALARM at {local}"
    if drift.get("p0") is not None:
        return f"ok (S {drift['statistic']:.1f}/{drift['threshold']:.0f})"
    return "-" if not drift else "baseline not reached"


def format_report(report: QualityReport) -> str:
    t = report.totals
    lines = [f"recognition quality at {report.source}" + (f" since {report.since}" if report.since else "")
             + f": {t['placements']} placements, stores {', '.join(report.stores) or '-'}",
             f"{'SKU':<28}{'n':>6}{'model':>7}{'auto%':>7}{'top1%':>7}{'top3%':>7}{'corr%':>7}{'sel s':>7}  drift"]
    for s in report.skus + [dict(t, sku="ALL", recognised=t["placements"], drift={})]:
        lines.append(f"{s['sku'][:27]:<28}{s['placements']:>6}{s['recognised']:>7}{_pct(s['auto_add_rate']):>7}"
                     f"{_pct(s['top1_rate']):>7}{_pct(s['top3_rate']):>7}{_pct(s['correction_rate']):>7}"
                     f"{'-' if s['select_s'] is None else format(s['select_s'], '.1f'):>7}  {_flag(s['drift'])}")
    lines.append("most confused: " + ("; ".join(f"{p['item']} → {p['model_said']} ×{p['count']}"
                                                  for p in report.confused_pairs) or "none"))
    lines.append(f"drift alarms: {len(report.alarms)}" + "".join(
        f"\n  {a['sku']} {'at ' + a['store'] if a['store'] else '(all stores)'}: corrections "
        f"{_pct(a['baseline_rate']).strip()} % at baseline → {_pct(a['recent_rate']).strip()} % since, alarm at "
        f"{a['alarm_at'][:16]}" for a in report.alarms))
    lines += [f"skipped {s['batch']}: {s['reason']}" for s in report.skipped]
    return "\n".join(lines)
