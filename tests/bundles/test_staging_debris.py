"""What interrupted runs leave in staging/ goes at the next update, not only at the next kiosk start: unpacked copies
a `kill -9` of `checkout kiosk update` left, and a superseded release's interrupted download."""

from __future__ import annotations

from kiosk.cli import main
from tests.bundles.factory import TINY_LABELS
from trainer.release.publish import publish


def _debris(staging):
    (staging / "extract-0123456789ab").mkdir()
    (staging / "extract-0123456789ab" / "model.onnx").write_bytes(b"\0" * 4096)
    (staging / "trash" / "extract-x").mkdir(parents=True)
    (staging / "pack-1-2.tmp").write_bytes(b"half a pack")
    (staging / f"download-{'ab' * 16}.part").write_bytes(b"\0" * 10_000)  # a release no index names any more


def test_a_cli_update_clears_what_killed_runs_left(kiosk_v1, bundles_dir, head_office_key, tmp_path, capsys):
    publish(bundles_dir / "v1", tmp_path / "ch", head_office_key)
    staging = kiosk_v1.store.staging_dir
    _debris(staging)
    skus = tmp_path / "skus.txt"
    skus.write_text("\n".join(TINY_LABELS) + "\n")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "ho.pub").write_text(head_office_key.public.line())
    assert main(["kiosk", "update", "--state", str(kiosk_v1.store.root), "--keys", str(keys), "--channel",
                 str(tmp_path / "ch"), "--store-id", "s1", "--catalog-schema", "1", "--active-skus", str(skus)]) == 0
    assert "up-to-date" in capsys.readouterr().out
    assert sorted(p.name for p in staging.iterdir()) == []


def test_an_archive_install_clears_unpacked_debris_and_keeps_a_resumable_download(kiosk_v1, bundles_dir, tmp_path):
    from kiosk.bundle_format.archive import write_archive

    staging = kiosk_v1.store.staging_dir
    _debris(staging)
    assert kiosk_v1.updater.install_archive(write_archive(bundles_dir / "v2", tmp_path / "v2.tar")).outcome \
        == "activated"
    assert sorted(p.name for p in staging.iterdir()) == [f"download-{'ab' * 16}.part"]  # the channel's to judge


def test_a_superseded_partial_download_goes_when_the_index_names_another(kiosk_v1, bundles_dir, head_office_key,
                                                                         tmp_path):
    staging = kiosk_v1.store.staging_dir
    ch = tmp_path / "ch"
    entry = publish(bundles_dir / "v2", ch, head_office_key, rollout_percent=0)
    current = staging / f"download-{entry['sha256'][:32]}.part"
    current.write_bytes(b"\0" * 100)  # this release's interrupted download: resumed when the roll-out comes
    stale = staging / f"download-{'cd' * 16}.part"
    stale.write_bytes(b"\0" * 10_000)
    kiosk_v1.updater.channel = str(ch)
    assert kiosk_v1.updater.check_once().outcome == "not-in-rollout"
    assert current.exists() and not stale.exists()
