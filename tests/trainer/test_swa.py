"""--swa-epochs: the held learning rate, the equal-weight average of the SWA epochs' end weights, and a resumed run
that averages exactly as an uninterrupted one."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from kiosk.cli import main as checkout
from kiosk.errors import UserError
from tests.trainer.synthetic import make_dataset
from trainer import swa

FAST = ["--arch", "tiny_cnn", "--img-size", "64", "--train-resize", "72", "--eval-size", "64",
        "--batch-size", "8", "--threads", "2", "--no-progress", "--lr", "1e-2", "--keep", "last"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("synthetic"))


def _records(run) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def _ckpt(run) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=False)  # our own file, written by the test's run


def test_the_kept_weights_are_the_mean_of_the_swa_epochs_ends_and_resume_is_exact(data, tmp_path):
    train, val = data
    args = ["train", "--train", str(train), "--val", str(val), "--epochs", "3", "--swa-epochs", "2", *FAST]
    ref = tmp_path / "ref"
    assert checkout([*args, "--out", str(ref)]) == 0
    steps = _records(ref)[0]["step"]  # one epoch's optimizer steps
    cut = tmp_path / "cut"
    assert checkout([*args, "--out", str(cut), "--max-steps", str(2 * steps)]) == 0  # stops after epoch 1
    w1 = {k: v.clone() for k, v in _ckpt(cut)["model"].items()}
    shutil.copytree(cut, tmp_path / "cut-copy")
    assert checkout(["train", "--resume", str(cut), "--no-progress", "--max-steps", "100000"]) == 0

    lrs = [r["lr"] for r in _records(ref)]
    peak = _ckpt(ref)["optimizer"]["param_groups"][0]["max_lr"]
    assert lrs[1] == lrs[2] == pytest.approx(peak * 0.25)  # held through the SWA epochs
    w2, avg = _ckpt(ref)["model"], _ckpt(ref)["ema"]
    assert int(avg["n_averaged"]) == 2
    kept = load_file(ref / "best.safetensors")
    for name, last in w2.items():
        if last.is_floating_point():
            mean = (w1[name] + last) / 2
            torch.testing.assert_close(avg[f"module.{name}"], mean)
            torch.testing.assert_close(kept[name], mean)
    assert not torch.equal(kept[next(iter(kept))], w2[next(iter(kept))])  # not just the last weights
    resumed = _ckpt(cut)["ema"]
    assert all(torch.equal(resumed[k], avg[k]) for k in avg)  # bit-identical on CPU


def test_the_hold_follows_the_main_schedule_then_each_groups_peak_times_the_factor():
    params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD([{"params": [params[0]], "lr": 1.0}, {"params": [params[1]], "lr": 0.5}])
    main = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=10)
    hold = swa.HoldAfter(main, opt, 10, 0.2)
    for _ in range(9):
        opt.step()
        hold.step()
    assert hold.get_last_lr()[0] < 1e-4  # the lr of the one-cycle's last (10th) step
    opt.step()
    hold.step()
    assert hold.get_last_lr() == pytest.approx([0.2, 0.1])  # the 11th step's: held, not extrapolated
    again = swa.HoldAfter(torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1.0, 0.5], total_steps=10), opt, 10, 0.2)
    again.load_state_dict(hold.state_dict())
    opt.step()
    again.step()
    assert again.done == 11 and again.get_last_lr() == pytest.approx([0.2, 0.1])


@pytest.mark.parametrize("extra, message", [
    (["--swa-epochs", "3"], "--swa-epochs 3: must be between 1 and --epochs - 1 (2)"),
    (["--swa-epochs", "1", "--ema", "0.99"], "--swa-epochs and --ema both average the weights"),
])
def test_bad_swa_options_are_one_line(data, tmp_path, extra, message):
    """(--swa-lr-factor 0 is argparse's own refusal now: tests/hardening/test_train_options.py.)"""
    train, _ = data
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        from trainer.options import get_args_parser
        from trainer.train import resolve_args

        resolve_args(get_args_parser().parse_args(["--train", str(train), "--out", str(tmp_path / "r"),
                                                   "--epochs", "3", *extra]))
