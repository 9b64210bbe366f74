"""``checkout audit verify``'s cross-checks with the files beside the sales file that staff change what the till
recognises in: the model store (``model_state`` of the kiosk's settings, or ``--model-state``; :func:`model_findings`)
and the gallery of taught products (``gallery``, or ``--gallery``; :func:`gallery_findings`). No one transaction spans
the sales file and either, so each change and its audit row name each other.

**Model rollbacks** (:func:`model_findings`).

The kiosk writes the ``model.rollback`` row first, naming the rollback (``rollback_id``), then the model store its
intent, which names the row (``audit_seq``) and goes into its ``staff-rollback`` line (``audit.jsonl``) once made
(:meth:`kiosk.bundles.store.BundleStore.rollback`). So:

* a ``model.rollback`` row whose rollback the store neither made nor holds as its intent, and that no
  ``model.rollback_failed`` row called off, is **unfinished**: the kiosk stopped between the two and has not started
  since (its next start calls it off, :func:`kiosk.services.model_updates.settle_staff_rollback`);
* a ``staff-rollback`` line naming a row (``audit_seq``) that is not that rollback's ``model.rollback`` row is a
  model change **missing** its row (the row cut out, or another log).

``checkout kiosk rollback --config`` at a shell writes its row the same way (:mod:`kiosk.rollback_cli`). Rows and
lines from before the two named each other (no ``rollback_id``, no ``audit_seq``), and rollbacks made at a shell
without ``--config`` (they write the store's line only), are not held to each other.
The model store's files are read as text here (no ``kiosk.bundles`` code): a line that is not JSON is left out, as the
store itself leaves it out.

**Taught products** (:func:`gallery_findings`): the kiosk commits a ``staff.teach`` row inside the enrollment's own
gallery transaction, naming it (``enrollment``). So an enrollment made at the staff screen (``source`` "staff screen")
after the first one a row names has its row (**missing** otherwise: an older kiosk stopped between the two), and each
row names an enrollment of its SKU that the gallery holds (**unfinished** otherwise: the kiosk stopped during the
gallery's own commit). Enrollments made at a shell (``checkout sku enroll``) and withdrawals (the shell's
``checkout sku forget`` writes no row) are not held to rows; nor are catalog rows (the catalog does not say who
made a row).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from kiosk.audit.witness import Log

__all__ = ["gallery_findings", "model_findings"]


def _lines(path: Path) -> list[dict]:
    """The JSON objects of ``path``, one a line ([] when there is no such file)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:  # a line cut by a crash mid-write
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def _pending(state_path: Path) -> object:
    """The id of the rollback intent the store holds (``rolling_back`` in state.json), or None."""
    try:
        doc = json.loads(state_path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, ValueError):
        return None
    intent = doc.get("rolling_back") if isinstance(doc, dict) else None
    return intent.get("id") if isinstance(intent, dict) else None


def _what(r: dict) -> str:
    d = r["detail"]
    return (f"audit row {r['seq']} (model.rollback v{d.get('from_version')} → v{d.get('to_version')} by {r['actor']} "
            f"at {r['at']}, rollback {d.get('rollback_id')})")


def model_findings(log: Log, model_state: str | Path) -> list[str]:
    """The log's model rollbacks against the model store in ``model_state`` (see the module docstring)."""
    root = Path(model_state)
    lines = [e for e in _lines(root / "audit.jsonl") if e.get("event") == "staff-rollback"]
    made = {e.get("rollback_id") for e in lines} | {_pending(root / "state.json")}
    settled = made | {r["detail"].get("rollback_id") for r in log.of("model.rollback_failed")}  # or called off
    rows = log.of("model.rollback")
    out = [f"unfinished: {_what(r)}: the model store {root} never made it and no model.rollback_failed row called it "
           f"off (the kiosk stopped between the two and has not started since)" for r in rows
           if r["detail"].get("rollback_id") is not None and r["detail"].get("rollback_id") not in settled]
    by_seq = {r["seq"]: r for r in rows}
    for e in lines:
        seq = e.get("audit_seq")
        row = by_seq.get(seq) if seq is not None else None
        if seq is not None and (row is None or row["detail"].get("rollback_id") != e.get("rollback_id")):
            out.append(f"missing: the model store's rollback {e.get('rollback_id')} (v{e.get('from_version')} → "
                       f"v{e.get('to_version')} by {e.get('actor')} at {e.get('time')}, {root / 'audit.jsonl'}) "
                       f"names audit row {seq}, which is not its model.rollback row")
    return out


def _enrollments(root: Path) -> dict[int, tuple[str, str, str]]:
    """``{enrollment id: (sku, source, staff)}`` of the gallery in ``root``, read-only ({} when there is none)."""
    db = root / "gallery.sqlite"
    if not db.is_file():
        return {}
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {int(r[0]): (str(r[1]), str(r[2]), str(r[3])) for r in conn.execute(
            "SELECT enrollment_id, sku, source, staff FROM enrollments")}
    finally:
        conn.close()


def gallery_findings(log: Log, gallery: str | Path) -> list[str]:
    """The log's ``staff.teach`` rows against the gallery in ``gallery`` (see the module docstring)."""
    root = Path(gallery)
    try:
        held = _enrollments(root)
    except sqlite3.Error as exc:
        return [f"unreadable: the gallery {root} ({exc}): what staff taught cannot be held against it"]
    rows = log.of("staff.teach")
    named = {r["detail"].get("enrollment"): r for r in rows if isinstance(r["detail"].get("enrollment"), int)}
    out = [f"unfinished: audit row {r['seq']} (staff.teach by {r['actor']} at {r['at']}) names enrollment {e} of "
           f"{r['detail'].get('sku')}, which the gallery {root} does not hold" for e, r in named.items()
           if held.get(e, ("",))[0] != r["detail"].get("sku")]
    since = min(named, default=None)
    if since is not None:
        out += [f"missing: enrollment {e} of {sku} (taught at the staff screen by {staff}, {root}) has no staff.teach "
                f"row saying who taught it" for e, (sku, source, staff) in sorted(held.items())
                if e > since and source == "staff screen" and e not in named]
    return out
