"""The camera, the scale and the receipt printer: open the configured device and get one frame / one reading / its
status, each within the timeout."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from kiosk.doctor.core import FAIL, OK, WARN, CheckResult, CheckTimeout, Context, within

__all__ = ["check_camera", "check_printer", "check_scale", "camera_advice", "printer_advice", "scale_advice"]


def camera_advice(ctx: Context) -> str:
    return (f"check the camera's USB cable and {ctx.setting('camera')} (the kiosk user needs the video group; "
            "`v4l2-ctl --list-devices` lists cameras)")


def scale_advice(ctx: Context) -> str:
    return (f"check the scale's power and USB/serial cable and {ctx.setting('scale')} (port, protocol, baud; the "
            "kiosk user needs the dialout group)")


def printer_advice(ctx: Context) -> str:
    return (f"check the receipt printer's power, paper, cover and USB/serial cable and {ctx.setting('receipt_printer')}"
            " (escpos:/dev/usb/lp0, a serial port, or escpos:file:PATH for a spool file; the kiosk user needs the lp "
            "or dialout group)")


def check_camera(ctx: Context) -> CheckResult:
    """Open ``config.camera`` and read one frame."""
    from kiosk.camera import create_source

    uri = ctx.config.camera
    started = time.monotonic()
    source = create_source(uri)  # a bad URI or a missing folder: CameraError, one line
    within(ctx.timeout_s, source.open, what=f"opening camera {uri}")
    frame = _read_then_close(ctx, source.read, source.close, f"reading a frame from {uri}")
    if frame is None:
        return CheckResult(FAIL, "camera", f"{uri} opened but gave no frame (empty folder or video)")
    height, width = frame.image.shape[:2]
    return CheckResult(OK, "camera", f"{uri} gave a {width}x{height} frame in {time.monotonic() - started:.1f} s")


def check_scale(ctx: Context) -> CheckResult:
    """Open ``config.scale`` and take one reading."""
    from kiosk.scale import open_scale

    uri = ctx.config.scale
    scale = within(ctx.timeout_s, open_scale, uri, what=f"opening scale {uri}")
    reading = _read_then_close(ctx, scale.read, scale.close, f"reading scale {uri}")
    status = reading.status.value
    if status == "error":
        return CheckResult(FAIL, "scale", f"{uri} gave no weight ({reading.message or 'error reading'})")
    if status in ("overload", "underload"):
        return CheckResult(WARN, "scale", f"{uri} answers but reads {status}",
                           "empty the tray and zero the scale; if it persists, have the scale serviced")
    motion = "" if reading.stable else " (in motion)"
    return CheckResult(OK, "scale", f"{uri} reads {reading.grams} g{motion}")


def check_printer(ctx: Context) -> CheckResult:
    """``config.receipt_printer``: nothing set is fine (no Print button); a spool file's folder must take writes; a
    device must be there, be a device, and — asked its status (``DLE EOT``) within the timeout — be ready to print."""
    from kiosk.printing import open_printer
    from kiosk.printing.base import NOT_ANSWERING

    uri = ctx.config.receipt_printer
    if not uri:
        return CheckResult(OK, "printer", "none (receipt_printer not set: receipts are shown, not printed)")
    printer = open_printer(uri)  # a malformed URI, a spool file's folder missing: PrinterError, one line
    if printer.spool:
        return _check_spool(printer.path)
    printer._check_node(printer._mode())  # missing: not connected; a file or folder where the device should be
    if printer.status == "none" or not stat.S_ISCHR(printer._mode() or 0):
        return CheckResult(OK, "printer", f"{printer.describe()}: there (its status is not asked)")
    wait_s = max(0.05, min(printer.status_timeout_s, ctx.timeout_s / 5))
    reason, said, warning = within(ctx.timeout_s, _ask_status, printer, wait_s, what=f"asking printer {uri}")
    if reason:
        hint = "; a printer that cannot report its status: add ?status=none" if reason == NOT_ANSWERING else ""
        return CheckResult(FAIL, "printer", f"{printer.path}: {reason.removeprefix('the printer ')} ({said}){hint}")
    if warning:
        return CheckResult(WARN, "printer", f"{printer.path}: {warning} ({said})", "put a new paper roll in soon")
    return CheckResult(OK, "printer", f"{printer.describe()}: ready ({said})")


def _ask_status(printer, wait_s: float) -> tuple[str, str, str]:
    from kiosk.printing.status import read_state

    fd = printer._open()
    try:
        return read_state(fd, wait_s)
    finally:
        os.close(fd)


def _check_spool(path: Path) -> CheckResult:
    """A spool file the kiosk can append to (or create): nothing is written."""
    if path.is_dir():
        return CheckResult(FAIL, "printer", f"spool file {path}: is a folder, not a file")
    if path.exists() and not path.is_file():
        return CheckResult(FAIL, "printer", f"spool file {path}: not a regular file")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        where = path if path.exists() else f"its folder {path.parent}"
        return CheckResult(FAIL, "printer", f"spool file {path}: {where} is not writable by this user")
    return CheckResult(OK, "printer", f"ESC/POS to the file {path}")


def _read_then_close(ctx: Context, read, close, what: str):
    """``read()`` within the timeout, then ``close()``. A read still blocked in its driver is left alone (closing a
    device under a blocked read can crash the driver); the doctor's process exit releases it."""
    try:
        value = within(ctx.timeout_s, read, what=what)
    except CheckTimeout:
        raise
    except BaseException:
        _close_quietly(ctx, close)
        raise
    _close_quietly(ctx, close)
    return value


def _close_quietly(ctx: Context, close) -> None:
    try:
        within(ctx.timeout_s, close, what="closing the device")
    except Exception:  # closing a device that just failed may fail too: what it read (or not) is the result
        pass
