"""``checkout kiosk --windowed | --fullscreen [--size WxH]``: what the window is opened as."""

import pytest

from kiosk.cli import build_parser


def parse(*argv):
    return build_parser().parse_args(["kiosk", *argv])


def test_the_flags_parse():
    assert parse().fullscreen is None and parse().size is None
    assert parse("--windowed").fullscreen is False and parse("--fullscreen").fullscreen is True
    assert parse("--size", "1080x1920").size == (1080, 1920)
    assert parse("--fullscreen", "--size", "1024X768").size == (1024, 768)


@pytest.mark.parametrize("argv", [["--size", "1024"], ["--size", "10x10"], ["--size", "big"],
                                  ["--windowed", "--fullscreen"]])
def test_bad_flags_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse(*argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and ("WIDTHxHEIGHT" in err or "not allowed with" in err), err


@pytest.mark.parametrize("argv, want", [([], (None, None)), (["--windowed"], (False, None)),
                                        (["--size", "800x600"], (None, (800, 600))),
                                        (["--fullscreen", "--size", "1920x1080"], (True, (1920, 1080)))])
def test_the_window_is_opened_as_asked(monkeypatch, argv, want):
    import kiosk.commands as commands
    import kiosk.services.checkout as checkout
    import kiosk.ui.app as app

    seen = {}

    class Service:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

        def start(self):
            pass

    monkeypatch.setattr(checkout.CheckoutService, "from_config", classmethod(lambda cls, config: Service()))
    monkeypatch.setattr(app, "run_app", lambda service, config, fullscreen=None, size=None: seen.update(
        fullscreen=fullscreen, size=size) or 0)
    args = parse(*argv)
    assert commands.run_window(None, fullscreen=args.fullscreen, size=args.size) == 0
    assert (seen["fullscreen"], seen["size"]) == want


def test_run_app_windowed_or_full_screen(monkeypatch, qapp):
    """run_app's rule: full screen unless asked otherwise — a size, --windowed or KIOSK_WINDOWED=1."""
    from PySide6.QtWidgets import QApplication, QMainWindow

    import kiosk.ui.app as app
    from tests.ui.fakes import FakeCheckoutService

    shown = []
    monkeypatch.setattr(QMainWindow, "showFullScreen", lambda self: shown.append("full"))
    monkeypatch.setattr(QMainWindow, "show", lambda self: shown.append("window"))
    monkeypatch.setattr(QApplication, "exec", lambda *a: 0)
    cases = [({}, "", "full"), ({"fullscreen": False}, "", "window"), ({"size": (800, 600)}, "", "window"),
             ({}, "1", "window"), ({"fullscreen": True, "size": (800, 600)}, "", "full")]
    for kwargs, env, want in cases:
        monkeypatch.setenv("KIOSK_WINDOWED", env)
        assert app.run_app(FakeCheckoutService(), None, **kwargs) == 0
        assert shown[-1] == want, (kwargs, env)
