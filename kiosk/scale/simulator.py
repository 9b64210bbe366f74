"""A scale on a pseudo-terminal speaking the real protocol bytes: for tests and for development.

:class:`ScaleSimulator` opens a pty pair, answers commands written to the slave end exactly as
an MT-SICS balance or an NCI scale would, and takes its load from any :class:`Scale`
(a :class:`~kiosk.scale.simulated.SimulatedScale` you set, or a script). Faults can be
injected: :meth:`ScaleSimulator.inject` replaces the next answer with raw bytes (garbage, a
cut-off frame), ``mute`` stops answering, like a disconnected cable, and ``delay`` answers that many
seconds after each command (a slow scale: the weight as it was when the command came).

Dev tool::

    python -m kiosk.scale.simulator --protocol nci            # prints serial:/dev/pts/N?protocol=nci
    python -m kiosk.scale.simulator --protocol mt-sics --script assets/demo/scale.txt

then point the kiosk at the printed URI. Interactively, type a weight in grams (``750``), ``750~``
for motion, ``over``, ``under``, ``error``, ``garbage`` or ``quit``.
"""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
import threading
import time
from collections import deque

from kiosk.pty_device import PtyDevice
from kiosk.scale.base import Scale, WeightStatus
from kiosk.scale.protocol import ScaleProtocol, get_protocol
from kiosk.scale.simulated import SimulatedScale

log = logging.getLogger(__name__)


class ScaleSimulator(PtyDevice):
    what = "scale"

    def __init__(self, protocol: ScaleProtocol | str = "mt-sics", scale: Scale | None = None):
        super().__init__()
        self.protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
        self.scale = scale if scale is not None else SimulatedScale()
        self.mute = False
        self.delay = 0.0  # seconds between a command and its answer
        self.commands: list[bytes] = []  # every command received, for tests and logs
        self._injected: deque[bytes] = deque()

    # -- protocol logic (no I/O) ----------------------------------------------------------------
    def inject(self, raw: bytes) -> None:
        """Answer the next command with ``raw`` instead of the real reply."""
        self._injected.append(bytes(raw))

    def handle(self, command: bytes) -> bytes:
        """The reply to one command (terminator stripped)."""
        self.commands.append(command)
        if self._injected:
            return self._injected.popleft()
        if self.protocol.is_zero_command(command):
            zeroed = self.scale.zero()
            return self.protocol.respond(command, self.scale.read(), zeroed)
        return self.protocol.respond(command, self.scale.read())

    # -- pty --------------------------------------------------------------------------------------
    @property
    def uri(self) -> str:
        return f"serial:{self.port}?protocol={self.protocol.name}"

    def _serve(self) -> None:
        buffer = b""
        outbox: deque[tuple[float, bytes]] = deque()  # (when, answer): answers kept back by ``delay``
        while not self._stop.is_set():
            wait = 0.05 if not outbox else min(0.05, max(0.0, outbox[0][0] - time.monotonic()))
            try:
                ready, _, _ = select.select([self._master], [], [], wait)
                data = os.read(self._master, 1024) if ready else None
                while outbox and outbox[0][0] <= time.monotonic():
                    os.write(self._master, outbox.popleft()[1])
            except OSError:
                return
            if data is None:
                continue
            if not data:
                return
            buffer += data
            commands, buffer = self.protocol.split_commands(buffer)
            for command in commands:
                reply = self.handle(command)
                if not self.mute and reply:
                    outbox.append((time.monotonic() + self.delay, reply))
            while outbox and outbox[0][0] <= time.monotonic():
                try:
                    os.write(self._master, outbox.popleft()[1])
                except OSError:
                    return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.scale.simulator", description=__doc__.splitlines()[0])
    parser.add_argument("--protocol", default="mt-sics", help="mt-sics or nci (default mt-sics)")
    parser.add_argument("--unit", default=None, help="unit the scale reports (mt-sics: g/kg, nci: kg/lb/oz/g)")
    parser.add_argument("--script",
                        help="play this scale script (one reading per weight command) instead of typed weights")
    parser.add_argument("--grams", type=int, default=0, help="initial load in grams")
    args = parser.parse_args(argv)
    from kiosk.errors import UserError
    from kiosk.scale.simulated import ScriptedScale

    try:
        protocol = get_protocol(args.protocol, **({"unit": args.unit} if args.unit else {}))
        scale = ScriptedScale.from_file(args.script) if args.script else SimulatedScale(args.grams)
    except UserError as exc:
        print(f"simulator: error: {exc}", file=sys.stderr)
        return 2
    sim = ScaleSimulator(protocol, scale)
    sim.start()
    print(sim.uri, flush=True)
    try:
        if args.script:
            print("playing the script, one reading per weight command; Ctrl-C to stop", file=sys.stderr)
            threading.Event().wait()
        print("type grams (750), 750~ (moving), over, under, error, garbage, quit", file=sys.stderr)
        for line in sys.stdin:
            if not apply_console_command(sim, scale, line):
                break
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0


def apply_console_command(sim: ScaleSimulator, scale: SimulatedScale, line: str) -> bool:
    """One typed line of the dev console; False for quit."""
    word = line.strip().lower()
    if word in ("quit", "exit", "q"):
        return False
    if word in ("over", "under", "error"):
        scale.set_status({"over": WeightStatus.OVERLOAD, "under": WeightStatus.UNDERLOAD}.get(word, WeightStatus.ERROR))
    elif word == "garbage":
        sim.inject(b"\x00\xfe#garbage\x7f")
    elif word:
        try:
            scale.set_weight(int(word.rstrip("~")), stable=not word.endswith("~"))
        except ValueError:
            print(f"not understood: {word!r}", file=sys.stderr)
    return True


if __name__ == "__main__":
    raise SystemExit(main())
