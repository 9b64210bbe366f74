import os
import time

import pytest

from kiosk.scale import ScriptedScale, SimulatedScale, WeightStatus, open_scale
from kiosk.scale.serial_scale import SerialScale
from kiosk.scale.simulator import ScaleSimulator, apply_console_command

FAST = "timeout=0.2"


def simulated_and_driver(protocol: str, options: str):
    """A simulated scale speaking ``protocol`` on a pty and the serial driver opened on it with ``options``
    (yielded; both closed after)."""
    sim = ScaleSimulator(protocol, SimulatedScale(0))
    sim.start()
    scale = open_scale(f"{sim.uri}&{options}")
    yield sim, scale
    scale.close()
    sim.stop()


@pytest.fixture(params=["mt-sics", "nci"])
def rig(request):
    """A simulated scale speaking the protocol on a pty, and the serial driver opened on it."""
    yield from simulated_and_driver(request.param, FAST)


def triple(r):
    return (r.grams, r.stable, r.status.value)


def test_reads_weights_motion_and_limits_over_the_wire(rig):
    sim, scale = rig
    assert isinstance(scale, SerialScale)
    assert triple(scale.read()) == (0, True, "ok")
    sim.scale.set_weight(730, stable=False)
    assert triple(scale.read()) == (730, False, "ok")
    sim.scale.set_weight(1185)
    reading = scale.read()
    assert triple(reading) == (1185, True, "ok")
    assert reading.raw  # the device's bytes are kept
    sim.scale.set_status("overload")
    assert scale.read().status is WeightStatus.OVERLOAD
    sim.scale.set_status("underload")
    assert scale.read().status is WeightStatus.UNDERLOAD
    sim.scale.set_status(None)
    assert scale.zero() is True
    assert triple(scale.read()) == (0, True, "ok")
    poll = b"SI" if sim.protocol.name == "mt-sics" else b"W"
    expected = [poll] * 5 + [b"Z", poll]
    assert sim.commands[:7] == expected


def test_garbage_partial_and_silence_become_error_readings(rig):
    sim, scale = rig
    sim.scale.set_weight(250)
    sim.inject(b"\x00\xfe#garbage\x7f" + sim.protocol.response_end)
    bad = scale.read()
    assert bad.status is WeightStatus.ERROR and bad.raw.startswith(b"\x00\xfe")
    sim.inject(sim.protocol.respond(b"SI" if sim.protocol.name == "mt-sics" else b"W", sim.scale.read())[:5])
    cut = scale.read()
    assert cut.status is WeightStatus.ERROR and "incomplete" in cut.message
    assert triple(scale.read()) == (250, True, "ok")  # the next poll is fine again
    sim.mute = True
    start = time.monotonic()
    silent = scale.read()
    assert silent.status is WeightStatus.ERROR and "no answer within 0.2 s" in silent.message
    assert time.monotonic() - start < 1.0
    sim.mute = False
    assert triple(scale.read()) == (250, True, "ok")


def test_unplugged_scale_gives_errors_then_reconnects(tmp_path):
    """The port is a symlink (like /dev/serial/by-id/...); the device goes away and comes back."""
    link = tmp_path / "scale0"
    first = ScaleSimulator("nci", SimulatedScale(400))
    os.symlink(first.start(), link)
    scale = SerialScale(str(link), "nci", timeout=0.2, reopen_interval=0.05)
    assert scale.read().grams == 400
    first.stop()
    errors = [scale.read() for _ in range(3)]
    assert all(r.status is WeightStatus.ERROR for r in errors)
    assert any("serial port" in r.message for r in errors)
    second = ScaleSimulator("nci", SimulatedScale(650))
    link.unlink()
    os.symlink(second.start(), link)
    time.sleep(0.06)
    try:
        assert scale.read().grams == 650
    finally:
        scale.close()
        second.stop()


def test_mt_sics_stable_only_command_and_kg_unit():
    from kiosk.scale.protocol import MtSics

    sim = ScaleSimulator(MtSics(unit="kg"), SimulatedScale(1234, stable=False))
    sim.start()
    scale = open_scale(f"serial:{sim.port}?protocol=mt-sics&command=S&{FAST}")
    try:
        moving = scale.read()
        assert moving.status is WeightStatus.ERROR and "S I" in moving.message
        sim.scale.set_weight(1234)
        assert triple(scale.read()) == (1234, True, "ok")
        assert sim.commands[-1] == b"S"
    finally:
        scale.close()
        sim.stop()


def test_simulator_plays_a_script_over_serial():
    sim = ScaleSimulator("nci", ScriptedScale.from_text("2x 0\n1x 300~\n900\n"))
    sim.start()
    scale = open_scale(f"{sim.uri}&{FAST}")
    try:
        assert [triple(scale.read()) for _ in range(5)] == [
            (0, True, "ok"),
            (0, True, "ok"),
            (300, False, "ok"),
            (900, True, "ok"),
            (900, True, "ok"),
        ]
    finally:
        scale.close()
        sim.stop()


def test_simulator_console_commands():
    sim = ScaleSimulator("mt-sics", SimulatedScale())
    apply_console_command(sim, sim.scale, "750~\n")
    assert sim.handle(b"SI") == b"S D      750.0 g\r\n"
    apply_console_command(sim, sim.scale, "over")
    assert sim.handle(b"SI") == b"S +\r\n"
    apply_console_command(sim, sim.scale, "garbage")
    assert sim.handle(b"SI").startswith(b"\x00")
    assert apply_console_command(sim, sim.scale, "quit") is False


@pytest.fixture(params=["mt-sics", "nci"])
def slow_rig(request):
    """A scale that answers late, and the driver with a short timeout (0.05 s) and a longer wait for late answers."""
    yield from simulated_and_driver(request.param, "timeout=0.05&late=0.6")


def test_a_slow_scales_late_answers_are_errors_never_old_weights(slow_rig):
    """Every answer comes 0.15 s after its command, beyond the 0.05 s timeout: before, the late answer to one poll
    was read as the answer to the next, an ok, stable weight from before the load changed."""
    sim, scale = slow_rig
    sim.delay = 0.15
    readings = []
    for grams in (0, 0, 1000, 1000, 548, 548):
        sim.scale.set_weight(grams)
        readings.append(scale.read())
    assert [r.status for r in readings] == [WeightStatus.ERROR] * 6, [(r.status.value, r.grams) for r in readings]
    assert "s after its command, and was dropped" in readings[-1].message
    assert scale.late_answers >= 4


def test_one_late_answer_is_dropped_and_the_next_reading_is_fresh(slow_rig):
    sim, scale = slow_rig
    sim.scale.set_weight(1000)
    sim.delay = 0.15  # one slow answer (a busy scale) …
    assert scale.read().status is WeightStatus.ERROR
    sim.delay = 0.0  # … then prompt ones again, after the load changed
    sim.scale.set_weight(548)
    assert triple(scale.read()) == (548, True, "ok")  # not the late 1000 g
    assert triple(scale.read()) == (548, True, "ok") and scale.late_answers == 1
