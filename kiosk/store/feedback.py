"""Feedback records: what the kiosk learnt from each placement, kept in its own SQLite file for head office.

One row per placement (``feedback``), made when the item is recognised (:meth:`FeedbackMixin.record_placement`)
and brought up to date **in the same transaction as the cart line** it becomes, is replaced by, or is taken off
with (:class:`~kiosk.store.sales.SalesStore` calls :meth:`_feedback_line` / :meth:`_feedback_unline` inside
``add_line``, ``remove_line`` and ``void_line``), so a crash can never leave a line whose label was not recorded.
Each change raises the row's ``revision``; the label's trust follows the chooser
(:func:`kiosk.exchange.feedback.trust_of`: staff > barcode > shopper > auto > none).

Sending (``kiosk.feedback``) goes in two steps that survive a kill at any moment: :meth:`begin_pack` snapshots the
rows ready to go into ``feedback_packs`` and marks their revision sent, in one transaction; once the batch made
from that snapshot is in the outbox, :meth:`finish_pack` drops the snapshot. A snapshot left by a crash is packed
again from the same JSON, into the same bytes and name. Retention (:mod:`kiosk.feedback.retention`) deletes photos
and old rows here; it never touches cart lines, sales or payments.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from kiosk.exchange.feedback import image_member, trust_of

__all__ = ["FeedbackMixin", "migrate_feedback"]


def migrate_feedback(c: sqlite3.Connection) -> None:
    """Sales schema 5: one feedback row per placement, and the snapshots of batches being packed."""
    c.execute("""
        CREATE TABLE feedback (
            placement_id TEXT PRIMARY KEY NOT NULL,
            cart_id TEXT,
            placed_at TEXT NOT NULL,
            placed_ts INTEGER NOT NULL,
            updated_at TEXT NOT NULL,
            updated_ts INTEGER NOT NULL,
            revision INTEGER NOT NULL DEFAULT 1,
            sent_revision INTEGER NOT NULL DEFAULT 0,
            image_path TEXT NOT NULL DEFAULT '',
            image_bytes INTEGER NOT NULL DEFAULT 0,
            top_k TEXT NOT NULL DEFAULT '[]',
            shown TEXT NOT NULL DEFAULT '[]',
            recognised_sku TEXT,
            model_version INTEGER,
            scale_grams INTEGER,
            line_id TEXT,
            chooser TEXT NOT NULL DEFAULT '',
            suggestion_rank INTEGER,
            label_sku TEXT,
            trust TEXT NOT NULL DEFAULT 'none'
        )""")
    c.execute("CREATE INDEX feedback_line ON feedback(line_id)")
    c.execute("CREATE INDEX feedback_placed ON feedback(placed_ts)")
    c.execute("CREATE INDEX feedback_unsent ON feedback(sent_revision, revision)")
    c.execute("""
        CREATE TABLE feedback_packs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            created_at TEXT NOT NULL,
            records TEXT NOT NULL
        )""")


def _ts(iso_time: str) -> int:
    return int(datetime.fromisoformat(iso_time).timestamp())


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size if path else 0
    except OSError:
        return 0


def _rank(shown: list[str], sku: str, chooser: str) -> int | None:
    """Which suggestion (1-based) the shopper tapped, as the screen showed them."""
    return shown.index(sku) + 1 if chooser == "shopper" and sku in shown else None


class FeedbackMixin:
    """Feedback rows of :class:`~kiosk.store.sales.SalesStore` (uses its ``_tx``, ``_lock``, ``_conn``, ``_time``)."""

    # -- written with the placement and with its lines ----------------------------------------------------------------
    def record_placement(self, p: Any) -> None:
        """A placement was recognised (``p``: a :class:`~kiosk.store.sales.LineProvenance`): its row, no label
        yet. Recording one that exists changes nothing."""
        if not p.placement_id:
            return
        with self._tx() as c:
            now = self._time()
            self._insert_feedback(c, p, self._open_cart_id(c, create=True), now, chooser="", sku=None)

    def _insert_feedback(self, c: sqlite3.Connection, p: Any, cart_id: str | None, now: str, *, chooser: str,
                         sku: str | None, line_id: str | None = None) -> None:
        shown = list(getattr(p, "shown", ()) or ())
        trust = trust_of(chooser) if sku else "none"
        c.execute(
            "INSERT INTO feedback (placement_id, cart_id, placed_at, placed_ts, updated_at, updated_ts, image_path,"
            " image_bytes, top_k, shown, recognised_sku, model_version, scale_grams, line_id, chooser,"
            " suggestion_rank, label_sku, trust) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(placement_id) DO NOTHING",
            (p.placement_id, cart_id, now, _ts(now), now, _ts(now), str(p.image_path or ""),
             _size(str(p.image_path or "")), json.dumps([[s, round(float(v), 6)] for s, v in p.top_k]),
             json.dumps(shown), p.recognised_sku, p.model_version, p.scale_grams, line_id, chooser,
             _rank(shown, sku, chooser) if sku else None, sku, trust))

    def _feedback_line(self, c: sqlite3.Connection, line: Any, p: Any, cart_id: str, now: str) -> None:
        """Inside ``add_line``'s transaction: the placement became ``line`` (chosen by ``p.chooser``)."""
        if not getattr(p, "placement_id", None):
            return
        self._insert_feedback(c, p, cart_id, now, chooser=p.chooser, sku=line.sku, line_id=line.line_id)
        row = c.execute("SELECT shown FROM feedback WHERE placement_id = ?", (p.placement_id,)).fetchone()
        shown = json.loads(row["shown"] or "[]")
        c.execute("UPDATE feedback SET line_id = ?, chooser = ?, suggestion_rank = ?, label_sku = ?, trust = ?,"
                  " updated_at = ?, updated_ts = ?, revision = revision + 1 WHERE placement_id = ? AND"
                  " (line_id IS NOT ? OR chooser != ? OR label_sku IS NOT ?)",
                  (line.line_id, p.chooser, _rank(shown, line.sku, p.chooser), line.sku, trust_of(p.chooser), now,
                   _ts(now), p.placement_id, line.line_id, p.chooser, line.sku))

    def _feedback_unline(self, c: sqlite3.Connection, line_id: str, chooser: str, now: str) -> None:
        """Inside ``remove_line`` / ``void_line``: the placement's line is gone; its label is no longer trusted."""
        c.execute("UPDATE feedback SET line_id = NULL, chooser = ?, suggestion_rank = NULL, trust = 'none',"
                  " updated_at = ?, updated_ts = ?, revision = revision + 1 WHERE line_id = ?",
                  (chooser, now, _ts(now), line_id))

    def set_placement_outcome(self, placement_id: str, chooser: str) -> bool:
        """A placement that never became a line got an outcome (``unknown``: marked not recognised)."""
        with self._tx() as c:
            now = self._time()
            cur = c.execute("UPDATE feedback SET chooser = ?, trust = 'none', updated_at = ?, updated_ts = ?,"
                            " revision = revision + 1 WHERE placement_id = ? AND line_id IS NULL",
                            (chooser, now, _ts(now), placement_id))
        return cur.rowcount > 0

    def unlabelled_placements(self, since_ts: int, until_ts: int, limit: int = 100) -> list[dict]:
        """Placements from ``since_ts`` to before ``until_ts`` (epoch seconds) that nobody labelled and whose crop is
        kept, newest first (at most ``limit``): never on the bill, chooser ``unknown`` (not recognised) or ``""``
        (nothing chosen: the shopper took the item away). One taken off the bill (``removed`` / ``voided``) is not:
        its last SKU was picked for it. Keys: ``placement_id, placed_at, image_path, recognised_sku, top_k,
        chooser``."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT placement_id, placed_at, image_path, recognised_sku, top_k, chooser FROM feedback"
                " WHERE placed_ts >= ? AND placed_ts < ? AND line_id IS NULL AND trust = 'none'"
                " AND chooser IN ('unknown', '') AND image_path != ''"
                " ORDER BY placed_ts DESC, placement_id DESC LIMIT ?", (since_ts, until_ts, limit)).fetchall()
        return [{**dict(r), "top_k": json.loads(r["top_k"] or "[]")} for r in rows]

    def label_placement(self, placement_id: str, sku: str | None, chooser: str,
                        audit_with: Sequence[tuple[str, str, dict]] = ()) -> bool:
        """Staff said what an unlabelled placement (:meth:`unlabelled_placements`) was: ``sku`` with ``chooser``
        (``staff:<id>``, trust staff), or ``sku`` None with ``chooser`` ``not-a-product:<id>`` (no label, trust
        none). Its revision goes up, so it is sent (again); ``audit_with`` is written in the same transaction.
        False (nothing written): the placement is not one nobody labelled (any more)."""
        with self._tx() as c:
            now = self._time()
            cur = c.execute("UPDATE feedback SET chooser = ?, label_sku = ?, trust = ?, suggestion_rank = NULL,"
                            " updated_at = ?, updated_ts = ?, revision = revision + 1 WHERE placement_id = ? AND"
                            " line_id IS NULL AND trust = 'none' AND chooser IN ('unknown', '')",
                            (chooser, sku, trust_of(chooser) if sku else "none", now, _ts(now), placement_id))
            if cur.rowcount:
                self._audit_rows_in(c, audit_with)
        return cur.rowcount > 0

    def feedback(self, placement_id: str) -> dict | None:
        """The stored row of one placement (as a dict), or None."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM feedback WHERE placement_id = ?", (placement_id,)).fetchone()
        return dict(row) if row else None

    # -- sending: two steps, each one transaction -----------------------------------------------------------------
    def ready_feedback(self, settled_before_ts: int, limit: int = 500) -> list[dict]:
        """Rows with a revision not sent yet whose sale is over (cart closed) or that have not changed since
        ``settled_before_ts``, as exchange records (oldest first, at most ``limit``)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT f.*, k.status AS cart_status, (SELECT l.voided_at IS NULL FROM cart_lines l"
                " WHERE l.line_id = f.line_id) AS line_live FROM feedback f LEFT JOIN carts k USING (cart_id)"
                " WHERE f.revision > f.sent_revision AND (k.status = 'closed' OR f.updated_ts <= ?)"
                " ORDER BY f.placed_ts, f.placement_id LIMIT ?", (settled_before_ts, limit)).fetchall()
        return [_record(r) for r in rows]

    def begin_pack(self, records: list[dict]) -> int:
        """Snapshot ``records`` for one batch and mark their revisions sent; returns the snapshot's number."""
        with self._tx() as c:
            cur = c.execute("INSERT INTO feedback_packs (created_at, records) VALUES (?, ?)",
                            (self._time(), json.dumps(records, sort_keys=True)))
            c.executemany("UPDATE feedback SET sent_revision = MAX(sent_revision, ?) WHERE placement_id = ?",
                          [(r["revision"], r["placement_id"]) for r in records])
        return int(cur.lastrowid)

    def open_packs(self) -> list[tuple[int, list[dict]]]:
        """Snapshots whose batch is not in the outbox yet (a crash came in between), oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT seq, records FROM feedback_packs ORDER BY seq").fetchall()
        return [(r["seq"], json.loads(r["records"])) for r in rows]

    def finish_pack(self, seq: int) -> None:
        with self._tx() as c:
            c.execute("DELETE FROM feedback_packs WHERE seq = ?", (seq,))

    # -- retention ---------------------------------------------------------------------------------------------------
    def feedback_photo_bytes(self) -> int:
        with self._lock:
            return int(self._conn.execute("SELECT COALESCE(SUM(image_bytes), 0) FROM feedback").fetchone()[0])

    def oldest_feedback_photos(self, limit: int) -> list[tuple[str, str, int]]:
        """``(placement_id, image_path, bytes)`` of the oldest rows that still have a photo."""
        with self._lock:
            rows = self._conn.execute("SELECT placement_id, image_path, image_bytes FROM feedback WHERE"
                                      " image_path != '' ORDER BY placed_ts, placement_id LIMIT ?", (limit,))
            return [(r[0], r[1], r[2]) for r in rows]

    def feedback_photo_paths(self) -> set[str]:
        """Every photo a feedback row still points to."""
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT image_path FROM feedback WHERE image_path != ''")}

    def forget_feedback_photos(self, placement_ids: list[str]) -> None:
        """The photos of these rows are gone (purged): the rows stay, without a photo."""
        with self._tx() as c:
            c.executemany("UPDATE feedback SET image_path = '', image_bytes = 0 WHERE placement_id = ?",
                          [(p,) for p in placement_ids])

    def delete_feedback_before(self, ts: int, limit: int = 500) -> tuple[int, list[str]]:
        """Delete up to ``limit`` rows placed before ``ts`` (epoch seconds): ``(rows deleted, their photos)``."""
        with self._tx() as c:
            rows = c.execute("SELECT placement_id, image_path FROM feedback WHERE placed_ts < ? ORDER BY placed_ts"
                             " LIMIT ?", (ts, limit)).fetchall()
            c.executemany("DELETE FROM feedback WHERE placement_id = ?", [(r[0],) for r in rows])
        return len(rows), [r[1] for r in rows if r[1]]

    def feedback_counts(self, since_ts: int) -> dict[str, int]:
        """Placements since ``since_ts`` by trust, how many were labelled, and how many labels differ from the
        model's top-1 (``corrected``); ``corrections``: staff corrections in that time."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT trust, COUNT(*), SUM(label_sku IS NOT NULL AND trust != 'none' AND"
                " label_sku IS NOT recognised_sku) FROM feedback WHERE placed_ts >= ? GROUP BY trust",
                (since_ts,)).fetchall()
            # corrections.at is ISO text in the store clock's offset: compared as times, not as strings
            staff = sum(datetime.fromisoformat(r[0]).timestamp() >= since_ts
                        for r in self._conn.execute("SELECT at FROM corrections ORDER BY id DESC LIMIT 100000"))
        by_trust = {r[0]: int(r[1]) for r in rows}
        counts = {t: by_trust.get(t, 0) for t in ("staff", "barcode", "shopper", "auto")}
        counts["unlabelled"] = by_trust.get("none", 0)
        counts["placements"] = sum(by_trust.values())
        counts["labelled"] = counts["placements"] - counts["unlabelled"]
        counts["corrected"] = sum(int(r[2] or 0) for r in rows if r[0] != "none")
        counts["corrections"] = int(staff)
        return counts


def _record(r: sqlite3.Row) -> dict:
    """A feedback row as the exchange record (:mod:`kiosk.exchange.feedback`); ``_image_path`` is local only."""
    trust = r["trust"]
    return {
        "placement_id": r["placement_id"], "revision": r["revision"], "placed_at": r["placed_at"],
        "updated_at": r["updated_at"], "image": image_member(r["placement_id"]) if r["image_path"] else "",
        "_image_path": r["image_path"],
        "top_k": [[s, float(v)] for s, v in json.loads(r["top_k"] or "[]")], "shown": json.loads(r["shown"] or "[]"),
        "recognised_sku": r["recognised_sku"], "model_version": r["model_version"], "grams": r["scale_grams"],
        "chooser": r["chooser"], "suggestion_rank": r["suggestion_rank"],
        "label": r["label_sku"] if trust != "none" else None, "last_sku": r["label_sku"], "trust": trust,
        "line_id": r["line_id"], "paid": bool(r["cart_status"] == "closed" and r["line_live"]),
    }
