"""Card and UPI payment terminals behind one interface (:mod:`kiosk.payments.terminal`); one file per driver,
picked by the ``payment_terminal`` URI of the config. The simulator (``sim:``) is the first driver."""

from kiosk.payments.terminal import (
    TERMINAL_MODULES,
    ChargeRequest,
    ChargeStatus,
    PaymentTerminal,
    TerminalError,
    TerminalReply,
    open_terminal,
    terminal_uri_problem,
)

__all__ = ["TERMINAL_MODULES", "ChargeRequest", "ChargeStatus", "PaymentTerminal", "TerminalError", "TerminalReply",
           "open_terminal", "terminal_uri_problem"]
