"""The payment terminal interface: what the checkout asks of any card/UPI terminal, and the registry of drivers.

A terminal is asked to **charge** an amount under an *idempotency key* the kiosk chose and stored first; asking
again with the same key never charges twice, it answers with the outcome of the first request (that is what real
terminal and acquirer APIs promise for an idempotency key). After a crash the kiosk does not charge again: it asks
for the **status** of the key, and the terminal says whether it ever saw that request and how it ended.

A driver is one file in this package defining ``Terminal``, a subclass of :class:`PaymentTerminal` with a unique
``key`` and a ``from_uri`` constructor, listed in :data:`TERMINAL_MODULES`. The config's ``payment_terminal`` URI
names it by its scheme: ``sim:`` (in memory), ``sim:var/terminal.sqlite`` (the simulator keeps its ledger in a file,
so it remembers approvals across a kiosk restart, as a real terminal does).
"""

from __future__ import annotations

import enum
import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from kiosk.errors import UserError

__all__ = ["TERMINAL_MODULES", "ChargeRequest", "ChargeStatus", "PaymentTerminal", "TerminalError", "TerminalReply",
           "open_terminal", "terminal_uri_problem"]

#: URI scheme → module defining ``Terminal`` (adding a driver = one file + one line here)
TERMINAL_MODULES = {"sim": "kiosk.payments.simulator"}


class TerminalError(UserError):
    """The terminal could not be asked or did not answer: the outcome of a charge is unknown (ask its status later,
    never charge again under a new key)."""


class ChargeStatus(str, enum.Enum):
    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"  # the terminal has the request and no outcome yet (shopper still at the PIN pad)
    NOT_FOUND = "not-found"  # the terminal never received a request under this key


@dataclass(frozen=True)
class ChargeRequest:
    idempotency_key: str
    amount_paise: int
    method: str  # card, upi …
    reference: str  # the kiosk's cart id: printed on the terminal's slip and in its settlement report


@dataclass(frozen=True)
class TerminalReply:
    """The terminal's answer about one request. A driver fills in what the terminal says it decided: the idempotency
    key the answer is about, the amount (paise) and the reference, so the kiosk can tell an answer about another
    payment (:meth:`mismatch`) from the approval of its own."""

    status: ChargeStatus
    approval_ref: str = ""  # the terminal's approval (auth) code: set when APPROVED
    message: str = ""
    amount_paise: int | None = None  # the amount the terminal approved (or declined)
    idempotency_key: str = ""  # the request this answer is about
    reference: str = ""  # the kiosk's cart id, as the terminal has it

    @property
    def approved(self) -> bool:
        return self.status is ChargeStatus.APPROVED and bool(self.approval_ref)

    def mismatch(self, key: str, amount_paise: int, reference: str) -> str | None:
        """Why this answer is not one about the payment ``key`` of ``amount_paise`` for ``reference`` (None: it is).
        Every decided answer (approved, declined, never received) must name the key asked about; an approval must
        also name the amount and the reference of that payment. A PENDING answer decides nothing and is not checked."""
        if self.status is ChargeStatus.PENDING:
            return None
        if self.idempotency_key != key:
            return f"it is about payment {self.idempotency_key or '(none)'!r}, not {key!r}"
        if self.status is ChargeStatus.APPROVED:
            if isinstance(self.amount_paise, bool) or self.amount_paise != amount_paise:
                return f"it approved {self.amount_paise!r} paise, not {amount_paise}"
            if self.reference != reference:
                return f"it approved reference {self.reference!r}, not {reference!r}"
        return None


class PaymentTerminal(ABC):
    key: ClassVar[str]

    @classmethod
    @abstractmethod
    def from_uri(cls, uri: str) -> PaymentTerminal:
        """Open the terminal a ``payment_terminal`` URI names (``<key>:…``); raise TerminalError when it cannot."""

    @abstractmethod
    def charge(self, request: ChargeRequest) -> TerminalReply:
        """Charge once per idempotency key: a repeated request answers the first outcome. TerminalError: no answer."""

    @abstractmethod
    def status(self, idempotency_key: str) -> TerminalReply:
        """What became of the request under this key (NOT_FOUND: never received). TerminalError: no answer."""

    def close(self) -> None:  # pragma: no cover - optional hook
        """Release the connection. An optional hook, not abstract: drivers with nothing to release keep this."""
        return None

    def describe(self) -> str:
        return self.key


def _scheme(uri: str) -> str:
    return uri.split(":", 1)[0].strip().lower() if ":" in uri else uri.strip().lower()


def terminal_uri_problem(uri: str) -> str | None:
    """Why ``uri`` names no known terminal driver (None: it names one); checked when the config is read."""
    if not isinstance(uri, str) or _scheme(uri) not in TERMINAL_MODULES:
        return f"payment_terminal={uri!r}: unknown terminal (known: {', '.join(f'{k}:' for k in TERMINAL_MODULES)})"
    return None


def open_terminal(uri: str) -> PaymentTerminal:
    problem = terminal_uri_problem(uri)
    if problem is not None:
        raise TerminalError(problem)
    module = importlib.import_module(TERMINAL_MODULES[_scheme(uri)])
    return module.Terminal.from_uri(uri)
