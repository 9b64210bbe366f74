"""JSON that comes from another machine (a kiosk's batch index, its heartbeat), read so that nothing in it can stop
the reader later: UTF-8, no NaN or Infinity, numbers within ±2**53 (what JSON carries exactly; a 5,000-digit
integer or 1e400 is refused, not an OverflowError where it is used), at most :data:`MAX_DEPTH` levels, and every
string encodable again (a lone surrogate such as ``"\\ud800"`` stopped any ``print`` of it). Standard library only."""

from __future__ import annotations

import json
import math
from typing import Any

from kiosk.errors import DataError
from kiosk.inputfiles import MAX_DEPTH, nesting_problem

__all__ = ["MAX_DEPTH", "MAX_NUMBER", "load_document", "nesting_problem"]

MAX_NUMBER = 2**53


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON carries")


def _problem(doc: Any) -> str:
    """Why ``doc`` (parsed JSON) is unfit, walking it without recursion; "" when it is fit."""
    problem = nesting_problem(doc)
    if problem:
        return problem
    todo = [doc]
    while todo:
        value = todo.pop()
        if isinstance(value, dict):
            todo += list(value) + list(value.values())
        elif isinstance(value, list):
            todo += value
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"a string holds a lone surrogate ({value[:40]!r})"
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            if abs(value) > MAX_NUMBER or not math.isfinite(value):  # abs first: isfinite floats a 400-digit int
                return f"a number beyond ±2**53 ({str(value)[:40]})"
    return ""


def load_document(raw: bytes, where: str, what: str, error: type[DataError] = DataError) -> Any:
    """The JSON document in ``raw``; ``error`` naming ``where`` and ``what`` it should be when it is not fit."""
    try:
        doc = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # a 5,000-digit integer is a ValueError too
        raise error(f"{where}: {what} is not JSON ({str(exc)[:200]})") from None
    problem = _problem(doc)
    if problem:
        raise error(f"{where}: {what} is not usable: {problem}")
    return doc
