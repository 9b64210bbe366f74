"""JSON that comes from another machine (a kiosk's batch index, its heartbeat), read so that nothing in it can stop
the reader later: UTF-8, no NaN or Infinity, numbers within ±2**53 (what JSON carries exactly; a 5,000-digit
integer or 1e400 is refused, not an OverflowError where it is used), at most :data:`MAX_DEPTH` levels, and every
string encodable again (a lone surrogate such as ``"\\ud800"`` stopped any ``print`` of it). The reader itself is
:mod:`kiosk.inputfiles`' (every room may use it: the bundle format reads its channel index, rotations and
signatures with it too); this is its name for the exchange. Standard library only."""

from __future__ import annotations

from kiosk.inputfiles import MAX_DEPTH, MAX_NUMBER, load_document, nesting_problem, read_document

__all__ = ["MAX_DEPTH", "MAX_NUMBER", "load_document", "nesting_problem", "read_document"]
