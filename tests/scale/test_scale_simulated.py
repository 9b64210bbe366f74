import threading

import pytest

from kiosk.errors import UserError
from kiosk.scale import ScaleError, ScriptedScale, SimulatedScale, WeightStatus, open_scale, parse_script


def triple(r):
    return (r.grams, r.stable, r.status.value)


def test_simulated_scale_slider_zero_and_faults():
    scale = SimulatedScale()
    assert triple(scale.read()) == (0, True, "ok")
    scale.set_weight(730, stable=False)
    assert triple(scale.read()) == (730, False, "ok")
    assert scale.zero() is False  # a moving load cannot be zeroed
    scale.set_weight(1185)
    assert triple(scale.read()) == (1185, True, "ok")
    assert scale.zero() is True
    assert triple(scale.read()) == (0, True, "ok")
    scale.set_weight(1500)
    assert scale.read().grams == 315
    for status in ("overload", "underload", "error"):
        scale.set_status(status)
        reading = scale.read()
        assert reading.status.value == status and reading.grams == 0 and not reading.stable
    scale.set_status(None)
    assert scale.read().grams == 315
    assert scale.polls == 9


def test_simulated_scale_capacity_and_threads():
    scale = SimulatedScale(capacity=15000)
    scale.set_weight(16000)
    assert scale.read().status is WeightStatus.OVERLOAD

    def slider():
        for g in range(0, 2000, 7):
            scale.set_weight(g)

    t = threading.Thread(target=slider)
    t.start()
    readings = [scale.read() for _ in range(300)]
    t.join()
    assert all(r.status in (WeightStatus.OK, WeightStatus.OVERLOAD) for r in readings)


SCRIPT = """\
# demo script
3x 0
2x 730~      # moving
2X 1185
over
1x -4
"""


def test_script_plays_in_order_and_last_reading_repeats():
    scale = ScriptedScale.from_text(SCRIPT, "demo.txt")
    got = [triple(scale.read()) for _ in range(11)]
    assert got == [
        (0, True, "ok"),
        (0, True, "ok"),
        (0, True, "ok"),
        (730, False, "ok"),
        (730, False, "ok"),
        (1185, True, "ok"),
        (1185, True, "ok"),
        (0, False, "overload"),
        (-4, True, "ok"),
        (-4, True, "ok"),
        (-4, True, "ok"),
    ]
    assert scale.total_polls == 9 and scale.polls == 11


def test_script_raw_names_the_line():
    scale = ScriptedScale.from_text(SCRIPT, "demo.txt")
    for _ in range(3):
        scale.read()
    assert scale.read().raw == b"demo.txt:3: 2x 730~"


def test_script_error_and_zero():
    scale = ScriptedScale.from_text("2x 500\nerror\n700\n", "s")
    assert scale.read().grams == 500
    assert scale.zero() is True
    assert scale.read().grams == 0
    assert scale.read().status is WeightStatus.ERROR
    assert scale.zero() is False
    assert scale.read().grams == 200


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("3x 0\n2x abc\n", "s.txt:2:4", "bad weight 'abc'"),
        ("0x 5\n", "s.txt:1:1", "bad count '0'"),
        ("  -3x 5\n", "s.txt:1:3", "bad count '-3'"),
        ("5\n2x 1.5\n", "s.txt:2:4", "whole grams"),
        ("2x over~\n", "s.txt:1:4", "'~' only applies"),
        ("2x 5 6\n", "s.txt:1:1", "cannot read '2x 5 6'"),
        ("# nothing\n\n", "s.txt", "no readings"),
    ],
)
def test_script_errors_name_file_line_column_and_value(text, where, words):
    with pytest.raises(ScaleError) as info:
        parse_script(text, "s.txt")
    assert isinstance(info.value, UserError)
    assert str(info.value).startswith(where + ":") or str(info.value).startswith(where)
    assert where in str(info.value) and words in str(info.value)


def test_open_scale_uris(tmp_path):
    script = tmp_path / "scale.txt"
    script.write_text("2x 0\n250\n")
    scale = open_scale(f"script:{script}")
    assert [scale.read().grams for _ in range(4)] == [0, 0, 250, 250]
    assert open_scale("sim:").read().grams == 0
    assert triple(open_scale("sim:250").read()) == (250, True, "ok")
    assert triple(open_scale("sim:?grams=40&stable=0").read()) == (40, False, "ok")


@pytest.mark.parametrize(
    "uri, words",
    [
        ("", "empty scale URI"),
        ("usb", "missing scheme"),
        ("hid:0", "unknown scheme 'hid'"),
        ("sim:?grams=lots", "'lots'"),
        ("sim:?colour=red", "unknown option"),
        ("sim:?stable=maybe", "'maybe'"),
        ("script:", "missing script path"),
        ("script:/no/such/scale.txt", "does not exist"),
        ("serial:", "missing serial port"),
        ("serial:/dev/ttyNOPE?protocol=mt-sics", "cannot open serial port '/dev/ttyNOPE'"),
        ("serial:/dev/ttyUSB0?protocol=dibal", "unknown scale protocol 'dibal'"),
        ("serial:/dev/ttyUSB0?baud=fast", "'fast' for option 'baud'"),
        ("serial:/dev/ttyUSB0?bytesize=6", "one of 7, 8"),
        ("serial:/dev/ttyUSB0?parity=X", "'parity'"),
        ("serial:/dev/ttyUSB0?protocol=nci&command=S", "mt-sics only"),
        ("serial:/dev/ttyUSB0?protocol=mt-sics&command=SIR", "SI or S"),
        ("serial:/dev/ttyUSB0?speed=9600", "unknown option(s) speed"),
    ],
)
def test_bad_scale_uris(uri, words):
    with pytest.raises(ScaleError) as info:
        open_scale(uri)
    assert words in str(info.value)


def test_a_script_is_paced_by_camera_frames_and_skips_dropped_ones():
    scale = ScriptedScale.from_text("1x 0\n1x 10\n1x 20\n1x 30\n40\n")
    assert scale.paced_by_frames and not SimulatedScale().paced_by_frames
    assert scale.poll_due_at_frame(0) and scale.read().grams == 0
    assert not scale.poll_due_at_frame(0)  # frame 0 was read already
    assert scale.poll_due_at_frame(3)  # frames 1 and 2 were dropped: their readings are skipped
    assert scale.read().grams == 30 and scale.polls == 4
    assert not SimulatedScale().poll_due_at_frame(5)  # a real scale is polled by time, never by frames
