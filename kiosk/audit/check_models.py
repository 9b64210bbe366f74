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

**Clock resets** (the same function): ``checkout kiosk clock-reset --config`` writes the ``model.clock_reset`` row
(``reset_id``) under the store's lock before the store changes its remembered time, and the store's ``clock-reset``
line names the row (``audit_seq``) (:mod:`kiosk.clock_cli`): a row with no line and no ``model.clock_reset_failed``
row is **unfinished** (the command stopped between the two), a line naming a row that is not its row **missing**.
Resets without ``--config`` and the updater's own ``clock-correction`` lines have no row.

**Unblocks** (the same function): ``checkout kiosk update --archive FILE --unblock --config`` writes the
``model.unblock`` row (``unblock_id``) under the store's lock once the archive has verified and its version is
blocked, before the store unblocks it, and the store's ``unblock`` line names the row (``audit_seq``)
(:mod:`kiosk.update_cli`): a row with no line and no ``model.unblock_failed`` row is **unfinished**, a line naming a
row that is not its row **missing**. Unblocks without ``--config`` (and older ``unblock`` lines, with no
``audit_seq``) have no row.

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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class _Change:
    """A staff change to the model store that a till row and a line of the store's ``audit.jsonl`` both record."""

    row: str  # the till's row kind (model.rollback)
    line: str  # the store's line event (staff-rollback)
    key: str  # the id both carry (rollback_id)
    fields: tuple[str, ...]  # the detail / line fields that say what changed (from, to)
    shown: str = "{} → {}"  # how they are written in a finding

    def span(self, doc: dict) -> str:
        return self.shown.format(*(doc.get(f) for f in self.fields))


ROLLBACK = _Change("model.rollback", "staff-rollback", "rollback_id", ("from_version", "to_version"), "v{} → v{}")
CLOCK_RESET = _Change("model.clock_reset", "clock-reset", "reset_id", ("from_time", "to_time"))
UNBLOCK = _Change("model.unblock", "unblock", "unblock_id", ("version",), "v{}")


def _what(change: _Change, r: dict) -> str:
    d = r["detail"]
    return (f"audit row {r['seq']} ({change.row} {change.span(d)} by {r['actor']} at {r['at']}, "
            f"{change.key.split('_')[0]} {d.get(change.key)})")


def model_findings(log: Log, model_state: str | Path) -> list[str]:
    """The log's model rollbacks, clock resets and unblocks against the model store in ``model_state`` (see the
    module docstring)."""
    root = Path(model_state)
    lines = _lines(root / "audit.jsonl")
    return (_paired(log, root, ROLLBACK, lines, pending=_pending(root / "state.json"))
            + _paired(log, root, CLOCK_RESET, lines) + _paired(log, root, UNBLOCK, lines))


def _paired(log: Log, root: Path, change: _Change, lines: list[dict], pending: object = None) -> list[str]:
    """``change``'s rows that the store never made (nor holds as its intent, ``pending``) and no ``…_failed`` row
    called off (**unfinished**), and the store's lines naming a row (``audit_seq``) that is not theirs
    (**missing**)."""
    lines = [e for e in lines if e.get("event") == change.line]
    made = {e.get(change.key) for e in lines} | {pending}
    settled = made | {r["detail"].get(change.key) for r in log.of(f"{change.row}_failed")}  # or called off
    rows = log.of(change.row)
    out = [f"unfinished: {_what(change, r)}: the model store {root} never made it and no {change.row}_failed row "
           f"called it off (the kiosk or the command stopped between the two and nothing has settled it since)"
           for r in rows if r["detail"].get(change.key) is not None and r["detail"].get(change.key) not in settled]
    by_seq = {r["seq"]: r for r in rows}
    for e in lines:
        seq = e.get("audit_seq")
        row = by_seq.get(seq) if seq is not None else None
        if seq is not None and (row is None or row["detail"].get(change.key) != e.get(change.key)):
            out.append(f"missing: the model store's {change.line} {e.get(change.key)} ({change.span(e)} by "
                       f"{e.get('actor')} at {e.get('time')}, {root / 'audit.jsonl'}) names audit row {seq}, which "
                       f"is not its {change.row} row")
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
