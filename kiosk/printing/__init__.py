"""Receipt printers: the :class:`~kiosk.printing.base.ReceiptPrinter` interface and one file per driver.

``open_printer(uri)`` picks the driver by the URI's scheme: ``escpos:DEVICE`` or ``escpos:file:PATH``
(:mod:`kiosk.printing.escpos`, ESC/POS bytes for the 80 mm thermal printers tills use, written to ``/dev/usb/lp0``, a
serial port, or appended to a spool file for tests and the demo).
"""

from kiosk.printing.base import PrinterError, ReceiptPrinter, open_printer, printer_uri_problem

__all__ = ["PrinterError", "ReceiptPrinter", "open_printer", "printer_uri_problem"]
