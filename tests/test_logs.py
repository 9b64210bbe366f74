"""kiosk.logs: sd-daemon priority prefixes under the journal, the human format on a terminal, a rotating file,
secrets redacted; and ``checkout kiosk`` writing its log file."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import pytest

from kiosk.config import KioskConfig, hash_pin
from kiosk.logs import journal_prefix, redact, setup_logging, under_journal

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "assets" / "demo"


@pytest.fixture(autouse=True)
def restore_root_logger():
    """setup_logging changes the process-wide root logger: put it back (and close our files) after each test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
            h.close()
    for h in handlers:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)


def journal_env(stream) -> dict[str, str]:
    """JOURNAL_STREAM as systemd sets it for a service whose stderr is ``stream``."""
    st = os.fstat(stream.fileno())
    return {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}


def emit_each_level(name: str = "kiosk.test") -> None:
    log = logging.getLogger(name)
    log.debug("debug line")
    log.info("info line")
    log.warning("warning line")
    log.error("error line")
    log.critical("critical line")


def test_under_the_journal_every_line_carries_its_priority_and_no_timestamp(tmp_path):
    with open(tmp_path / "journal", "w+") as stream:
        setup_logging(KioskConfig(log_level="debug"), stream=stream, environ=journal_env(stream))
        emit_each_level()
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines == ["<7>kiosk.test: debug line", "<6>kiosk.test: info line", "<4>kiosk.test: warning line",
                     "<3>kiosk.test: error line", "<2>kiosk.test: critical line"]
    assert not any(re.search(r"\d\d:\d\d", line) for line in lines)  # journald adds the time itself


def test_a_traceback_under_the_journal_is_prefixed_on_every_line(tmp_path):
    with open(tmp_path / "journal", "w+") as stream:
        setup_logging(KioskConfig(), stream=stream, environ=journal_env(stream))
        try:
            raise ValueError("bad frame")
        except ValueError:
            logging.getLogger("kiosk.camera").exception("capture failed")
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[0] == "<3>kiosk.camera: capture failed" and lines[-1] == "<3>ValueError: bad frame"
    assert len(lines) > 3 and all(line.startswith("<3>") for line in lines)


def test_on_a_terminal_the_human_format_stays(tmp_path):
    with open(tmp_path / "stderr", "w+") as stream, open(tmp_path / "other", "w") as other:
        # JOURNAL_STREAM inherited from a parent service but naming another stream: not the journal
        setup_logging(KioskConfig(), stream=stream, environ=journal_env(other))
        emit_each_level()
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines == ["INFO kiosk.test: info line", "WARNING kiosk.test: warning line", "ERROR kiosk.test: error line",
                     "CRITICAL kiosk.test: critical line"]  # log_level info: no debug


def test_under_journal_needs_the_very_stream(tmp_path):
    with open(tmp_path / "a", "w") as a, open(tmp_path / "b", "w") as b:
        assert under_journal(a, journal_env(a))
        assert not under_journal(a, journal_env(b))
        assert not under_journal(a, {})
        assert not under_journal(a, {"JOURNAL_STREAM": "garbage"})


def test_priority_prefixes_follow_sd_daemon():
    assert [journal_prefix(level) for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR,
                                                logging.CRITICAL)] == ["<7>", "<6>", "<4>", "<3>", "<2>"]


def test_verbose_lowers_the_configured_level(tmp_path):
    with open(tmp_path / "stderr", "w+") as stream:
        setup_logging(KioskConfig(log_level="error"), verbose=2, stream=stream, environ={})
        emit_each_level()
        stream.seek(0)
        text = stream.read()
    assert "DEBUG kiosk.test: debug line" in text


def test_the_log_file_rotates_at_max_bytes_keeping_backups(tmp_path):
    log_file = tmp_path / "log" / "kiosk.log"  # the directory is created
    config = KioskConfig(log_file=str(log_file), log_max_bytes=400, log_backups=2, log_level="info")
    with open(tmp_path / "stderr", "w") as stream:
        setup_logging(config, stream=stream, environ={})
        for i in range(60):
            logging.getLogger("kiosk.test").info("line %03d of the rotation test", i)
    files = sorted(p.name for p in log_file.parent.iterdir())
    assert files == ["kiosk.log", "kiosk.log.1", "kiosk.log.2"]  # older ones were dropped
    for p in log_file.parent.iterdir():
        assert 0 < p.stat().st_size <= 400
    newest = log_file.read_text().splitlines()
    assert newest[-1].endswith("INFO kiosk.test: line 059 of the rotation test")
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO kiosk.test: line", newest[-1])  # the file has times
    oldest_kept = (log_file.parent / "kiosk.log.2").read_text()
    assert "line 000 " not in oldest_kept + (log_file.parent / "kiosk.log.1").read_text() + "".join(newest)


def test_a_second_setup_replaces_the_first(tmp_path):
    with open(tmp_path / "one", "w+") as one, open(tmp_path / "two", "w+") as two:
        setup_logging(KioskConfig(), stream=one, environ={})
        setup_logging(KioskConfig(), stream=two, environ={})
        logging.getLogger("kiosk.test").warning("once")
        one.seek(0)
        two.seek(0)
        assert one.read() == "" and two.read() == "WARNING kiosk.test: once\n"


def test_secrets_never_reach_a_log(tmp_path):
    pin_hash = hash_pin("4321", salt=b"0123456789abcdef")
    log_file = tmp_path / "kiosk.log"
    with open(tmp_path / "stderr", "w+") as stream:
        setup_logging(KioskConfig(log_file=str(log_file)), stream=stream, environ={})
        log = logging.getLogger("kiosk.test")
        log.warning("config: staff_pin_hash=%s", pin_hash)
        log.warning("polling %s", "https://store42:s3cr3t-pass@ho.example/channel")
        try:
            raise RuntimeError(f"cannot parse {pin_hash}")
        except RuntimeError:
            log.exception("failed")
        stream.seek(0)
        written = stream.read() + log_file.read_text()
    assert pin_hash.split("$")[-1] not in written and "s3cr3t-pass" not in written
    assert "scrypt$<redacted>" in written and "https://store42:<redacted>@ho.example/channel" in written
    assert redact("no secrets here: camera:0") == "no secrets here: camera:0"


def test_checkout_kiosk_writes_its_log_file(tmp_path, capsys):
    """The real command: ``checkout kiosk --config`` with ``log_file`` set sends its log there."""
    from kiosk.cli import main

    camera = tmp_path / "empty-camera"
    camera.mkdir()
    log_file = tmp_path / "log" / "kiosk.log"
    config = tmp_path / "kiosk.toml"
    config.write_text(f'camera = "folder:{camera.as_posix()}"\nscale = "script:{(DEMO / "scale.txt").as_posix()}"\n'
                      f'bundle = "{(tmp_path / "no-bundle").as_posix()}"\nlog_file = "{log_file.as_posix()}"\n'
                      'log_level = "debug"\n')
    rc = main(["kiosk", "--headless", "--config", str(config)])
    assert rc == 2  # no bundle there: one line on stderr, as before
    assert "no-bundle" in capsys.readouterr().err
    logging.getLogger("kiosk.services").debug("after start-up")  # the kiosk's own loggers now reach the file
    assert log_file.read_text().rstrip().endswith("DEBUG kiosk.services: after start-up")


def test_the_stderr_handler_follows_a_redirected_stderr(monkeypatch):
    """Set up once, then stderr is swapped (a test harness, a daemon redirecting it): records go to the new one."""
    import io
    import sys

    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    setup_logging(KioskConfig(), environ={})
    monkeypatch.setattr(sys, "stderr", second)
    logging.getLogger("kiosk.test").warning("to the current stderr")
    assert first.getvalue() == "" and second.getvalue() == "WARNING kiosk.test: to the current stderr\n"


def test_a_malformed_log_call_does_not_raise_into_the_caller(tmp_path, monkeypatch):
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production: logging reports, never raises
    with open(tmp_path / "stderr", "w+") as stream:
        setup_logging(KioskConfig(), stream=stream, environ={})
        logging.getLogger("kiosk.test").warning("two args %s %s", "only one")
        logging.getLogger("kiosk.test").warning("still logging")
        stream.seek(0)
        assert stream.read().endswith("WARNING kiosk.test: still logging\n")


def test_a_config_error_quoting_a_pin_hash_is_printed_redacted(tmp_path, capsys):
    from kiosk.cli import main

    config = tmp_path / "kiosk.toml"
    config.write_text('staff_pin_hash = "scrypt$1$2$3$c2FsdHNhbHQ=$deadbeefsecret"\ntop_k = 0\n', encoding="utf-8")
    assert main(["kiosk", "--config", str(config), "--headless"]) == 2
    err = capsys.readouterr().err
    assert "checkout: error:" in err and "deadbeefsecret" not in err
