"""``checkout audit verify``'s model-store cross-check, with the kiosk's model store (``model_state`` of its settings,
or ``--model-state``): staff mode's model rollbacks, written in two files that no one transaction spans.

The kiosk writes the ``model.rollback`` row first, naming the rollback (``rollback_id``), then the model store its
intent, which names the row (``audit_seq``) and goes into its ``staff-rollback`` line (``audit.jsonl``) once made
(:meth:`kiosk.bundles.store.BundleStore.rollback`). So:

* a ``model.rollback`` row whose rollback the store neither made nor holds as its intent, and that no
  ``model.rollback_failed`` row called off, is **unfinished**: the kiosk stopped between the two and has not started
  since (its next start calls it off, :func:`kiosk.services.model_updates.settle_staff_rollback`);
* a ``staff-rollback`` line naming a row (``audit_seq``) that is not that rollback's ``model.rollback`` row is a
  model change **missing** its row (the row cut out, or another log).

Rows and lines from before the two named each other (no ``rollback_id``, no ``audit_seq``), and rollbacks made with
``checkout kiosk rollback`` at a shell (they write the store's line only), are not held to each other.
The model store's files are read as text here (no ``kiosk.bundles`` code): a line that is not JSON is left out, as the
store itself leaves it out.
"""

from __future__ import annotations

import json
from pathlib import Path

from kiosk.audit.witness import Log

__all__ = ["model_findings"]


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
