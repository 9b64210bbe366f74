"""The till's audit tools over the log :mod:`kiosk.store.audit` writes (the chain itself: :mod:`kiosk.exchange.audit`).

* :mod:`~kiosk.audit.verify` — ``checkout audit verify``: the chain and MACs of a kiosk's file, and what the file's
  other tables say happened (every sale and line event has its audit row; rows cut off at the end);
* :mod:`~kiosk.audit.show` — ``checkout audit show --since …``: the rows as a table or JSON;
* :mod:`~kiosk.audit.packer` — the rows to head office as ``audit`` batches through the feedback outbox;
* :mod:`~kiosk.audit.cli` — the commands (``audit verify|show|key``).
"""
