"""A USB scanner in keyboard mode types into the kiosk window: the window's key filter hands the burst to the
wedge driver (``[barcodes] scanner = "wedge:"``), whose code the live loop's scanner thread then sells; a person
typing slowly in the search box is not a scan."""

from __future__ import annotations

from PySide6.QtCore import Qt

from kiosk.barcodes.wedge import KeyboardWedge


def test_a_fast_burst_typed_into_the_window_is_a_scan(qtbot, service):
    from kiosk.ui.app import build_window

    service.scanner = KeyboardWedge(gap_ms=200)  # generous: the offscreen event loop is not a USB scanner
    window, _ = build_window(service, None, payment_ms=0, receipt_return_s=0, camera_fps=50)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.wedge_filter is not None
    qtbot.keyClicks(window, "4006381333931")
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert service.scanner.read(1.0) == "4006381333931" and window.wedge_filter.scans == 1
    qtbot.keyClicks(window, "banana")
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert service.scanner.read(0.05) is None  # not digits: not a scan


def test_ctrl_bracket_from_a_scanner_reaches_the_driver_as_gs(qtbot, service):
    """A DataBar label's raw element string: the scanner types GS (FNC1) as Ctrl+], which the platform may or may not
    turn into the character \\x1d; the filter hands the driver GS either way."""
    from kiosk.ui.app import build_window

    service.scanner = KeyboardWedge(gap_ms=200)
    window, _ = build_window(service, None, payment_ms=0, receipt_return_s=0, camera_fps=50)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    qtbot.keyClicks(window, "]e00100012345678905")
    qtbot.keyClick(window, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(window, "3103000548")
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert service.scanner.read(1.0) == "]e00100012345678905\x1d3103000548" and window.wedge_filter.scans == 1
