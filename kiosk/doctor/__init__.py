"""``checkout doctor``: is this till ready to open? One line per check, exit 1 when any check FAILs.

Checks, in order (each a small function ``check(ctx) -> CheckResult``, isolated by :func:`run_checks`):

=========  ==========================================================================================
camera     opens ``camera`` and reads one frame within the timeout            (:mod:`.devices`)
scale      opens ``scale`` and takes one reading within the timeout           (:mod:`.devices`)
printer    ``receipt_printer``: none set is OK; a device there and a device (not a file), asked its status
           within the timeout (paper near end WARN; out, cover open, offline, fault, no answer FAIL); a spool
           file's folder there and writable                                   (:mod:`.devices`)
bundle     the model the kiosk will run: signed by a trusted key, every file's hash; with ``model_state``
           the store's active version                                         (:mod:`.model`)
runtime    which of the bundle's models the kiosk will run on the configured backend, precision and device;
           the backend's package installed; a faster runtime for an int8 model named      (:mod:`.runtime`)
catalog    opens, schema version, SKU count, every label of the model an active SKU   (:mod:`.model`)
state      the kiosk's own files open as the kiosk will open them: sales database, audit key and its witness,
           gallery, terminal ledger (read-only; a file not there yet is fine)  (:mod:`.state`)
disk       free space (``min_free_mb``) and write access where the kiosk writes      (:mod:`.host`)
clock      not before the build date or the model's signing time; NTP synchronised  (:mod:`.host`)
feedback   the tray region is set (privacy); head office reachable: the outbox's queue, oldest unsent batch,
           last error, batches dropped (WARN only: the till sells either way)     (:mod:`.feedback`)
=========  ==========================================================================================

``checkout doctor`` adds a ``config`` line first (and a ``logs`` line when the log file cannot be opened);
the command itself is in :mod:`kiosk.doctor.cli`.
"""

from __future__ import annotations

from kiosk.doctor.core import FAIL, OK, WARN, Check, CheckResult, CheckTimeout, Context, exit_status, run_checks
from kiosk.doctor.devices import camera_advice, check_camera, check_printer, check_scale, printer_advice, scale_advice
from kiosk.doctor.feedback import check_feedback, feedback_advice
from kiosk.doctor.host import check_clock, check_disk, clock_advice, disk_advice
from kiosk.doctor.model import bundle_advice, catalog_advice, check_bundle, check_catalog
from kiosk.doctor.runtime import check_runtime, runtime_advice
from kiosk.doctor.state import check_state, state_advice

__all__ = ["CHECKS", "FAIL", "OK", "WARN", "Check", "CheckResult", "CheckTimeout", "Context", "exit_status",
           "run_checks", "run_doctor"]

CHECKS = (
    Check("camera", check_camera, camera_advice),
    Check("scale", check_scale, scale_advice),
    Check("printer", check_printer, printer_advice),
    Check("bundle", check_bundle, bundle_advice),
    Check("runtime", check_runtime, runtime_advice),
    Check("catalog", check_catalog, catalog_advice),
    Check("state", check_state, state_advice),
    Check("disk", check_disk, disk_advice),
    Check("clock", check_clock, clock_advice),
    Check("feedback", check_feedback, feedback_advice),
)


def run_doctor(ctx: Context, checks: tuple[Check, ...] = CHECKS) -> list[CheckResult]:
    """Every check's result, in order."""
    return run_checks(checks, ctx)
