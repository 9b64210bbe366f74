"""``checkout fleet status SRC [--json]``: each kiosk's latest heartbeat (``heartbeats/<store>/<kiosk>.json``) as one
row — model version, update state, when it last reported (stale after ``--stale-after`` minutes; a time ahead of
head office's clock is shown as such and is not fresh either), placements and correction rate over the heartbeat's
window, staff corrections, the outbox's queue and the last error. A heartbeat that cannot be read — not one, not
at the path its own ids give, a folder, a pipe, a link or a device where the file should be — is named with the
reason, not guessed at and never left out; such files are not opened (a pipe would block, /dev/zero never ends)."""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from kiosk.errors import DataError
from kiosk.exchange.display import display
from kiosk.exchange.heartbeat import MAX_BYTES, correction_rate, heartbeat_time, read_heartbeat
from kiosk.exchange.layout import HEARTBEATS, heartbeat_key
from kiosk.inputfiles import KINDS
from trainer.fleet.location import HeadOffice

__all__ = ["CLOCK_SLACK_S", "KioskRow", "fleet_status", "format_table", "printable"]

#: a heartbeat up to this far ahead of head office's clock is "just now" (two clocks never agree to the second)
CLOCK_SLACK_S = 120.0


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
    clock_ahead: bool = False  # the heartbeat's time is ahead of head office's clock (counted as stale)
    sales_day: str = ""  # the kiosk's local day of the two figures below ("": the kiosk sends none)
    sales_count: int | None = None
    sales_paise: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _row(doc: dict, now: datetime, stale_after_s: float) -> KioskRow:
    age = (now - heartbeat_time(doc)).total_seconds()
    ahead = age < -CLOCK_SLACK_S
    counts, update, outbox, sales = doc["counts"], doc["update"], doc["outbox"], doc.get("sales") or {}
    return KioskRow(doc["store_id"], doc["kiosk_id"], doc["at"], round(age, 1), ahead or age > stale_after_s,
                    doc["model"].get("version"), doc.get("software") or "", update.get("state") or "-",
                    update.get("available_version"), counts.get("placements") or 0, correction_rate(counts),
                    counts.get("corrections") or 0, counts.get("window_days") or 0, outbox.get("queued") or 0,
                    outbox.get("dropped") or 0, doc.get("last_error") or outbox.get("last_error"), ahead,
                    sales.get("day") or "", sales.get("count"), sales.get("total_paise"))


def printable(text: str) -> str:
    """``text`` on one line, whatever is in it: control, format and separator characters and lone surrogates (a
    file name that is not UTF-8) written as escapes (the one shared escape, :func:`kiosk.exchange.display.display`)."""
    return display(text)


def _not_a(mode: int, what: str) -> str:
    kind = "a file" if stat.S_ISREG(mode) else KINDS.get(stat.S_IFMT(mode), "not a regular file")
    return f"{kind}, not {what} (not read)"


def _local_keys(root: Path) -> tuple[list[str], list[dict]]:
    """The heartbeat files under the local ``root/heartbeats`` (``<store>/<kiosk>.json``, regular files only), and
    a problem for everything else there (hidden files and temporaries left out); nothing is opened."""
    base = root / HEARTBEATS
    if not os.path.lexists(base):
        return [], []
    if not base.is_dir():
        return [], [{"heartbeat": HEARTBEATS, "reason": "not a folder (heartbeats/<store>/<kiosk>.json expected)"}]
    keys, problems = [], []

    def entries(key: str) -> list[tuple[str, int]]:
        try:
            names = sorted(n for n in os.listdir(root / key) if not n.startswith("."))
            return [(f"{key}/{n}", os.lstat(root / key / n).st_mode) for n in names]
        except OSError as exc:
            problems.append({"heartbeat": printable(key), "reason": f"cannot be listed ({exc.strerror or exc})"})
            return []

    for store, mode in entries(HEARTBEATS):
        if not stat.S_ISDIR(mode):
            problems.append({"heartbeat": printable(store), "reason": _not_a(mode, "a store folder")})
            continue
        for key, mode in entries(store):
            if stat.S_ISREG(mode) and key.endswith(".json"):
                keys.append(key)
            else:
                reason = "not named <kiosk>.json (not read)" if stat.S_ISREG(mode) else _not_a(mode, "a heartbeat file")
                problems.append({"heartbeat": printable(key), "reason": reason})
    return keys, problems


def _read_local(path: Path) -> bytes:
    """The first :data:`MAX_BYTES` + 1 bytes of the regular file at ``path``, opened without following a link or
    waiting on a pipe (it may have been replaced since it was listed)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"{path}: {_not_a(mode, 'a heartbeat file')}")
        data = b""
        while len(data) <= MAX_BYTES:
            chunk = os.read(fd, MAX_BYTES + 1 - len(data))
            if not chunk:
                break
            data += chunk
        return data
    finally:
        os.close(fd)


def _read(ho: HeadOffice, local: Path | None, key: str, now: datetime, stale_after_s: float) -> KioskRow:
    doc = read_heartbeat(ho.read(key) if local is None else _read_local(local / key), key)
    home = heartbeat_key(doc["store_id"], doc["kiosk_id"])
    if key != home:
        raise DataError(f"{key}: names kiosk {doc['store_id'] or '-'}/{doc['kiosk_id']} (whose heartbeat is {home}), "
                       "not the one its path gives")
    return _row(doc, now, stale_after_s)


def fleet_status(src: str, *, now: datetime | None = None, stale_after_s: float = 1800.0, need_folder: bool = False
                 ) -> tuple[list[KioskRow], list[dict]]:
    """``(rows by store and kiosk, [{"heartbeat", "reason"}] for what is not a heartbeat, by path)``; a problem
    for ``heartbeats`` itself when it is not a folder. ``need_folder``: no ``heartbeats/`` at ``src`` (nothing
    under it, for a URL) is a :class:`DataError` (a wrong location), not an empty fleet."""
    now = now or datetime.now(timezone.utc)
    ho = HeadOffice(src)
    local = ho.local  # a local directory: listed and read without opening what is not a file
    keys, problems = _local_keys(local) if local is not None else (ho.keys(HEARTBEATS, ".json"), [])
    if need_folder and not keys and (local is None or not os.path.lexists(local / HEARTBEATS)):
        raise DataError(_no_folder(src))
    rows = []
    for key in keys:
        try:
            rows.append(_read(ho, local, key, now, stale_after_s))
        except (DataError, OSError, KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            for prefix in (f"{key}: ", f"{local / key if local is not None else key}: "):
                reason = reason.removeprefix(prefix)
            problems.append({"heartbeat": printable(key), "reason": reason})
    return sorted(rows, key=lambda r: (r.store, r.kiosk)), sorted(problems, key=lambda p: p["heartbeat"])


def _no_folder(src: str) -> str:
    hint = ""
    if src.rstrip("/").rsplit("/", 1)[-1] == HEARTBEATS:
        hint = f" (this looks like the {HEARTBEATS}/ folder itself: give the location above it)"
    return (f"{src}: no {HEARTBEATS}/ folder of kiosk heartbeats{hint}: not the head-office location the kiosks "
            "upload to, or no kiosk has reported yet")


def _day_possible(r: KioskRow) -> bool:
    """Whether a kiosk's sales figures may be the store's: sent, its clock not ahead of head office's, its day not
    after head office's today anywhere (UTC+14) -- a kiosk a year ahead hid its store's sales behind its own day."""
    if r.sales_count is None or r.clock_ahead:
        return False
    try:
        now = datetime.fromisoformat(r.last_heartbeat.replace("Z", "+00:00")) + timedelta(seconds=r.age_s)
        return r.sales_day <= (now + timedelta(hours=14)).date().isoformat()
    except (ValueError, OverflowError):
        return False


def store_sales(rows: list[KioskRow]) -> list[dict]:
    """Per store, its kiosks' sales on the newest day any of them reports (a kiosk whose clock is ahead left out):
    ``store, day, sales, paise, kiosks`` (how many kiosks that day's figures come from) and ``of`` (how many kiosks
    the store has)."""
    out = []
    for store in sorted({r.store for r in rows}):
        mine = [r for r in rows if r.store == store]
        day = max((r.sales_day for r in mine if _day_possible(r)), default="")
        today = [r for r in mine if _day_possible(r) and r.sales_day == day]
        if today:
            out.append({"store": store, "day": day, "sales": sum(r.sales_count for r in today),
                        "paise": sum(r.sales_paise or 0 for r in today), "kiosks": len(today), "of": len(mine)})
    return out


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h" if seconds < 172800 else f"{seconds / 86400:.1f} days"


def _age(row: KioskRow) -> str:
    if row.clock_ahead:
        return f"clock ahead by {_span(-row.age_s)}"
    return f"{_span(max(0.0, row.age_s))} ago"


def rupees(paise: object) -> str:
    """Whole paise (an int, or catalog text of ASCII digits such as ``"12000"``) as rupees, ``120.00`` (``-1.50`` for
    ``-150``); anything else — ``"12_000"``, ``" 5"``, ``True``, ``1.5`` — as it came."""
    text = str(paise)
    digits = text.removeprefix("-")
    if isinstance(paise, bool) or not (digits.isascii() and digits.isdigit()) or len(digits) > 30:
        return text
    whole, part = divmod(int(digits), 100)
    return f"{'-' if text.startswith('-') and int(digits) else ''}{whole}.{part:02d}"


def _sales(row: KioskRow) -> str:
    if row.sales_count is None:
        return "-"
    return f"{row.sales_count} ₹{rupees(row.sales_paise or 0)} ({printable(row.sales_day)[5:10]})"


def format_table(rows: list[KioskRow], problems: list[dict]) -> str:
    """The text table, one line per kiosk whatever its heartbeat's texts hold, then the unreadable ones."""
    header = ("STORE", "KIOSK", "MODEL", "UPDATE", "LAST HEARTBEAT", "SALES (ITS DAY)", "PLACED", "CORRECTED", "STAFF",
              "OUTBOX", "LAST ERROR")
    table = [header]
    for r in rows:
        update = printable(r.update_state)[:40] + (f" (v{r.available_version} offered)" if r.available_version
                                                   not in (None, r.model_version) else "")
        rate = "-" if r.correction_rate is None else f"{100 * r.correction_rate:.1f}%"
        outbox = f"{r.outbox_queued} waiting" + (f", {r.outbox_dropped} dropped" if r.outbox_dropped else "")
        table.append((printable(r.store), printable(r.kiosk), "-" if r.model_version is None else f"v{r.model_version}",
                      update, _age(r) + (" STALE" if r.stale else ""), _sales(r), str(r.placements), rate,
                      str(r.corrections), outbox, printable(r.last_error or "")[:60]))
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    stale, ahead = sum(r.stale for r in rows), sum(r.clock_ahead for r in rows)
    lines.append(f"{len(rows)} kiosk(s), {stale} stale" + (f" ({ahead} with the clock ahead)" if ahead else "")
                 + f"; placements and corrections over the last "
                 f"{max((r.window_days for r in rows), default=7)} days")
    lines += [f"store {printable(s['store'])}: {s['sales']} sale(s), ₹{rupees(s['paise'])} on {s['day']} "
              f"({s['kiosks']} of {s['of']} kiosk(s) report it)" for s in store_sales(rows)]
    lines += [f"unreadable heartbeat {printable(p['heartbeat'])}: {printable(p['reason'])}" for p in problems]
    return "\n".join(lines)
