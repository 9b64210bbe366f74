"""The head-office and kiosk commands, end to end through ``checkout``."""

from __future__ import annotations

import json
import shutil

from kiosk.cli import main
from tests.bundles.factory import TINY_LABELS, build_tiny_bundle


def test_keys_sign_verify_publish_update_rollback(tmp_path, capsys):
    keys = tmp_path / "ho-keys"
    assert main(["keys", "generate", "--name", "ho", "--out", str(keys)]) == 0
    assert oct((keys / "ho.key").stat().st_mode & 0o777) == "0o600"
    trusted = tmp_path / "kiosk-keys"
    trusted.mkdir()
    shutil.copy(keys / "ho.pub", trusted / "ho.pub")
    skus = tmp_path / "skus.txt"
    skus.write_text("# active SKUs\n" + "\n".join(TINY_LABELS) + "\n")
    channel, state = tmp_path / "channel", tmp_path / "state"
    cat = ["--catalog-schema", "1", "--active-skus", str(skus)]
    for v in (1, 2):
        b = build_tiny_bundle(tmp_path / f"b{v}", model_version=v)
        assert main(["bundle", "sign", str(b), "--key", str(keys / "ho.key"), "--expires-days", "10"]) == 0
        assert main(["bundle", "verify", str(b), "--keys", str(trusted), *cat]) == 0
        assert "OK: model_version" in capsys.readouterr().out
        assert main(["bundle", "publish", str(b), "--channel", str(channel), "--key", str(keys / "ho.key")]) == 0
        assert main(["kiosk", "update", "--state", str(state), "--keys", str(trusted), "--channel", str(channel),
                     "--store-id", "s1", *cat]) == 0
        assert f"activated model version {v}" in capsys.readouterr().out
    # verify refuses a replay below --active-version, exit 2 with one line naming the reason
    assert main(["bundle", "verify", str(tmp_path / "b1"), "--keys", str(trusted), "--active-version", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "refused (version)" in err
    # publishing an older version to the group is refused
    assert main(["bundle", "publish", str(tmp_path / "b1"), "--channel", str(channel),
                 "--key", str(keys / "ho.key")]) == 2
    assert "refusing to publish the older 1" in capsys.readouterr().err
    # a private key is never written into a git work tree
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    assert main(["keys", "generate", "--name", "x", "--out", str(tmp_path / "repo" / "keys")]) == 2
    assert "never go into a repository" in capsys.readouterr().err
    # staff rollback, audited; status report
    assert main(["kiosk", "rollback", "--state", str(state), "--keys", str(trusted), "--staff", "asha",
                 "--reason", "wrong bananas"]) == 0
    capsys.readouterr()
    assert main(["kiosk", "model-status", "--state", str(state)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["active_version"] == 1 and report["blocked_versions"] == [2]
    assert report["installed_versions"] == [1, 2]
    assert report["last_check"] and report["last_error"] is None
    audit = [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["event"] == "staff-rollback" and audit[-1]["actor"] == "asha" and audit[-1]["to_version"] == 1
    # the channel still offers v2, but the kiosk does not reinstall the version staff rolled back from
    assert main(["kiosk", "update", "--state", str(state), "--keys", str(trusted), "--channel", str(channel),
                 "--store-id", "s1", *cat]) == 0
    assert "rolled back here" in capsys.readouterr().out


def _options(parser, *path: str) -> set[str]:
    for name in path:
        action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = action.choices[name]
    return {s for a in parser._actions for s in (a.option_strings or [a.dest]) if s not in ("-h", "--help")}


def test_head_office_and_till_commands_keep_their_names_and_options():
    """Moving signing to trainer.release changed no command line: head office and kiosk scripts keep working."""
    from kiosk.cli import build_parser

    parser = build_parser()
    assert _options(parser, "keys", "generate") == {"--name", "--out", "--allow-in-repo", "--expires-days"}
    assert _options(parser, "keys", "rotate") == {"--old-key", "--new-pub", "--revoke-old", "--out"}
    assert _options(parser, "bundle", "sign") == {"bundle", "--key", "--expires-days"}
    assert _options(parser, "bundle", "publish") == {"bundle", "--channel", "--key", "--group", "--rollout",
                                                     "--index-expires-days", "--rotation", "--keys"}
    assert _options(parser, "bundle", "verify") == {"bundle", "--keys", "--active-version", "--catalog-schema",
                                                    "--active-skus", "--no-selftest"}
    assert _options(parser, "kiosk", "rollback") == {"--config", "--state", "--keys", "--staff", "--reason", "--to"}
    assert _options(parser, "kiosk", "model-status") == {"--state"}
    assert {"--config", "--state", "--keys", "--channel", "--store-id", "--group", "--backend", "--catalog-schema",
            "--active-skus", "--archive", "--every", "--unblock", "--staff", "--reason"} == _options(parser, "kiosk",
                                                                                                    "update")
    assert _options(parser, "kiosk", "clock-reset") == {"--config", "--state", "--staff", "--reason"}


def test_the_till_registers_no_signing_commands():
    """kiosk.bundles.cli (on every till) offers verify/status (update, rollback: kiosk.update_cli,
    kiosk.rollback_cli); sign and publish are head office's."""
    import argparse

    from kiosk.bundles import cli as till_cli

    root = argparse.ArgumentParser()
    groups: dict = {}
    till_cli.register(root.add_subparsers(dest="command"), groups)
    assert set(groups["bundle"].choices) == {"verify"} and "keys" not in groups
