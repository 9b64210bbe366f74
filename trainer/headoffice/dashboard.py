"""What the head-office dashboard shows, read from the same head-office location ``checkout feedback collect`` and
``checkout fleet status`` read (and the channel head office publishes to): no database, no other server.

* fleet: each kiosk's heartbeat (:func:`trainer.fleet.status.fleet_status`);
* quality per store and SKU with drift alarms (:func:`trainer.headoffice.quality.quality_report`);
* bundle roll-out: each group's release in the channel index against the versions the kiosks report;
* audit: each kiosk's audit log as received (:func:`trainer.headoffice.audit_status.collect_audit`);
* taught: the products staff taught at the kiosks (:func:`trainer.headoffice.taught.taught_report`);
* label: with ``feedback`` (a ``checkout feedback collect --out`` folder), the placements it left for review with a
  crop, and head office's labels of them (:mod:`trainer.fleet.labels`), a page at a time
  (:mod:`trainer.headoffice.label_view`), or grouped by ``checkout feedback cluster``'s ``clusters.csv``: the files
  are parsed again only when they change.

Each is computed when asked and kept for ``ttl_s`` seconds, once however many requests ask for it at the same time
(they wait for the one computing it; once it is kept, an expired value is served while the next is computed), and the
quality charts are drawn once per report and kept with it.
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

__all__ = ["DashboardData", "image_type", "rollout_progress"]

MAX_CACHED = 256  # reports (and charts) kept at once
MAX_PHOTO_SIDE = 4096  # pixels: a thumbnail's header saying more is not served
MAX_CROP_BYTES = 16 * 1024 * 1024  # a crop of the Label page bigger than this is not served


def image_type(data: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` for bytes that start as one and whose header and structure Pillow reads
    (at most :data:`MAX_PHOTO_SIDE` pixels a side); None for anything else."""
    import io

    from PIL import Image

    kind = "PNG" if data.startswith(b"\x89PNG\r\n\x1a\n") else "JPEG" if data.startswith(b"\xff\xd8\xff") else None
    if kind is None:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=[kind]) as image:
            width, height = image.size
            image.verify()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
    return f"image/{kind.lower()}" if 0 < width <= MAX_PHOTO_SIDE and 0 < height <= MAX_PHOTO_SIDE else None


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


class _Flight:
    """One computation of a cache key that other requests for the key wait for."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._entry: tuple[float, Any] | None = None
        self._error: BaseException | None = None

    def finish(self, entry: tuple[float, Any] | None, error: BaseException | None = None) -> None:
        self._entry, self._error = entry, error
        self._done.set()

    def wait(self) -> tuple[float, Any]:
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._entry  # type: ignore[return-value]


@dataclass
class DashboardData:
    src: str
    keys: str | None = None
    channel: str | None = None
    catalog: str | None = None  # head office's catalog: the Taught page marks the products it lacks
    stale_after_s: float = 1800.0
    settings: DriftSettings = DriftSettings()
    ttl_s: float = 30.0
    feedback: str | None = None  # a `checkout feedback collect --out` folder: the Label page (None: no such page)
    _cache: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _flights: dict = field(default_factory=dict, repr=False)
    _stamped: dict = field(default_factory=dict, repr=False)  # name → (file stamp, what was read of it)
    _stamp_locks: dict = field(default_factory=dict, repr=False)

    def _cached(self, key: tuple, make) -> Any:
        return self._entry(key, make)[1]

    def _entry(self, key: tuple, make) -> tuple[float, Any]:
        """``(when made, value)`` of ``key``: made by one request while the others that ask for it wait (a cold
        Quality page took 5.5 s alone, 37 s each for six at once); an expired value while another request makes the
        next."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                return hit
            flight = self._flights.get(key)
            if flight is not None and hit is not None:
                return hit
            leader = flight is None
            if leader:
                flight = self._flights[key] = _Flight()
        if not leader:
            return flight.wait()
        try:
            value = make()
        except BaseException as exc:
            with self._lock:
                del self._flights[key]
            flight.finish(None, exc)
            raise
        with self._lock:
            entry = self._keep(key, value)
            del self._flights[key]
        flight.finish(entry)
        return entry

    def _keep(self, key: tuple, value: Any) -> tuple[float, Any]:
        now = time.monotonic()
        if len(self._cache) >= MAX_CACHED:  # a report per store asked for: forget the expired, then the oldest
            for old in [k for k, (at, _v) in self._cache.items() if now - at >= self.ttl_s]:
                del self._cache[old]
            for old in sorted(self._cache, key=lambda k: self._cache[k][0])[:len(self._cache) - MAX_CACHED + 1]:
                del self._cache[old]
        self._cache[key] = (now, value)
        return now, value

    def fleet(self):
        from trainer.fleet.status import fleet_status

        return self._cached(("fleet",), lambda: fleet_status(self.src, stale_after_s=self.stale_after_s))

    def placements(self):
        from trainer.headoffice.quality import read_placements

        return self._cached(("placements",), lambda: read_placements(self.src))

    def _quality(self, store: str | None, since: datetime | None) -> tuple[float, dict]:
        from trainer.headoffice.quality import quality_report

        def make() -> dict:
            placements, skipped = self.placements()
            return quality_report(self.src, since=since, stores=[store] if store else None, settings=self.settings,
                                  placements=placements, skipped=skipped).to_dict()

        return self._entry(("quality", store or None, since), make)

    def quality(self, store: str | None = None, since: datetime | None = None) -> dict:
        return self._quality(store, since)[1]

    def chart(self, name: str, store: str | None = None) -> bytes | None:
        """Chart ``name`` of the quality report as PNG (None: no such chart), drawn once per report."""
        from trainer.headoffice.charts import CHARTS, png

        if name not in CHARTS:
            return None
        made, report = self._quality(store, None)
        return self._cached(("chart", name, store or None, made), lambda: png(name, report))

    def rollout(self) -> list[dict]:
        return self._cached(("rollout",), lambda: rollout_progress(self.channel, self.fleet()[0]))

    def audit(self):
        from trainer.headoffice.audit_status import collect_audit

        return self._cached(("audit",), lambda: collect_audit(self.src, self.keys))

    def taught(self) -> dict:
        from trainer.headoffice.taught import taught_report

        return self._cached(("taught",), lambda: taught_report(self.src, self.channel, self.catalog).to_dict())

    def taught_photo(self, batch: str, n: int) -> tuple[bytes, str] | None:
        """``(bytes, media type)`` of thumbnail ``n`` of a listed enrollment batch (looked up by name in the listing,
        never a path from outside), None when there is none or it is not a PNG or JPEG image (a kiosk's "photo" of
        HTML was served as image/png); the batch is read and its photos checked once for all its thumbnails."""
        from trainer.headoffice.taught import taught_photos

        if batch not in {e["batch"] for e in self.taught()["enrollments"]}:
            return None
        photos = self._cached(("photos", batch),
                              lambda: [(p, image_type(p)) for p in taught_photos(self.src, batch)])
        if not 0 <= n < len(photos) or photos[n][1] is None:
            return None
        return photos[n]

    def _by_stamp(self, name: str, path: Path, make) -> Any:
        """``make()`` once per version of the file ``path`` (its inode, ``mtime_ns`` and size), however many requests
        ask: read again only once it changed, the requests asking meanwhile waiting for the one reading it. A
        ``make`` that raises is not kept."""
        with self._lock:
            lock = self._stamp_locks.setdefault(name, threading.Lock())
        with lock:
            stamp = _stamp(path)
            hit = self._stamped.get(name)
            if hit is not None and hit[0] == stamp:
                return hit[1]
            value = make()
            self._stamped[name] = (stamp, value)
            return value

    def label_review(self):
        """``feedback/unlabelled.csv`` as a :class:`trainer.headoffice.label_view.Review`, parsed once per change."""
        from trainer.fleet import labels
        from trainer.headoffice.label_view import review_of

        return self._by_stamp("unlabelled", Path(self.feedback) / labels.UNLABELLED,
                              lambda: review_of(labels.read_unlabelled(self.feedback)))

    def label_given(self) -> dict:
        """Head office's labels (``feedback/labels.csv``) by (store, kiosk, placement), parsed once per change."""
        from trainer.fleet import labels

        return self._by_stamp("labels", Path(self.feedback) / labels.LABELS,
                              lambda: labels.read_labels(self.feedback))

    def label_clusters(self):
        """``feedback/clusters.csv`` (:func:`trainer.fleet.clusters.read_clusters`), parsed once per change."""
        from trainer.fleet import clusters_file as clusters

        return self._by_stamp("clusters", Path(self.feedback) / clusters.CLUSTERS,
                              lambda: clusters.read_clusters(self.feedback))

    def label_page(self, page: str = "", store: str = "", show: str = "", view: str = "") -> dict:
        """One page of the placements ``feedback/unlabelled.csv`` holds for review that have a crop
        (:func:`trainer.headoffice.label_view.page_of`), or with ``view=groups`` one page of the groups of
        ``feedback/clusters.csv`` (:func:`~trainer.headoffice.label_view.groups_of`; ``groups_problem``: one line
        when it is damaged), with the stores to choose from, whether there are groups (``groups_link``) and a
        one-line ``notice`` of the query values that do not parse."""
        from dataclasses import replace

        from kiosk.errors import UserError
        from trainer.fleet.clusters_file import CLUSTERS
        from trainer.headoffice.label_view import groups_of, page_of, parse_query

        review, given = self.label_review(), self.label_given()
        query, notice = parse_query(page, store, show, review.stores, view)
        has_groups = (Path(self.feedback) / CLUSTERS).is_file()
        base = {"stores": review.stores, "groups_link": has_groups}
        if query.view == "groups" and not has_groups:
            notice = "no groups yet: `checkout feedback cluster DIR --bundle B` groups the crops; the list is shown"
            query = replace(query, view="list", page=1)
        if query.view == "groups":
            try:
                groups = self.label_clusters()
            except UserError as exc:  # a damaged clusters.csv: one line, and the list view still works
                return {**base, "query": query, "items": [], "notice": notice, "groups_problem": str(exc)}
            return {**base, **groups_of(review, given, groups.rows, query), "version": groups.version,
                    "notice": notice}
        return {**page_of(review, given, query), **base, "notice": notice}

    def label_group_keys(self, cluster: int, version: str) -> list[tuple[str, str, str]]:
        """The placements group ``cluster`` of clusters.csv labels at once (in it, still in unlabelled.csv, not
        labelled yet); a :class:`UserError` when clusters.csv is no longer the ``version`` the form was made from."""
        from kiosk.errors import UserError
        from trainer.headoffice.label_view import group_keys

        groups = self.label_clusters()
        if version != groups.version:
            raise UserError("the groups were made again since this page was loaded: look at them again, then label")
        return group_keys(self.label_review(), self.label_given(), groups.rows, cluster)

    def label_skus(self) -> dict[str, str]:
        """SKU id → name of head office's catalog (``{}`` without one), for the Label page's SKU list."""
        from trainer.fleet.labels import catalog_names

        return self._cached(("catalog",), lambda: catalog_names(self.catalog)) if self.catalog else {}

    def label_new_products(self) -> dict:
        """SKU id → :class:`catalog.model.Sku` of ``feedback/new-products.csv`` (the products made on the Label page),
        parsed once per change."""
        from trainer.fleet.new_products import NEW_PRODUCTS, read_new_products

        return self._by_stamp("new-products", Path(self.feedback) / NEW_PRODUCTS,
                              lambda: read_new_products(self.feedback))

    def label_waiting(self) -> list[dict]:
        """The new products head office's catalog does not have yet, each with how many crops are labelled with it,
        for the Label page's "waiting for the catalog" list."""
        from collections import Counter

        from trainer.fleet.new_products import price_of

        catalog, counts = self.label_skus(), Counter(g.sku for g in self.label_given().values())
        return [{"sku": s.sku, "name": s.name, "price": price_of(s), "crops": counts[s.sku]}
                for s in self.label_new_products().values() if s.sku not in catalog]

    def label_photo(self, store: str, kiosk: str, placement: str) -> tuple[bytes, str] | None:
        """``(bytes, media type)`` of the crop ``feedback/unlabelled.csv`` names for a placement (looked up in the
        parsed file's index, never a path from outside), None when there is none, it is not a file inside
        ``feedback/images``, or not a PNG or JPEG."""
        from kiosk.errors import UserError
        from kiosk.inputfiles import read_bounded

        try:
            row = self.label_review().by_key.get((store, kiosk, placement))
            row = row if row is not None and row["path"] else None
            images = (Path(self.feedback) / "images").resolve()
            path = None if row is None else (Path(self.feedback) / row["path"]).resolve()
            if path is None or images not in path.parents or not path.is_file():
                return None
            photo = read_bounded(path, MAX_CROP_BYTES, "a crop")
        except (OSError, UserError, ValueError):
            return None
        kind = image_type(photo)
        return None if kind is None else (photo, kind)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is written or replaced: its inode, ``mtime_ns`` and size (None: there is none)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size
