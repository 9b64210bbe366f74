"""The camera and the scale: open the configured device and get one frame / one reading, each within the timeout."""

from __future__ import annotations

import time

from kiosk.doctor.core import FAIL, OK, WARN, CheckResult, CheckTimeout, Context, within

__all__ = ["check_camera", "check_scale", "camera_advice", "scale_advice"]


def camera_advice(ctx: Context) -> str:
    return (f"check the camera's USB cable and {ctx.setting('camera')} (the kiosk user needs the video group; "
            "`v4l2-ctl --list-devices` lists cameras)")


def scale_advice(ctx: Context) -> str:
    return (f"check the scale's power and USB/serial cable and {ctx.setting('scale')} (port, protocol, baud; the "
            "kiosk user needs the dialout group)")


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
