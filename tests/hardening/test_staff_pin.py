"""Staff PIN: growing lockouts kept in the kiosk's SQLite (a restart does not clear them), scrypt parameters
checked when the config is read, and the typed PIN never in a log line, whatever the config."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest

from kiosk.config import ConfigError, KioskConfig, hash_pin
from kiosk.services.staff import MAX_STAFF_LOCKOUT, STAFF_LOCKOUT, StaffSession, lockout_for
from kiosk.store import SalesStore
from tests.services.conftest import PIN, Clock

WRONG = "9137"  # a PIN typed by the attacker (must never reach a log)


def test_lockouts_grow_and_cap():
    waits = [lockout_for(n) for n in range(1, 12)]
    assert waits[:2] == [None, None] and waits[2] == STAFF_LOCKOUT
    assert waits[3] == 2 * STAFF_LOCKOUT and waits[4] == 4 * STAFF_LOCKOUT and waits[-1] == MAX_STAFF_LOCKOUT
    # how long 10,000 guesses take at the pad: months, not the ≈ 28 hours of a fixed 30 s per 3 tries
    total = sum((lockout_for(n) or timedelta()).total_seconds() for n in range(1, 10_000))
    assert total > 300 * 24 * 3600


def test_a_restart_does_not_clear_the_lockout(tmp_path):
    clock = Clock()
    checked = []

    def check(pin: str) -> bool:
        checked.append(pin)
        return pin == PIN

    def session() -> tuple[StaffSession, SalesStore]:
        store = SalesStore.open(tmp_path / "sales.sqlite", clock=clock)
        return StaffSession(check, 120, clock, lockout=store), store

    s, store = session()
    for _ in range(3):
        assert not s.unlock(WRONG).ok
    assert s.unlock(PIN).wait_s > 0
    store.close()  # the kiosk is restarted (or the plug pulled) …
    s, store = session()
    result = s.unlock(PIN)
    assert not result.ok and 0 < result.wait_s <= 31  # … and the lockout still holds
    assert checked == [WRONG] * 3  # a locked-out PIN is not even checked
    clock.advance(31)
    assert not s.unlock(WRONG).ok and s.unlock(PIN).wait_s > 31  # the 4th wrong PIN locks for twice as long
    clock.advance(61)
    assert s.unlock(PIN).ok and store.pin_lockout("staff") == (0, None)  # a right PIN resets the count
    store.close()


def test_the_lockout_is_kept_per_staff_id(tmp_path):
    clock = Clock()
    with SalesStore.open(tmp_path / "sales.sqlite", clock=clock) as store:
        s = StaffSession(lambda pin: pin == PIN, 120, clock, lockout=store)
        for _ in range(3):
            s.unlock(WRONG, "asha")
        assert s.unlock(PIN, "asha").wait_s and s.unlock(PIN, "ravi").ok
        assert store.pin_lockout("asha")[0] == 3 and store.pin_lockout("ravi") == (0, None)


def test_service_lockout_survives_a_restart(kit):
    k = kit()
    for _ in range(3):
        assert k.service.staff_unlock(WRONG) is False
    k.service.close()
    again = k.open()  # a new service on the same sales file
    assert again.staff_unlock(PIN) is False
    k.clock.advance(31)
    assert again.staff_unlock(PIN) is True


def test_scrypt_parameters_openssl_refuses_fail_at_load_in_one_line(tmp_path, capsys):
    from kiosk.cli import main

    good = hash_pin(PIN)
    _, _n, r, p, salt, digest = good.split("$")
    for n in (2**20, 2**24):  # 1 GiB and 16 GiB of scrypt memory: OpenSSL's 32 MiB limit says no
        bad = f"scrypt${n}${r}${p}${salt}${digest}"
        with pytest.raises(ConfigError, match=f"OpenSSL on this machine refuses scrypt N={n}"):
            KioskConfig(staff_pin_hash=bad)
        toml = tmp_path / "kiosk.toml"
        toml.write_text(f'staff_pin_hash = "{bad}"\n')
        assert main(["kiosk", "--config", str(toml), "--headless"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "refuses scrypt" in err and digest not in err
    assert KioskConfig(staff_pin_hash=good).check_pin(PIN)


@pytest.mark.parametrize("level", ["debug", "info", "warning"])
def test_the_typed_pin_never_reaches_a_log(level, kit, qtbot, tmp_path, caplog):
    """Through the real window: wrong PINs, a lockout, a right PIN, staff actions refused, and a service whose unlock
    raises quoting what was typed — at every log level, to the log file and the stream."""
    from kiosk.logs import setup_logging
    from kiosk.ui.app import build_window

    config = KioskConfig(log_level=level, log_file=str(tmp_path / "kiosk.log"))
    stream = io.StringIO()
    setup_logging(config, verbose=0, stream=stream)
    caplog.set_level(logging.DEBUG)
    try:
        k = kit()
        window, _ = build_window(k.service, k.config, payment_ms=0, receipt_return_s=0)
        qtbot.addWidget(window)

        def type_pin(pin: str) -> None:
            window.open_staff()
            window.pin.edit.setText(pin)
            window.pin.ok_button.click()

        for pin in (WRONG, WRONG, WRONG, PIN, WRONG):
            type_pin(pin)
        k.clock.advance(3600)
        type_pin(PIN)
        window._intent("staff_override_price", "no-such-line", 123)  # refused: logged without its arguments
        original = k.service.staff_unlock

        def leaky(pin, staff_id="staff"):
            raise ValueError(f"could not check PIN {pin!r}")  # a bug that quotes the input

        k.service.staff_unlock = leaky
        type_pin(WRONG)
        k.service.staff_unlock = original
        window._intent("search", WRONG)  # a search's text is not logged either when it is refused
        window.close()
    finally:
        for handler in list(logging.getLogger().handlers):
            if getattr(handler, "_checkout_handler", False):
                logging.getLogger().removeHandler(handler)
                handler.close()
    logged = caplog.text + stream.getvalue() + (tmp_path / "kiosk.log").read_text()
    assert "staff_unlock refused (ValueError)" in caplog.text  # the refusal itself is logged …
    assert WRONG not in logged and PIN not in logged  # … what was typed never is


class Ticker:
    """time.monotonic's stand-in: moves when time really passes, never when the wall clock is set."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _locked_out(s: StaffSession) -> int:
    for _ in range(3):
        assert not s.unlock(WRONG).ok
    result = s.unlock(PIN)
    assert not result.ok and result.wait_s > 0
    return result.wait_s


def test_a_wall_clock_set_forward_does_not_end_a_lockout(tmp_path):
    clock, ticker = Clock(), Ticker()
    with SalesStore.open(tmp_path / "sales.sqlite", clock=clock) as store:
        s = StaffSession(lambda pin: pin == PIN, 120, clock, lockout=store, ticker=ticker)
        _locked_out(s)
        clock.advance(7200)  # the wall clock is set two hours forward; 5 s really pass
        ticker.t += 5
        result = s.unlock(PIN)
        assert not result.ok and 20 <= result.wait_s <= 26, result
        ticker.t += 26  # the lockout's 30 s have really passed
        assert s.unlock(PIN).ok


def test_a_wall_clock_set_back_does_not_lock_staff_out_for_years(tmp_path):
    clock = Clock()
    with SalesStore.open(tmp_path / "sales.sqlite", clock=clock) as store:
        s = StaffSession(lambda pin: pin == PIN, 120, clock, lockout=store)
        _locked_out(s)  # recorded while the RTC ran four years ahead …
        clock.advance(-4 * 365 * 86400)  # … then NTP corrected it
        assert 0 < s.unlock(PIN).wait_s <= STAFF_LOCKOUT.total_seconds() + 1
    with SalesStore.open(tmp_path / "sales.sqlite", clock=clock) as store:  # and after a restart
        s = StaffSession(lambda pin: pin == PIN, 120, clock, lockout=store)
        assert 0 < s.unlock(PIN).wait_s <= STAFF_LOCKOUT.total_seconds() + 1
        clock.advance(STAFF_LOCKOUT.total_seconds() + 1)
        assert s.unlock(PIN).ok


def test_the_kiosk_passes_a_steady_ticker_to_its_lockouts(tmp_path, demo_catalog_db):
    """The real kiosk (no test clock) counts its lockouts on time.monotonic too."""
    import time

    from kiosk.bundles.active import ActiveModel
    from kiosk.scale import SimulatedScale
    from kiosk.services import CheckoutService, open_catalog
    from tests.services.conftest import PIN_HASH, FakeRecognizer

    config = KioskConfig(store=str(tmp_path / "sales.sqlite"), captures=str(tmp_path / "captures"),
                         catalog=str(demo_catalog_db), staff_pin_hash=PIN_HASH, kiosk_id="T1")
    store = SalesStore.open(config.store, kiosk_id="T1")
    service = CheckoutService(config, catalog=open_catalog(demo_catalog_db), store=store,
                              recognizer_holder=ActiveModel(FakeRecognizer()), scale=SimulatedScale(0))
    try:
        assert service._desk.session.sign_in._ticker is time.monotonic
    finally:
        service.stop()
