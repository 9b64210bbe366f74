"""Feedback: is the tray region set (privacy), where does feedback go, and is the outbox draining?"""

from __future__ import annotations

import importlib.util
from datetime import datetime, timezone
from pathlib import Path

from kiosk.doctor.core import OK, WARN, CheckResult, Context

__all__ = ["check_feedback", "feedback_advice"]


def feedback_advice(ctx: Context) -> str:
    return (f"set {ctx.setting('tray_region')} ([x0, y0, x1, y1], fractions of the frame: the tray only); check that "
            "head office is reachable from the till ([feedback] head_office) and look at the outbox's state.json")


def _age(iso_time: str | None, now: datetime) -> str:
    if not iso_time:
        return "-"
    try:
        seconds = (now - datetime.fromisoformat(iso_time.replace("Z", "+00:00"))).total_seconds()
    except (ValueError, TypeError, OverflowError):
        return "-"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{max(0, seconds) / 60:.0f} min"


def _outbox_disk(ctx: Context, outbox: str) -> str | None:
    """A warning when the outbox's disk has no room for a batch (packing and the outbox's state then fail)."""
    from kiosk.feedback.packer import BATCH_BYTES

    path = Path(outbox).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        free = int(ctx.disk_usage(str(path)).free)
    except (OSError, AttributeError, TypeError, ValueError):
        return None
    if free >= BATCH_BYTES:
        return None
    return (f"the outbox's disk ({path}) has {free >> 20} MiB free: batches cannot be written, feedback is not "
            "leaving")


def check_feedback(ctx: Context) -> CheckResult:
    """WARN when the tray region is not set, when head office has been unreachable for long, when batches were
    dropped unsent or refused, when feedback cannot be packed (the kiosk's last round said why, or the outbox's
    disk is full) or when the head office's library is missing; the till can sell either way (never FAIL)."""
    from kiosk.feedback.outbox import read_outbox_status
    from kiosk.feedback.settings import display_url
    from kiosk.logs import redact

    config, settings = ctx.config, ctx.config.feedback
    warnings, parts = [], []
    if config.tray_region:
        parts.append(f"tray_region {list(config.tray_region)}")
    else:
        warnings.append("tray_region not set: the whole camera frame is recognised and kept as the placement photo")
    keep = f"kept {settings.keep_days:g} days / {settings.keep_mb} MiB"
    if not settings.sends:
        parts.append(f"feedback stays on this kiosk (no head_office), {keep}")
        return CheckResult(WARN if warnings else OK, "feedback", "; ".join(warnings + parts))
    if settings.head_office.startswith("s3://") and importlib.util.find_spec("s3fs") is None:
        warnings.append("s3:// needs s3fs: pip install 'edge-checkout-kiosk[s3]'")
    full = _outbox_disk(ctx, settings.outbox)
    if full:
        warnings.append(full)
    status = read_outbox_status(settings.outbox)
    status.head_office = display_url(settings.head_office)  # configured, whatever state.json says
    now = ctx.now().astimezone(timezone.utc)
    text, level = status.line(now=now)
    if level != "ok":
        warnings.append(text)
    parts.append(f"head office {redact(settings.head_office)}: {status.queued} batch(es) waiting (oldest "
                 f"{_age(status.oldest, now)}), {status.sent} sent, {status.dropped} dropped"
                 + (f", last error: {status.last_error}" if status.last_error else "") + f"; {keep}")
    return CheckResult(WARN if warnings else OK, "feedback", "; ".join(warnings + parts))
