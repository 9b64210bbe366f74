"""The one way the services write the audit trail: :func:`record`.

Every audited action (a call for help and who answered it, a removal that needed staff approval and who gave or
refused it, a printed receipt) goes through here, so the storage behind it (today ``SalesStore.append_audit``, the
``audit_events`` table) can be replaced by a tamper-evident one in this one place.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["record"]

log = logging.getLogger(__name__)


def record(store: Any, action: str, who: str, **details: Any) -> int:
    """Append one audit row: ``action`` (``help_called``, ``removal_approved`` …), ``who`` did it (``shopper`` or a
    staff id) and plain ``details``; committed before it returns. Returns the row's id."""
    row = store.append_audit(action, who, details=details)
    log.info("audit %s by %s %s", action, who, details or "")
    return row
