"""What every check shares: the result line, the context it reads, the timeout guard and the isolated runner.

A check is a small function ``check(ctx) -> CheckResult``. It returns OK or WARN (or a FAIL it can explain
better than an exception), and raises for anything else: :func:`run_checks` turns an exception inside one check
into that check's FAIL line (the exception's one-line text plus the check's standing advice), so one broken
part never stops the others and ``checkout doctor`` never prints a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.config import KioskConfig

__all__ = ["OK", "WARN", "FAIL", "Check", "CheckResult", "CheckTimeout", "Context", "exit_status", "ntp_status",
           "one_line", "run_checks", "within"]

OK, WARN, FAIL = "OK", "WARN", "FAIL"


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: ``status`` (OK/WARN/FAIL), the check's ``name``, what it ``found`` and, for WARN and
    FAIL, ``fix``: what to do about it."""

    status: str
    name: str
    found: str
    fix: str = ""

    def line(self) -> str:
        text = f"{self.status:<4} {one_line(self.name):<7} {one_line(self.found)}"
        if self.fix and self.status != OK:
            text += f" -> {one_line(self.fix)}"
        return text

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class CheckTimeout(Exception):
    """A device or command that did not answer in time (the doctor moves on; the thread is left behind)."""


def one_line(text: str) -> str:
    """Whitespace (newlines included) squeezed to single spaces."""
    return " ".join(str(text).split())


def describe_error(exc: BaseException) -> str:
    """An exception as one line: a user error's own message, otherwise ``Type: message``."""
    from kiosk.errors import UserError

    text = str(exc) if isinstance(exc, (UserError, CheckTimeout)) else f"{type(exc).__name__}: {exc}"
    return one_line(text.rstrip(": ")) or type(exc).__name__


def within(timeout_s: float, fn: Callable[..., Any], *args: Any, what: str) -> Any:
    """``fn(*args)`` on a daemon thread; its result, its exception, or :class:`CheckTimeout` after ``timeout_s``.
    A dead camera or scale can block inside a driver call forever: the doctor reports it and goes on."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name=f"doctor: {what}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise CheckTimeout(f"{what}: no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def ntp_status(timeout_s: float = 3.0) -> tuple[bool | None, str]:
    """``(True/False, text)`` from ``timedatectl show -p NTPSynchronized``; ``(None, why)`` where it cannot tell
    (no timedatectl, no systemd running, timeout)."""
    exe = shutil.which("timedatectl")
    if exe is None:
        return None, "timedatectl not installed"
    try:
        out = subprocess.run([exe, "show", "-p", "NTPSynchronized", "--value"], capture_output=True, text=True,
                             timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"timedatectl: {describe_error(exc)}"
    value = out.stdout.strip()
    if out.returncode != 0 or value not in ("yes", "no"):
        why = one_line(out.stderr or value).split(". ")[0][:100] or f"exit status {out.returncode}"
        return None, f"timedatectl: {why}"
    return value == "yes", value


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _disk_usage(path: str) -> Any:
    return shutil.disk_usage(path)


@dataclass
class Context:
    """What the checks read: the config, where it came from (for the advice), the device timeout, and the
    clock, disk and NTP probes (injectable, so a test can fake a full disk or a wrong clock)."""

    config: KioskConfig
    config_file: str = ""
    timeout_s: float = 10.0
    disk_usage: Callable[[str], Any] = _disk_usage
    now: Callable[[], datetime] = _utc_now
    ntp: Callable[[], tuple[bool | None, str]] = ntp_status
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def setting(self, key: str) -> str:
        """Where to change a setting, for the advice: ```scale = ...` in /etc/checkout/kiosk.toml``."""
        return f"`{key} = ...` in {self.config_file or 'the --config file'}"

    def cached(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]


@dataclass(frozen=True)
class Check:
    """A named check and the advice printed when it fails with an exception."""

    name: str
    run: Callable[[Context], CheckResult]
    advice: Callable[[Context], str]


def run_one(check: Check, ctx: Context) -> CheckResult:
    try:
        result = check.run(ctx)
    except Exception as exc:  # isolation: any failure inside a check is that check's FAIL line
        return CheckResult(FAIL, check.name, describe_error(exc), check.advice(ctx))
    if result.status != OK and not result.fix:
        result = CheckResult(result.status, result.name, result.found, check.advice(ctx))
    return result


def run_checks(checks: Iterable[Check], ctx: Context) -> list[CheckResult]:
    return [run_one(check, ctx) for check in checks]


def exit_status(results: Iterable[CheckResult]) -> int:
    """0 when nothing failed (warnings allowed), 1 otherwise."""
    return 1 if any(r.status == FAIL for r in results) else 0
