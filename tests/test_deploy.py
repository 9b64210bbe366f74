"""assets/deploy: the example kiosk.toml cannot fall behind kiosk/config.py, the systemd unit runs commands that
exist with the options it gives them (parsed by the real ``checkout`` parser), its hardening leaves the devices and
the kiosk's directories alone, and every ``checkout`` command in the README's "Install a till" parses too."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import fields
from pathlib import Path

import pytest

from kiosk.cli import build_parser
from kiosk.config import KioskConfig
from kiosk.feedback.settings import FeedbackSettings
from kiosk.staff.rules import StaffRules
from kiosk.trigger import TriggerConfig
from kiosk.weighing.rules import WeighingRules

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "assets" / "deploy"
UNIT = DEPLOY / "checkout-kiosk.service"
EXAMPLE = DEPLOY / "kiosk.toml"
CONFIG_PATH = "/etc/checkout/kiosk.toml"


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """``{section: [(key, value), …]}`` in file order: systemd allows a key more than once, so no configparser."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"{UNIT}: not KEY=VALUE inside a section: {raw!r}"
        current.append((key.strip(), value.strip()))
    return sections


def values(unit: dict, section: str, key: str) -> list[str]:
    return [v for k, v in unit[section] if k == key]


def value(unit: dict, section: str, key: str) -> str:
    found = values(unit, section, key)
    assert len(found) == 1, f"{key}= in [{section}]: {found}"
    return found[0]


@pytest.fixture(scope="module")
def unit() -> dict:
    return parse_unit(UNIT.read_text())


@pytest.fixture(scope="module")
def parser():
    return build_parser()


def run_argv(line: str) -> list[str]:
    """An Exec line's argv after systemd's prefixes (``-@:+!``)."""
    return shlex.split(line.lstrip("-@:+!"))


# -- the example config ---------------------------------------------------------------------------------------------
def comment_above(lines: list[str], index: int) -> str:
    out = []
    while index > 0 and lines[index - 1].lstrip().startswith("#"):
        index -= 1
        out.insert(0, lines[index].lstrip("# ").rstrip())
    return " ".join(out)


def key_lines(text: str) -> dict[str, int]:
    return {m.group(1): i for i, line in enumerate(text.splitlines()) if (m := re.match(r"(\w+)\s*=", line))}


def test_the_example_config_loads_with_the_real_loader():
    config = KioskConfig.from_file(EXAMPLE)  # unknown keys and bad values are refused
    assert config.model_state and config.trusted_keys.startswith("/etc/checkout")
    assert config.log_file.startswith("/var/log/checkout/") and not config.staff_pin_hash


def test_the_example_sets_and_documents_every_setting():
    text = EXAMPLE.read_text()
    lines = text.splitlines()
    keys = key_lines(text)
    tables = ("trigger", "weighing", "barcodes", "feedback", "staff")
    scalar_rules = [f for f in fields(WeighingRules) if f.name not in ("containers", "tare_barcodes", "forced_tares")]
    want = ([f.name for f in fields(KioskConfig) if f.name not in tables] + [f.name for f in fields(TriggerConfig)]
            + [f.name for f in scalar_rules] + ["camera_frames", "scanner"]
            + [f.name for f in fields(FeedbackSettings)] + [f.name for f in fields(StaffRules)])
    missing = [name for name in want if name not in keys]
    assert missing == [], f"{EXAMPLE} lacks {missing}: add each with a comment (what, unit, default)"
    assert "[trigger]" in lines and "[weighing]" in lines and "[barcodes]" in lines and "[feedback]" in lines
    assert "[staff]" in lines
    undocumented = [name for name in want if "default" not in comment_above(lines, keys[name])]
    assert undocumented == [], f"{EXAMPLE}: no comment with the default above {undocumented}"
    # the documented default is the real one
    defaults = {**{f.name: f.default for f in fields(KioskConfig) if f.name not in tables},
                **{f.name: f.default for f in fields(TriggerConfig)}, **{f.name: f.default for f in scalar_rules},
                **{f.name: f.default for f in fields(FeedbackSettings)},
                **{f.name: f.default for f in fields(StaffRules)}}
    wrong = []
    for name, default in defaults.items():
        shown = f'"{default}"' if isinstance(default, str) else str(default).lower() if isinstance(default, bool) \
            else str(default)
        if f"default {shown}" not in comment_above(lines, keys[name]):
            wrong.append(f"{name} (default {shown})")
    assert wrong == [], f"{EXAMPLE}: the comment does not give the default of {wrong}"


# -- the systemd unit -----------------------------------------------------------------------------------------------
def test_every_command_the_unit_runs_is_a_checkout_command_with_those_options(unit, parser):
    from kiosk.commands import cmd_kiosk
    from kiosk.doctor.cli import cmd_doctor

    pre, start = values(unit, "Service", "ExecStartPre"), values(unit, "Service", "ExecStart")
    assert len(pre) == 1 and len(start) == 1
    handlers = []
    for line in pre + start:
        argv = run_argv(line)
        assert argv[0] == "/opt/checkout/venv/bin/checkout", line
        args = parser.parse_args(argv[1:])  # argparse exits (SystemExit 2) on an unknown command or option
        assert args.config == CONFIG_PATH
        handlers.append(args.func)
    assert handlers == [cmd_doctor, cmd_kiosk]
    assert not pre[0].startswith("-")  # a failing doctor stops the start


def test_the_unit_restarts_on_failure_with_limits(unit):
    assert value(unit, "Service", "Restart") == "on-failure"
    assert 1 <= int(value(unit, "Service", "RestartSec").removesuffix("s")) <= 60
    assert int(value(unit, "Unit", "StartLimitBurst")) >= 2
    assert int(value(unit, "Unit", "StartLimitIntervalSec")) > 0
    assert value(unit, "Service", "User") == "kiosk"
    assert "graphical.target" in value(unit, "Unit", "After") and value(unit, "Install", "WantedBy") == \
        "graphical.target"
    env = dict(v.split("=", 1) for v in values(unit, "Service", "Environment"))
    assert env["DISPLAY"] and env["XAUTHORITY"]


def test_the_hardening_leaves_devices_and_the_kiosks_directories_alone(unit):
    assert value(unit, "Service", "ProtectSystem") == "strict"
    assert {"video", "dialout"} <= set(value(unit, "Service", "SupplementaryGroups").split())
    keys = {k for k, _ in unit["Service"]}
    # each of these hides or restricts /dev/video* or /dev/ttyUSB*
    assert not keys & {"PrivateDevices", "DevicePolicy", "DeviceAllow", "ProtectClock"}
    writable = [Path("/var/lib") / d for d in values(unit, "Service", "StateDirectory")]
    writable += [Path("/var/log") / d for d in values(unit, "Service", "LogsDirectory")]
    writable += [Path(p.lstrip("-")) for v in values(unit, "Service", "ReadWritePaths") for p in v.split()]
    config = KioskConfig.from_file(EXAMPLE)
    places = {"store": Path(config.store).parent, "captures": Path(config.captures),
              "model_state": Path(config.model_state), "log_file": Path(config.log_file).parent,
              "catalog (its WAL files)": Path(config.catalog).parent, "outbox": Path(config.feedback.outbox)}
    outside = [name for name, p in places.items() if not any(p == w or w in p.parents for w in writable)]
    assert outside == [], f"the example config writes where the unit forbids it: {outside}"
    assert Path(value(unit, "Service", "WorkingDirectory")) in writable


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed (apt-get install "
                                                                    "systemd); the parsing tests above still run")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    # verify insists that the programs exist: point the unit at this checkout's `checkout`
    checkout = shutil.which("checkout") or str(REPO / ".venv" / "bin" / "checkout")
    path = tmp_path / UNIT.name
    path.write_text(UNIT.read_text().replace("/opt/checkout/venv/bin/checkout", checkout))
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(path)], capture_output=True, text=True,
                          timeout=60)
    about_unit = [line for line in (proc.stdout + proc.stderr).splitlines() if UNIT.name in line]
    assert proc.returncode == 0 and about_unit == [], proc.stdout + proc.stderr


# -- the README ---------------------------------------------------------------------------------------------------
def install_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## Install a till")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def test_every_checkout_command_in_install_a_till_parses(parser):
    """Commands in the code blocks, and inline ones that name the installed program (``…/bin/checkout …``)."""
    section = install_section()
    lines = [line for block in re.findall(r"```(?:sh|bash)?\n(.*?)```", section, re.S)
             for line in block.replace("\\\n", " ").splitlines() if not line.lstrip().startswith("#")]
    lines += [span for span in re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", section, flags=re.S))
              if "/bin/checkout " in span]
    commands = []
    for line in lines:
        m = re.search(r"(?:^|\s)(?:\S*/bin/)?checkout (.+)$", line.split(" #")[0].strip())
        if m:
            commands.append(m.group(1))
    assert len(commands) >= 5, commands  # catalog import, hash-pin, doctor, model-status, rollback
    for command in commands:
        argv = [word for word in shlex.split(command) if word not in ("|", "&&")]
        parser.parse_args(argv)  # SystemExit on an unknown command or option
