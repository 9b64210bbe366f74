"""The payment terminal interface: what the checkout asks of any card/UPI terminal, and the registry of drivers.

A terminal is asked to **charge** an amount under an *idempotency key* the kiosk chose and stored first; asking
again with the same key never charges twice, it answers with the outcome of the first request (that is what real
terminal and acquirer APIs promise for an idempotency key). After a crash the kiosk does not charge again: it asks
for the **status** of the key, and the terminal says whether it ever saw that request and how it ended.

"Never received" is not final while the request may still be on its way or at the PIN pad: a terminal can say
``NOT_FOUND`` and approve the same request a minute later. So the kiosk **cancels** the key first (a void/abort of the
transaction: a confirmed ``CANCELLED`` means the terminal will never approve that key, even if the request reaches it
later); a terminal without a cancel is believed only after its own longest transaction (:attr:`max_transaction_s`)
has passed since the charge call ended (:attr:`timeout_s`: the driver's deadline for one call).

A driver is one file in this package defining ``Terminal``, a subclass of :class:`PaymentTerminal` with a unique
``key`` and a ``from_uri`` constructor, listed in :data:`TERMINAL_MODULES`. The config's ``payment_terminal`` URI
names it by its scheme: ``sim:`` (in memory), ``sim:var/terminal.sqlite`` (the simulator keeps its ledger in a file,
so it remembers approvals across a kiosk restart, as a real terminal does). The URI's options are the driver's
settings; every driver takes ``timeout_s`` and ``max_transaction_s`` (:func:`seconds_option`), checked with the config
(:meth:`PaymentTerminal.uri_problem`).
"""

from __future__ import annotations

import enum
import importlib
import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from kiosk.errors import UserError

__all__ = ["TERMINAL_MODULES", "ChargeRequest", "ChargeStatus", "PaymentTerminal", "TerminalError", "TerminalReply",
           "open_terminal", "seconds_option", "terminal_uri_problem"]

#: URI scheme → module defining ``Terminal`` (adding a driver = one file + one line here)
TERMINAL_MODULES = {"sim": "kiosk.payments.simulator"}


class TerminalError(UserError):
    """The terminal could not be asked or did not answer: the outcome of a charge is unknown (ask its status later,
    never charge again under a new key)."""


class ChargeStatus(str, enum.Enum):
    APPROVED = "approved"
    DECLINED = "declined"
    PENDING = "pending"  # the terminal has the request and no outcome yet (shopper still at the PIN pad)
    NOT_FOUND = "not-found"  # the terminal never received a request under this key (so far: it may be on its way)
    CANCELLED = "cancelled"  # cancelled at the kiosk's request: the terminal will never approve this key


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


#: the longest a driver setting in seconds may be (one hour)
MOST_SECONDS = 3600.0
_SECONDS = re.compile(r"[0-9]{1,5}(?:\.[0-9]{1,3})?\Z")


def seconds_option(options: dict[str, str], name: str, default: float, uri: str) -> float:
    """The driver setting ``name`` of a URI's options, in seconds (``default`` when absent): a plain decimal number,
    more than 0 and at most :data:`MOST_SECONDS`; TerminalError (one line) otherwise."""
    if name not in options:
        return default
    text = options[name].strip()
    value = float(text) if _SECONDS.match(text) else math.nan
    if not 0 < value <= MOST_SECONDS:
        raise TerminalError(f"{uri}: {name}={options[name]!r} must be a number of seconds above 0 and at most "
                            f"{MOST_SECONDS:.0f}")
    return value


class PaymentTerminal(ABC):
    key: ClassVar[str]
    #: seconds the driver waits for the terminal's answer to one call before it gives up (TerminalError)
    timeout_s: float = 60.0
    #: the terminal's own longest transaction (card, PIN, the bank): a request it has not approved this long after
    #: it reached it is aborted by the terminal itself and never approved
    max_transaction_s: float = 120.0

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

    def cancel(self, idempotency_key: str) -> TerminalReply | None:
        """Cancel (void, abort) the request under this key, received or not: ``CANCELLED`` promises the terminal
        will never approve it, also when the request reaches it later; an outcome already decided is answered as it
        is (APPROVED stays approved); PENDING: it cannot be stopped now; NOT_FOUND: it cannot promise that for a key
        it has not seen. TerminalError: no answer. None (this default): the terminal has no cancel."""
        return None

    @classmethod
    def uri_problem(cls, uri: str) -> str | None:
        """Why the options of ``uri`` are not settings of this driver (None: they are); checked with the config,
        without opening anything."""
        return None

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
    problem = importlib.import_module(TERMINAL_MODULES[_scheme(uri)]).Terminal.uri_problem(uri)
    return None if problem is None else f"payment_terminal: {problem}"


def open_terminal(uri: str) -> PaymentTerminal:
    problem = terminal_uri_problem(uri)
    if problem is not None:
        raise TerminalError(problem)
    module = importlib.import_module(TERMINAL_MODULES[_scheme(uri)])
    return module.Terminal.from_uri(uri)
