"""Times in manifests, channel indexes and rotation documents: ISO 8601 UTC with a ``Z`` (``2026-05-01T09:30:00Z``)."""

from __future__ import annotations

from datetime import datetime, timezone

from kiosk.errors import BundleError


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(value: str, where: str) -> datetime:
    """An ISO 8601 time (naive ones are taken as UTC); BundleError naming ``where`` when it is not one."""
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BundleError(f"{where}: {value!r} is not an ISO 8601 time") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
