"""Every kiosk setting, nested tables too, set to values of the wrong kind -- nothing, empty, 5,000 characters, -1,
2**70, 1.5, nan, inf, true, lists, tables, a NUL -- is a config or one ConfigError, never another exception; and
what start-up cannot take (a thread count, a timer or an image size past a C int, inf) is refused at load. Before:
int(inf) in [trigger] was an OverflowError traceback, and threads = 2**70, [trigger] size = 2**70 or
staff_timeout_s = 1e21 loaded and stopped the kiosk at start-up with a traceback."""

from __future__ import annotations

import copy

import pytest

from kiosk.config import MAX_NUMBER, ConfigError, KioskConfig

ODD = [None, "", "x" * 5000, -1, 0, 2**70, -(2**70), 1.5, float("nan"), float("inf"), True, [], [1, "a"], {},
       {"a": 1}, "\x00", "../../etc/passwd", "\U0001F600"]


def _keys(d: dict, prefix: tuple = ()):
    for k, v in d.items():
        if isinstance(v, dict) and v and k not in ("containers", "tare_barcodes", "forced_tares"):
            yield from _keys(v, (*prefix, k))
        yield (*prefix, k)


def _with(doc: dict, key: tuple, value) -> dict:
    doc = copy.deepcopy(doc)
    table = doc
    for k in key[:-1]:
        table = table[k]
    if value is None:
        del table[key[-1]]
    else:
        table[key[-1]] = value
    return doc


def test_every_setting_of_the_wrong_kind_loads_or_is_one_config_error():
    base = KioskConfig().to_dict()
    loaded = refused = 0
    for key in _keys(base):
        for value in ODD:
            try:
                config = KioskConfig.from_dict(_with(base, key, value), where="fuzz")
            except ConfigError:
                refused += 1
                continue
            loaded += 1
            for number in _numbers(config.to_dict()):  # what loads is usable by C code and timers
                assert abs(number) <= MAX_NUMBER and number == number, (key, value)
    assert refused > 500 and loaded > 200


def _numbers(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _numbers(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _numbers(v)


@pytest.mark.parametrize("doc, words", [
    ({"threads": 2**70}, "threads=1180591620717411303424: not a finite number of at most 2,147,483,647"),
    ({"threads": 5000}, "threads=5000"),
    ({"trigger": {"size": 100_000}}, "size=100000"),
    ({"trigger": {"learn_frames": float("inf")}}, "learn_frames=inf: not a finite number"),
    ({"staff_timeout_s": 1e9}, "staff_timeout_s=1000000000.0"),
    ({"feedback": {"timeout_s": float("nan")}}, "feedback.timeout_s=nan: not a finite number"),
    ({"kiosk_id": "K/1"}, "kiosk_id='K/1'"),
    ({"store_id": "BLR 9"}, "store_id='BLR 9'"),
    ({"trigger": ""}, "trigger = '': expected a table"),
])
def test_what_start_up_cannot_take_is_refused_at_load(doc, words):
    with pytest.raises(ConfigError, match=None) as refused:
        KioskConfig.from_dict(doc)
    assert words in str(refused.value)


@pytest.mark.parametrize("digits", [31, 400, 4000, 5000])
@pytest.mark.parametrize("where", ["threads", "[trigger]\nsize", "[feedback]\nkeep_days"])
def test_an_integer_of_any_length_in_the_file_is_one_config_error(tmp_path, digits, where):
    """TOML integers have any number of digits: a 400-digit one made math.isfinite raise OverflowError (a traceback
    at start-up and in `checkout doctor`); now a one-line refusal naming the setting and the number's length."""
    path = tmp_path / "kiosk.toml"
    key = where.split("\n")[-1]
    for sign in ("", "-"):
        path.write_text(f"{where} = {sign}{'9' * digits}\n")
        with pytest.raises(ConfigError) as refused:
            KioskConfig.from_file(path)
        message = str(refused.value)
        assert "\n" not in message and len(message) < 400
        if digits > 4300:  # more than Python reads from text: tomllib's int() raised ValueError
            assert "a number too long to read (Exceeds the limit (4300 digits)" in message
        else:
            assert f"{key}=a {digits}-digit integer: not a finite number" in message


@pytest.mark.parametrize("name", ["Mars/Base", "asia/kolkata", "IST", "+05:30", "Asia", "Asia/", "../etc/passwd",
                                  "/etc/localtime", "zone.tab", "Asia\\Kolkata", " Asia/Kolkata", "x" * 5000, "a\x00b",
                                  "\U0001F600"])
def test_a_store_time_zone_that_is_not_one_is_one_config_error(name):
    with pytest.raises(ConfigError) as refused:
        KioskConfig.from_dict({"store_timezone": name}, where="kiosk.toml")
    message = str(refused.value)
    assert message.startswith("kiosk.toml: store_timezone=") and "not a time zone" in message
    assert "\n" not in message and len(message) < 400


def test_a_store_time_zone_is_an_iana_name():
    assert KioskConfig.from_dict({"store_timezone": "Asia/Kolkata"}).tz.key == "Asia/Kolkata"
    assert KioskConfig().tz is None  # the default: this machine's local zone
