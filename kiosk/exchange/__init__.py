"""What till and head office exchange besides model bundles: immutable, content-addressed batches (feedback now,
audit records later) and the kiosk's heartbeat. Shared by both sides: the kiosk writes, ``trainer.fleet`` reads.

Standard library only (plus :mod:`kiosk.errors`), so head office imports it without the till's packages.

* :mod:`~kiosk.exchange.batch` — the batch container: a deterministic tar named ``<kind>-<sha256>.tar`` after
  its bytes, holding ``batch.json`` (kind, kiosk, records, each file's hash) and the files; writer, reader and
  validation (a batch cut short, altered or renamed is refused, whole);
* :mod:`~kiosk.exchange.cut` — cutting what a kiosk sends into batches head office takes, by bytes as well as by
  count (one mechanism for the feedback, audit and enrollment packers);
* :mod:`~kiosk.exchange.feedback` — the feedback record (one per placement: photo, top-k, who chose what, trust);
* :mod:`~kiosk.exchange.heartbeat` — the kiosk's status report (model, updates, counts, disk, outbox);
* :mod:`~kiosk.exchange.layout` — where each thing lives at head office (``<kind>/<store>/<kiosk>/<name>``);
* :mod:`~kiosk.exchange.display` — the one escape every command puts stored or received text through before a
  person's terminal shows it.
"""

from kiosk.exchange.batch import Batch, BatchError, batch_name, parse_batch_name, read_batch, write_batch
from kiosk.exchange.layout import batch_key, heartbeat_key, safe_segment

__all__ = ["Batch", "BatchError", "batch_key", "batch_name", "heartbeat_key", "parse_batch_name", "read_batch",
           "safe_segment", "write_batch"]
