"""What the head-office dashboard shows, read from the same head-office location ``checkout feedback collect`` and
``checkout fleet status`` read (and the channel head office publishes to): no database, no other server.

* fleet: each kiosk's heartbeat (:func:`trainer.fleet.status.fleet_status`);
* quality per store and SKU with drift alarms (:func:`trainer.headoffice.quality.quality_report`);
* bundle roll-out: each group's release in the channel index against the versions the kiosks report;
* audit: each kiosk's audit log as received (:func:`trainer.headoffice.audit_status.collect_audit`);
* taught: the products staff taught at the kiosks (:func:`trainer.headoffice.taught.taught_report`).

Each is computed when asked and kept for ``ttl_s`` seconds.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from trainer.headoffice.drift import DriftSettings

__all__ = ["DashboardData", "rollout_progress"]

MAX_CACHED = 256  # reports kept at once


def channel_groups(channel: str | Path) -> tuple[Path, dict | None, str]:
    """``(channel folder, {group: entry} of its index or None, why not)``: the release each group runs."""
    from kiosk.bundle_format.channel import INDEX

    root = Path(str(channel).removeprefix("file://").removeprefix("file:"))
    try:
        groups = json.loads((root / INDEX).read_text(encoding="utf-8"))["signed"]["groups"]
    except (OSError, ValueError, KeyError, TypeError, RecursionError) as exc:
        return root, None, f"{root / INDEX}: {exc}"
    if not isinstance(groups, dict):
        return root, None, f"{root / INDEX}: its groups are not a table"
    return root, groups, ""


def rollout_progress(channel: str | Path | None, fleet_rows: list) -> list[dict]:
    """Per group of the channel index: the release, its roll-out percentage, and the kiosks it reaches (by the same
    per-store bucket the kiosks use) — how many run it, how many still run an older version, how many report
    an update error."""
    if not channel:
        return []
    _root, groups, problem = channel_groups(channel)
    if groups is None:
        return [{"group": "-", "error": problem}]
    out = []
    for group, entry in sorted(groups.items()):
        try:
            version, percent = int(entry["model_version"]), int(entry.get("rollout_percent", 100))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            out.append({"group": group, "error": f"group {group!r} of the channel index is not a release ({exc!r})"})
            continue
        out.append(_group_progress(group, entry, version, percent, fleet_rows))
    return out


def _group_progress(group: str, entry: dict, version: int, percent: int, fleet_rows: list) -> dict:
    from kiosk.bundle_format.channel import in_rollout

    targeted = [r for r in fleet_rows if in_rollout(r.store, group, entry)]
    running = [r for r in targeted if (r.model_version or 0) >= version]
    failing = [r for r in targeted if r.update_state in ("error", "refused", "failed")]
    return {"group": group, "model_version": version, "rollout_percent": percent,
            "published_at": entry.get("published_at", ""), "kiosks": len(fleet_rows),
            "targeted": len(targeted), "running": len(running), "behind": len(targeted) - len(running),
            "errors": len(failing),
            "progress": round(len(running) / len(targeted), 3) if targeted else None,
            "behind_kiosks": [f"{r.store}/{r.kiosk} (v{r.model_version})" for r in targeted
                              if (r.model_version or 0) < version][:20]}


@dataclass
class DashboardData:
    src: str
    keys: str | None = None
    channel: str | None = None
    catalog: str | None = None  # head office's catalog: the Taught page marks the products it lacks
    stale_after_s: float = 1800.0
    settings: DriftSettings = DriftSettings()
    ttl_s: float = 30.0
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _cached(self, key: tuple, make) -> Any:
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                return hit[1]
        value = make()
        with self._lock:
            now = time.monotonic()
            if len(self._cache) >= MAX_CACHED:  # a report per store asked for: forget the expired, then the oldest
                for old in [k for k, (at, _v) in self._cache.items() if now - at >= self.ttl_s]:
                    del self._cache[old]
                for old in sorted(self._cache, key=lambda k: self._cache[k][0])[:len(self._cache) - MAX_CACHED + 1]:
                    del self._cache[old]
            self._cache[key] = (now, value)
        return value

    def fleet(self):
        from trainer.fleet.status import fleet_status

        return self._cached(("fleet",), lambda: fleet_status(self.src, stale_after_s=self.stale_after_s))

    def placements(self):
        from trainer.headoffice.quality import read_placements

        return self._cached(("placements",), lambda: read_placements(self.src))

    def quality(self, store: str | None = None, since: datetime | None = None) -> dict:
        from trainer.headoffice.quality import quality_report

        def make() -> dict:
            placements, skipped = self.placements()
            return quality_report(self.src, since=since, stores=[store] if store else None, settings=self.settings,
                                  placements=placements, skipped=skipped).to_dict()

        return self._cached(("quality", store, since), make)

    def rollout(self) -> list[dict]:
        return self._cached(("rollout",), lambda: rollout_progress(self.channel, self.fleet()[0]))

    def audit(self):
        from trainer.headoffice.audit_status import collect_audit

        return self._cached(("audit",), lambda: collect_audit(self.src, self.keys))

    def taught(self) -> dict:
        from trainer.headoffice.taught import taught_report

        return self._cached(("taught",), lambda: taught_report(self.src, self.channel, self.catalog).to_dict())

    def taught_photo(self, batch: str, n: int) -> bytes | None:
        """Thumbnail ``n`` of a listed enrollment batch (looked up by name in the listing, never a path from
        outside); the batch is read once for all its thumbnails."""
        from trainer.headoffice.taught import taught_photos

        if batch not in {e["batch"] for e in self.taught()["enrollments"]}:
            return None
        photos = self._cached(("photos", batch), lambda: taught_photos(self.src, batch))
        return photos[n] if 0 <= n < len(photos) else None
