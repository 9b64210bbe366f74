"""``checkout fleet status SRC [--json]``: each kiosk's latest heartbeat (``heartbeats/<store>/<kiosk>.json``) as one
row — model version, update state, when it last reported (stale after ``--stale-after`` minutes), placements and
correction rate over the heartbeat's window, staff corrections, the outbox's queue and the last error. A heartbeat
that cannot be read is named, not guessed at."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from kiosk.errors import DataError
from kiosk.exchange.heartbeat import correction_rate, read_heartbeat
from kiosk.exchange.layout import HEARTBEATS
from trainer.fleet.location import HeadOffice

__all__ = ["KioskRow", "fleet_status", "format_table"]


@dataclass
class KioskRow:
    store: str
    kiosk: str
    last_heartbeat: str
    age_s: float
    stale: bool
    model_version: int | None
    software: str
    update_state: str
    available_version: int | None
    placements: int
    correction_rate: float | None
    corrections: int
    window_days: int
    outbox_queued: int
    outbox_dropped: int
    last_error: str | None

    def to_dict(self) -> dict:
        return asdict(self)


def _row(doc: dict, now: datetime, stale_after_s: float) -> KioskRow:
    at = datetime.fromisoformat(doc["at"].replace("Z", "+00:00"))
    age = (now - at).total_seconds()
    counts, update, outbox = doc["counts"], doc["update"], doc["outbox"]
    return KioskRow(doc["store_id"], doc["kiosk_id"], doc["at"], round(age, 1), age > stale_after_s,
                    doc["model"].get("version"), str(doc.get("software", "")), update.get("state") or "-",
                    update.get("available_version"), int(counts.get("placements") or 0), correction_rate(counts),
                    int(counts.get("corrections") or 0), int(counts.get("window_days") or 0),
                    int(outbox.get("queued") or 0), int(outbox.get("dropped") or 0),
                    doc.get("last_error") or outbox.get("last_error"))


def fleet_status(src: str, *, now: datetime | None = None, stale_after_s: float = 1800.0
                 ) -> tuple[list[KioskRow], list[dict]]:
    """``(rows by store and kiosk, [{"heartbeat", "reason"}] for files that are not heartbeats)``."""
    now = now or datetime.now(timezone.utc)
    ho = HeadOffice(src)
    rows, problems = [], []
    for key in ho.keys(HEARTBEATS, ".json"):
        try:
            rows.append(_row(read_heartbeat(ho.read(key), key), now, stale_after_s))
        except (DataError, OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            problems.append({"heartbeat": key, "reason": str(exc).removeprefix(f"{key}: ")})
    return sorted(rows, key=lambda r: (r.store, r.kiosk)), problems


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{max(0, seconds):.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago" if seconds < 172800 else f"{seconds / 86400:.1f} days ago"


def format_table(rows: list[KioskRow], problems: list[dict]) -> str:
    header = ("STORE", "KIOSK", "MODEL", "UPDATE", "LAST HEARTBEAT", "PLACED", "CORRECTED", "STAFF", "OUTBOX",
              "LAST ERROR")
    table = [header]
    for r in rows:
        update = r.update_state + (f" (v{r.available_version} offered)" if r.available_version not in (None,
                                                                                                     r.model_version)
                                   else "")
        rate = "-" if r.correction_rate is None else f"{100 * r.correction_rate:.1f}%"
        outbox = f"{r.outbox_queued} waiting" + (f", {r.outbox_dropped} dropped" if r.outbox_dropped else "")
        table.append((r.store, r.kiosk, "-" if r.model_version is None else f"v{r.model_version}", update,
                      _age(r.age_s) + (" STALE" if r.stale else ""), str(r.placements), rate, str(r.corrections),
                      outbox, (r.last_error or "")[:60]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    stale = sum(r.stale for r in rows)
    lines.append(f"{len(rows)} kiosk(s), {stale} stale; placements and corrections over the last "
                 f"{max((r.window_days for r in rows), default=7)} days")
    lines += [f"unreadable heartbeat {p['heartbeat']}: {p['reason']}" for p in problems]
    return "\n".join(lines)
