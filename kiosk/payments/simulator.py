"""The simulated payment terminal (``sim:``): approves every charge (or declines above an amount), once per
idempotency key, and keeps its ledger the way a terminal's acquirer does.

``sim:`` keeps the ledger in memory; ``sim:PATH`` in a SQLite file (WAL, fsynced), so after a kiosk crash it still
knows which keys it approved, as a real terminal would: the kiosk's recovery asks it and must never be charged twice.
Options: ``?decline_over=PAISE`` declines larger amounts, ``?delay_ms=N`` answers after N ms (a shopper at the PIN
pad); ``timeout_s`` (the driver's deadline for one call, 60) and ``max_transaction_s`` (the terminal's longest
transaction, 120) as every driver; ``cancel=no``: a terminal without a cancel (:meth:`Terminal.cancel` answers None).
A ``delay_ms`` longer than ``timeout_s`` approves late: the call gives up at ``timeout_s`` (TerminalError) while the
request is still on its way, the terminal says it never received it meanwhile, and approves it at ``delay_ms``.
``ledger()`` and ``requests()`` let tests and the demo see what the "bank" saw.

A cancel voids a key, received or not: a charge under it that arrives later is answered ``CANCELLED`` and never
charged (the voids are kept beside the ledger, not in it); an outcome already decided is answered as it is.

Every answer names the idempotency key, the amount and the reference it is about, as a real terminal's does.
:meth:`Terminal.misbehave` makes it fail the way terminals and their connections do (:data:`FAULTS`), for tests.
"""

from __future__ import annotations

import dataclasses
import secrets
import sqlite3
import threading
import time
import urllib.parse
from datetime import datetime, timezone
from pathlib import Path

from kiosk.payments.terminal import (
    ChargeRequest,
    ChargeStatus,
    PaymentTerminal,
    TerminalError,
    TerminalReply,
    seconds_option,
)

__all__ = ["FAULTS", "Terminal"]

#: what :meth:`Terminal.misbehave` can make the next calls (charge, status or cancel) do
FAULTS = {
    "silent": "no answer (TerminalError) and nothing reaches the terminal",
    "drop": "the terminal decides (and keeps) the charge, then the connection drops (TerminalError): answer lost",
    "reset": "as drop, but the driver lets a raw ConnectionResetError out instead of a TerminalError",
    "wrong-amount": "the answer names 100 paise more than the terminal decided",
    "wrong-key": "the answer names another payment's idempotency key",
    "wrong-reference": "the answer names another cart as the reference",
    "late": "(a charge) the driver's deadline passes (TerminalError) with the request still on its way: the terminal "
            "says it never received it until arrive() delivers it, then decides it (approves, unless it was "
            "cancelled meanwhile); a status or cancel answers normally",
}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS charges (
        idempotency_key TEXT PRIMARY KEY NOT NULL, amount INTEGER NOT NULL, method TEXT NOT NULL,
        reference TEXT NOT NULL, status TEXT NOT NULL, approval_ref TEXT NOT NULL, message TEXT NOT NULL,
        at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS requests (
        id INTEGER PRIMARY KEY AUTOINCREMENT, idempotency_key TEXT NOT NULL, kind TEXT NOT NULL,
        reference TEXT NOT NULL, at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS voids (idempotency_key TEXT PRIMARY KEY NOT NULL, at TEXT NOT NULL)""",
)
_OPTIONS = ("decline_over", "delay_ms", "timeout_s", "max_transaction_s", "cancel")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class Terminal(PaymentTerminal):
    key = "sim"

    def __init__(self, ledger: str | Path | None = None, *, decline_over: int | None = None,
                 delay_s: float = 0.0, timeout_s: float = PaymentTerminal.timeout_s,
                 max_transaction_s: float = PaymentTerminal.max_transaction_s, can_cancel: bool = True) -> None:
        self.path = Path(ledger) if ledger else None
        self.decline_over, self.delay_s = decline_over, delay_s
        self.timeout_s, self.max_transaction_s, self.can_cancel = timeout_s, max_transaction_s, can_cancel
        self._in_flight: list[ChargeRequest] = []  # charges on their way, the driver no longer waiting (late)
        try:
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(self.path) if self.path else ":memory:", isolation_level=None,
                                         check_same_thread=False)
            if self.path is not None:
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.execute("PRAGMA busy_timeout = 10000")
            for sql in _SCHEMA:
                self._conn.execute(sql)
        except (OSError, sqlite3.Error) as exc:
            raise TerminalError(f"simulated terminal ledger {self.path}: cannot open ({exc})") from None
        self._lock = threading.Lock()
        self._faults: list[str] = []

    def misbehave(self, fault: str, times: int = 1) -> None:
        """Fail the next ``times`` calls (charge, status or cancel) the way ``fault`` says (:data:`FAULTS`), in order
        after the faults already queued."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        with self._lock:
            self._faults += [fault] * times

    def behave(self) -> None:
        """Drop the faults still queued: answer normally again."""
        with self._lock:
            self._faults.clear()

    def _next_fault(self) -> str | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    @staticmethod
    def _misreply(fault: str | None, reply: TerminalReply) -> TerminalReply:
        """The answer as it reaches the kiosk: lost (drop, reset), or naming something else (wrong-…)."""
        if fault == "drop":
            raise TerminalError("connection to the terminal closed before its answer (simulated)")
        if fault == "reset":
            raise ConnectionResetError(104, "Connection reset by peer (simulated)")
        if fault == "wrong-amount":
            return dataclasses.replace(reply, amount_paise=(reply.amount_paise or 0) + 100)
        if fault == "wrong-key":
            return dataclasses.replace(reply, idempotency_key=f"other-{reply.idempotency_key}")
        if fault == "wrong-reference":
            return dataclasses.replace(reply, reference=f"other-{reply.reference}")
        return reply

    @classmethod
    def _settings(cls, uri: str) -> tuple[str, dict]:
        """The ledger path and the constructor's keywords a ``sim:`` URI names; TerminalError (one line) if not."""
        rest = uri.split(":", 1)[1] if ":" in uri else ""
        path, _, query = rest.partition("?")
        options = dict(urllib.parse.parse_qsl(query))
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise TerminalError(f"{uri}: unknown option(s) {', '.join(unknown)} (known: {', '.join(_OPTIONS)})")
        whole = {k: options[k].strip() for k in ("decline_over", "delay_ms") if k in options}
        if not all(v.isascii() and v.isdigit() and len(v) <= 12 for v in whole.values()):
            raise TerminalError(f"{uri}: decline_over and delay_ms must be whole numbers")
        if options.get("cancel", "yes") not in ("yes", "no"):
            raise TerminalError(f"{uri}: cancel={options['cancel']!r} must be yes or no")
        return path, {"decline_over": int(whole["decline_over"]) if "decline_over" in whole else None,
                      "delay_s": int(whole.get("delay_ms", 0)) / 1000,
                      "timeout_s": seconds_option(options, "timeout_s", PaymentTerminal.timeout_s, uri),
                      "max_transaction_s": seconds_option(options, "max_transaction_s",
                                                          PaymentTerminal.max_transaction_s, uri),
                      "can_cancel": options.get("cancel", "yes") == "yes"}

    @classmethod
    def uri_problem(cls, uri: str) -> str | None:
        try:
            cls._settings(uri)
        except TerminalError as exc:
            return str(exc)
        return None

    @classmethod
    def from_uri(cls, uri: str) -> Terminal:
        path, settings = cls._settings(uri)
        return cls(path or None, **settings)

    def describe(self) -> str:
        return f"simulated terminal ({self.path or 'in memory'})"

    _COLUMNS = "status, approval_ref, message, amount, idempotency_key, reference"

    def _reply(self, row) -> TerminalReply:
        return TerminalReply(ChargeStatus(row[0]), row[1], row[2], amount_paise=row[3], idempotency_key=row[4],
                             reference=row[5])

    def charge(self, request: ChargeRequest) -> TerminalReply:
        fault = self._next_fault()
        if fault == "silent":
            raise TerminalError("no answer from the terminal (simulated)")
        if fault == "late" or self.delay_s > self.timeout_s:
            self._send_late(request, None if fault == "late" else self.delay_s)
        if self.delay_s:
            time.sleep(self.delay_s)  # the shopper taps the card; nothing is recorded yet
        return self._misreply(fault, self._charge(request))

    def _send_late(self, request: ChargeRequest, after_s: float | None) -> None:
        """The request is on its way; the driver gives up waiting (at ``timeout_s``, or at once for the ``late``
        fault): TerminalError. It reaches the terminal ``after_s`` seconds from now (None: when :meth:`arrive`)."""
        with self._lock:
            self._in_flight.append(request)
        if after_s is not None:
            timer = threading.Timer(after_s, self._deliver, (request,))
            timer.daemon = True
            timer.start()
            time.sleep(self.timeout_s)
        raise TerminalError(f"no answer from the terminal within {self.timeout_s:g} s (simulated: the request is "
                            f"still on its way)")

    def arrive(self) -> list[TerminalReply]:
        """The charges still on their way reach the terminal now and are decided (approved unless cancelled,
        declined or over ``decline_over``); their answers, which no driver waits for any more."""
        with self._lock:
            late, self._in_flight = self._in_flight, []
        return [self._charge(request) for request in late]

    def _deliver(self, request: ChargeRequest) -> None:
        with self._lock:
            if request not in self._in_flight:
                return
            self._in_flight.remove(request)
        try:
            self._charge(request)
        except sqlite3.Error:  # the terminal was closed meanwhile
            pass

    def _charge(self, request: ChargeRequest) -> TerminalReply:
        if isinstance(request.amount_paise, bool) or not isinstance(request.amount_paise, int) \
                or request.amount_paise <= 0:
            return TerminalReply(ChargeStatus.DECLINED, message=f"invalid amount {request.amount_paise!r}",
                                 idempotency_key=request.idempotency_key, reference=request.reference)
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("INSERT INTO requests (idempotency_key, kind, reference, at) VALUES (?, 'charge', ?, ?)",
                          (request.idempotency_key, request.reference, _now()))
                reply = self._charge_once(c, request)
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return reply

    def _charge_once(self, c: sqlite3.Connection, request: ChargeRequest) -> TerminalReply:
        row = c.execute(f"SELECT {self._COLUMNS} FROM charges WHERE idempotency_key = ?",
                        (request.idempotency_key,)).fetchone()
        if row is None and self._voided(c, request.idempotency_key):
            return TerminalReply(ChargeStatus.CANCELLED, message="cancelled before it reached the terminal",
                                 amount_paise=request.amount_paise, idempotency_key=request.idempotency_key,
                                 reference=request.reference)
        if row is not None:
            if (row[3], row[5]) != (request.amount_paise, request.reference):
                return TerminalReply(ChargeStatus.DECLINED, message="idempotency key reused for another payment",
                                     amount_paise=request.amount_paise, idempotency_key=request.idempotency_key,
                                     reference=request.reference)
            return self._reply(row)
        if self.decline_over is not None and request.amount_paise > self.decline_over:
            status, ref, message = ChargeStatus.DECLINED, "", "declined by the card issuer (simulated)"
        else:
            status, ref, message = ChargeStatus.APPROVED, f"SIM-{secrets.token_hex(6).upper()}", "approved"
        c.execute("INSERT INTO charges (idempotency_key, amount, method, reference, status, approval_ref, message, at)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (request.idempotency_key, request.amount_paise, request.method,
                                                       request.reference, status.value, ref, message, _now()))
        return TerminalReply(status, ref, message, amount_paise=request.amount_paise,
                             idempotency_key=request.idempotency_key, reference=request.reference)

    def status(self, idempotency_key: str) -> TerminalReply:
        fault = self._next_fault()
        if fault == "silent":
            raise TerminalError("no answer from the terminal (simulated)")
        with self._lock:
            self._conn.execute("INSERT INTO requests (idempotency_key, kind, reference, at) "
                               "VALUES (?, 'status', '', ?)", (idempotency_key, _now()))
            row = self._conn.execute(f"SELECT {self._COLUMNS} FROM charges WHERE idempotency_key = ?",
                                     (idempotency_key,)).fetchone()
            voided = row is None and self._voided(self._conn, idempotency_key)
        if row is not None:
            reply = self._reply(row)
        elif voided:
            reply = TerminalReply(ChargeStatus.CANCELLED, message="cancelled", idempotency_key=idempotency_key)
        else:
            reply = TerminalReply(ChargeStatus.NOT_FOUND, message="no such payment", idempotency_key=idempotency_key)
        return self._misreply(fault, reply)

    @staticmethod
    def _voided(c: sqlite3.Connection, key: str) -> bool:
        return c.execute("SELECT 1 FROM voids WHERE idempotency_key = ?", (key,)).fetchone() is not None

    def cancel(self, idempotency_key: str) -> TerminalReply | None:
        """Void the key (see the module docstring); None with ``cancel=no`` (a terminal without a cancel)."""
        if not self.can_cancel:
            return None
        fault = self._next_fault()
        if fault == "silent":
            raise TerminalError("no answer from the terminal (simulated)")
        with self._lock:
            c = self._conn
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("INSERT INTO requests (idempotency_key, kind, reference, at) VALUES (?, 'cancel', '', ?)",
                          (idempotency_key, _now()))
                row = c.execute(f"SELECT {self._COLUMNS} FROM charges WHERE idempotency_key = ?",
                                (idempotency_key,)).fetchone()
                if row is None:
                    c.execute("INSERT OR IGNORE INTO voids (idempotency_key, at) VALUES (?, ?)", (idempotency_key,
                                                                                                    _now()))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
        reply = self._reply(row) if row else TerminalReply(ChargeStatus.CANCELLED, message="cancelled",
                                                           idempotency_key=idempotency_key)
        return self._misreply(fault, reply)

    def ledger(self) -> list[dict]:
        """Every charge the terminal decided, oldest first (what the bank saw)."""
        with self._lock:
            cur = self._conn.execute("SELECT * FROM charges ORDER BY at")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur]

    def requests(self, kind: str = "charge") -> list[dict]:
        with self._lock:
            cur = self._conn.execute("SELECT * FROM requests WHERE kind = ? ORDER BY id", (kind,))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row)) for row in cur]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
