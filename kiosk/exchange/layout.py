"""Where things live at head office (a directory, an HTTP server's tree or an S3 prefix, the same keys)::

    <kind>/<store_id>/<kiosk_id>/<kind>-<sha256>.tar     batches (feedback/, later audit/)
    heartbeats/<store_id>/<kiosk_id>.json                each kiosk's latest heartbeat (overwritten)

Store and kiosk ids become one safe path segment each (:func:`safe_segment`); an empty store id is ``-``
(:data:`EMPTY`), which is therefore no id itself.
"""

from __future__ import annotations

import re

__all__ = ["EMPTY", "HEARTBEATS", "ID_RE", "batch_key", "heartbeat_key", "misfiled", "safe_segment"]

HEARTBEATS = "heartbeats"
#: the folder of an empty store id (a kiosk with no store set)
EMPTY = "-"
#: a kiosk or store id as the kiosk's settings take it: one path segment at head office as it is, so two ids never
#: meet in one folder (``safe_segment`` of "BLR 9" and of "BLR_9" is the same); never :data:`EMPTY`, the empty
#: store id's folder (store "-" and no store met in ``-/``: one's lemon photo trained as the other's banana).
#: ``safe_segment`` is the identity on these ids, so "" and the ids map to folders one to one.
ID_RE = re.compile(r"(?!-\Z)[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")


def safe_segment(text: str) -> str:
    """``text`` as one path segment: letters, digits, '.', '_' and '-' (others become '_'); never empty or dotted."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", str(text).strip()).lstrip(".")[:64]
    return cleaned or EMPTY


def misfiled(meta: dict, store_dir: str, kiosk_dir: str) -> str:
    """Why a batch whose ``meta`` names its kiosk came in under another kiosk's folder ("" when it did not): a kiosk
    uploads only under its own ids, so anything else was copied there, or claims to be another kiosk's."""
    store, kiosk = meta.get("store_id", ""), meta.get("kiosk_id", "")
    if (safe_segment(store), safe_segment(kiosk)) == (store_dir, kiosk_dir):
        return ""
    return f"claims kiosk {store}/{kiosk} but came in under {store_dir}/{kiosk_dir}"


def batch_key(kind: str, store_id: str, kiosk_id: str, name: str) -> str:
    if kind == HEARTBEATS:
        raise ValueError(f"{HEARTBEATS!r} is not a batch kind")
    return f"{kind}/{safe_segment(store_id)}/{safe_segment(kiosk_id)}/{name}"


def heartbeat_key(store_id: str, kiosk_id: str) -> str:
    return f"{HEARTBEATS}/{safe_segment(store_id)}/{safe_segment(kiosk_id)}.json"
