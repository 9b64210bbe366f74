"""The store's remembered time (state.json's last_seen, which never lets a clock set back revive an expired index or
bundle) cannot be bricked by one reading far ahead: head office's next signed index takes it back, a refusal it
causes says so and names state.json, and staff have an audited `checkout kiosk clock-reset`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from kiosk.bundle_format.trust import TrustStore
from kiosk.bundles.store import BundleStore
from kiosk.bundles.updater import Updater
from tests.bundles.factory import tiny_catalog
from trainer.release.publish import publish


class Clock:
    def __init__(self) -> None:
        self.t = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.t


def _kiosk(root, trust, clock, channel) -> Updater:
    return Updater(BundleStore(root), trust, str(channel), "s1", catalog=tiny_catalog(), now=clock,
                   loader=lambda p: None)


def _glitched(bundles_dir, head_office_key, tmp_path):
    """A kiosk on v1 whose clock read ten years ahead for one check, and is right again."""
    trust = TrustStore.from_keys(head_office_key.public)
    channel, root, clock = tmp_path / "ch", tmp_path / "kiosk", Clock()
    publish(bundles_dir / "v1", channel, head_office_key)
    assert _kiosk(root, trust, clock, channel).check_once().outcome == "activated"
    clock.t += timedelta(days=3650)  # an RTC or NTP glitch, or a spoofed NTP answer
    ahead = _kiosk(root, trust, clock, channel).check_once()
    assert (ahead.outcome, ahead.reason) == ("refused", "index") and "state.json" not in ahead.message
    clock.t -= timedelta(days=3650)
    assert json.loads((root / "state.json").read_text())["last_seen"] > "2030"
    return trust, channel, root, clock


def test_a_clock_once_far_ahead_is_taken_back_by_head_offices_next_index(bundles_dir, head_office_key, tmp_path):
    trust, channel, root, clock = _glitched(bundles_dir, head_office_key, tmp_path)
    again = _kiosk(root, trust, clock, channel).check_once()  # the same index: refused, and the refusal says why
    assert (again.outcome, again.reason) == ("refused", "index") and "expired" in again.message
    assert "remembers" in again.message and str(root / "state.json") in again.message
    assert "clock-reset" in again.message
    clock.t += timedelta(minutes=10)
    publish(bundles_dir / "v2", channel, head_office_key, now=clock.t)  # head office's next index vouches for now
    result = _kiosk(root, trust, clock, channel).check_once()
    assert result.outcome == "activated" and result.version == 2, result
    store = BundleStore(root)
    fix = [e for e in store.read_audit() if e["event"] == "clock-correction"]
    assert len(fix) == 1 and fix[0]["from_time"] > "2030" and fix[0]["to_time"] < "2030"
    assert store.read_state()["last_seen"] < "2030"


def test_staff_reset_a_remembered_time_ahead_of_the_clock_audited(bundles_dir, head_office_key, tmp_path, capsys):
    from kiosk.cli import main

    trust, channel, root, clock = _glitched(bundles_dir, head_office_key, tmp_path)
    assert main(["kiosk", "clock-reset", "--state", str(root), "--staff", "Asha", "--reason", "NTP said 2036"]) == 0
    assert "went back from 20" in capsys.readouterr().out
    entry = BundleStore(root).read_audit()[-1]
    assert entry["event"] == "clock-reset" and entry["actor"] == "Asha" and entry["reason"] == "NTP said 2036"
    assert _kiosk(root, trust, clock, channel).check_once().outcome == "up-to-date"  # the same index takes again
    assert main(["kiosk", "clock-reset", "--state", str(root), "--staff", "Asha", "--reason", "again"]) == 0
    assert "nothing to reset" in capsys.readouterr().out
    assert main(["kiosk", "clock-reset", "--state", str(root), "--staff", " ", "--reason", "x"]) == 2
