"""One kiosk per state folder: the folder of the sales database holds ``kiosk.lock``, and the kiosk process (the
window, headless, the benches: whatever opens the service through :func:`kiosk.services.wiring.open_parts`) holds an
``flock`` on it for as long as its service is open. A second kiosk on the same folder (an autostart entry beside a
systemd unit, a second terminal) would otherwise sell into the same open cart, run a second payment watch and a
second audit witness writer; it refuses to start in one line naming the folder and the running kiosk (its pid,
command and start time, written into the lock file: the model store's :func:`~kiosk.bundles.store._note_holder`).

The kernel drops an ``flock`` when its process dies, however it dies: a lock file left by a kiosk killed with
SIGKILL or a power cut blocks nothing. The till's commands that run beside the kiosk (``staff``, ``receipt``,
``audit verify``, ``doctor``) open the store, not the service, and never take this lock. A folder where the lock file
cannot be made or locked at all (a read-only mount, a file system without ``flock``) is a warning, not a refusal:
the store's own open says what is wrong there, if anything.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from kiosk.errors import UserError

__all__ = ["LOCK_NAME", "InstanceLock", "hold_instance_lock"]

log = logging.getLogger(__name__)

LOCK_NAME = "kiosk.lock"


class InstanceLock:
    """The flock held on ``path`` (``fd`` None: none could be taken); :meth:`close` lets it go."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self._fd = path, fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # the flock goes with the last descriptor of its open file

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def hold_instance_lock(folder: str | os.PathLike) -> InstanceLock:
    """The lock on ``folder``/``kiosk.lock``, taken without waiting; a :class:`UserError` naming the folder and the
    kiosk that holds it when another process does."""
    from kiosk.bundles.store import _lock_holder, _note_holder

    folder = Path(folder)
    path = folder / LOCK_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        log.warning("%s: cannot make the kiosk's lock file (%s): a second kiosk on this folder would not be stopped",
                    path, exc.strerror or exc)
        return InstanceLock(path, None)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _lock_holder(fd)
        os.close(fd)
        raise UserError(f"{folder}: a kiosk is already running on this state folder ({holder}); stop it first: two "
                        f"kiosks would sell into one open cart (its lock: {path})") from None
    except OSError as exc:
        os.close(fd)
        log.warning("%s: cannot lock the kiosk's lock file (%s): a second kiosk on this folder would not be stopped",
                    path, exc.strerror or exc)
        return InstanceLock(path, None)
    _note_holder(fd)
    return InstanceLock(path, fd)
