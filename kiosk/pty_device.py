"""A device simulated on a pseudo-terminal: the kiosk opens its port as it opens a real serial device (the scale's
and the receipt printer's simulators, :mod:`kiosk.scale.simulator` and :mod:`kiosk.printing.simulator`).

A subclass answers in :meth:`PtyDevice._serve`, reading and writing ``self._master`` until ``self._stop`` is set;
``what`` names it in its thread's name.
"""

from __future__ import annotations

import os
import threading
import tty

__all__ = ["PtyDevice"]


class PtyDevice:
    what = "device"

    def __init__(self) -> None:
        self._master: int | None = None
        self._slave: int | None = None
        self.port: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Open the pty pair and start answering; returns the port to open (its slave end)."""
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation: bytes go through as on a real line
        self._master, self._slave = master, slave
        self.port = os.ttyname(slave)
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"{self.what} simulator {self.port}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        """Stop answering and close the pty (the port disappears, like an unplugged cable)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
            self._thread = None
        for fd in (self._master, self._slave):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._master = self._slave = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        raise NotImplementedError
