"""The till itself: free (and writable) disk where the kiosk writes, and a clock that can be trusted."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from kiosk.doctor.core import FAIL, OK, WARN, CheckResult, Context

__all__ = ["BUILD_DATE", "check_clock", "check_disk", "clock_advice", "disk_advice", "write_places"]

#: no clock that reads earlier than this is right: this check was written that day
BUILD_DATE = datetime(2026, 11, 30, tzinfo=timezone.utc)
MIB = 1 << 20


def write_places(ctx: Context) -> dict[str, Path]:
    """The setting → directory the kiosk writes into (sales store, captures, model store, log file)."""
    c = ctx.config
    places = {"store": Path(c.store).parent, "captures": Path(c.captures)}
    if c.model_state.strip():
        places["model_state"] = Path(c.model_state)
    if c.log_file.strip():
        places["log_file"] = Path(c.log_file).parent
    return places


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the kiosk creates the rest, on that file system)."""
    path = path.expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disk_advice(ctx: Context) -> str:
    return (f"free space there (old captures can go to head office, then be deleted) or lower "
            f"{ctx.setting('min_free_mb')}")


def check_disk(ctx: Context) -> CheckResult:
    """Free space against ``min_free_mb`` on each file system the kiosk writes to, and write access there."""
    by_fs: dict[int, tuple[Path, list[str]]] = {}
    for name, place in write_places(ctx).items():
        directory = _existing(place)
        by_fs.setdefault(os.stat(directory).st_dev, (directory, []))[1].append(name)
    need = ctx.config.min_free_mb * MIB
    lines, worst = [], OK
    for directory, names in by_fs.values():
        free = ctx.disk_usage(str(directory)).free
        lines.append(f"{free / MIB:,.0f} MiB free at {directory} ({', '.join(names)})")
        if free < need:
            return CheckResult(FAIL, "disk", f"only {lines[-1]}, below min_free_mb {ctx.config.min_free_mb}")
        if free < 2 * need:
            worst = WARN
    unwritable = [f"{d} ({', '.join(n)})" for d, n in by_fs.values() if not os.access(d, os.W_OK)]
    if unwritable:
        return CheckResult(FAIL, "disk", f"cannot write to {'; '.join(unwritable)}",
                           "run the doctor as the kiosk user (`sudo -u kiosk …`); give that user the directory "
                           "(`chown -R kiosk: /var/lib/checkout`) and list it in the unit's ReadWritePaths")
    return CheckResult(worst, "disk", "; ".join(lines) + ("" if worst == OK else f" (less than twice min_free_mb "
                                                                                  f"{ctx.config.min_free_mb})"))


def clock_advice(ctx: Context) -> str:
    zone = "" if ctx.config.store_timezone else (
        f"; name the store's time zone: {ctx.setting('store_timezone')} (e.g. \"Asia/Kolkata\"): receipts, "
        "today's receipts and the end-of-day report follow it")
    return ("set the time: `timedatectl set-ntp true` and let the till reach an NTP server (or check the RTC "
            "battery); receipts and bundle expiry use this clock" + zone)


def _model_signed_at(ctx: Context) -> datetime | None:
    from kiosk.bundle_format.timestamps import parse_time
    from kiosk.doctor.model import read_model_manifest
    from kiosk.errors import BundleError

    try:
        created = read_model_manifest(ctx).created_at
        return parse_time(created, "created_at") if created else None
    except BundleError:  # no readable bundle: the bundle check says so
        return None


def check_clock(ctx: Context) -> CheckResult:
    """Not earlier than this software's build date or the model's signing time; NTP synchronised when known."""
    now = ctx.now()
    floors = [("this software's build date", BUILD_DATE)]
    signed_at = _model_signed_at(ctx)
    if signed_at is not None:
        floors.append(("the model's signing time", signed_at))
    synced, how = ctx.ntp()
    ntp = {True: "NTP synchronised", False: "NTP NOT synchronised"}.get(synced, f"NTP status unknown ({how})")
    zone = ctx.config.store_timezone
    zone_text = f"store zone {zone}" if zone else (
        f"store_timezone NOT set: days follow this process's zone ({datetime.now().astimezone().tzname()})")
    found = f"{now.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC; {ntp}; {zone_text}"
    behind = [f"{what} {when.astimezone(timezone.utc):%Y-%m-%d %H:%M}" for what, when in floors if now < when]
    if behind:
        return CheckResult(FAIL, "clock", f"{found}; earlier than {' and '.join(behind)}")
    return CheckResult(WARN if synced is False or not zone else OK, "clock", found)
