"""Every leaf `checkout` command, each required value and each path option set to a bad path -- missing, a folder,
random bytes, an empty file, a broken CSV, broken JSON -- exits 0/1/2 without a traceback. Each case is its own
process (a crash must not hide the next); two at a time, ~15 minutes on 2 cores, so `slow`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from kiosk.cli import build_parser

#: commands that run for long with no arguments at all (a window, a benchmark, a server, the demo build)
LONG = {("kiosk",), ("bench", "train"), ("bench", "allocator"), ("bundle", "demo"), ("headoffice", "serve")}
#: option names that take a path
HINTS = ("store", "db", "config", "catalog", "key", "bundle", "out", "dir", "file", "manifest", "path", "weights",
         "cache", "gallery", "images", "data", "train", "val", "from", "add", "calibration", "root")


def _bad_paths(root: Path) -> dict[str, str]:
    (root / "garbage.bin").write_bytes(os.urandom(3000))
    (root / "empty").write_bytes(b"")
    (root / "a-folder").mkdir()
    (root / "broken.csv").write_text('a,b,c\n1,2\n"unterminated\n')
    (root / "broken.json").write_text("{not json")
    return {"missing": str(root / "nope" / "x"), "folder": str(root / "a-folder"),
            "random bytes": str(root / "garbage.bin"), "empty": str(root / "empty"),
            "broken csv": str(root / "broken.csv"), "broken json": str(root / "broken.json")}


def _leaves(parser: argparse.ArgumentParser, words: list[str]):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _leaves(sub, [*words, name])
            return
    yield words, parser


def _required(parser: argparse.ArgumentParser, bad: str) -> list[str]:
    argv = []
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction) or (a.option_strings and not a.required):
            continue
        values = [next(iter(a.choices))] if a.choices else [bad] * (a.nargs if isinstance(a.nargs, int) else 1)
        argv += [*a.option_strings[:1], *values]
    return argv


def _path_options(parser: argparse.ArgumentParser) -> list[str]:
    return [a.option_strings[0] for a in parser._actions
            if a.option_strings and not a.required and a.nargs != 0 and not isinstance(a, argparse._HelpAction)
            and (a.type is Path or any(h in a.dest.lower() for h in HINTS))]


def _cases(bad_paths: dict[str, str]) -> list[list[str]]:
    cases = []
    for words, parser in _leaves(build_parser(), []):
        if tuple(words) in LONG:
            continue
        for bad in bad_paths.values():
            cases.append([*words, *_required(parser, bad)])
            cases += [[*words, option, bad, *_required(parser, bad)] for option in _path_options(parser)]
    return cases


@pytest.mark.slow
@pytest.mark.timeout(2400)  # the suite's 600 s is for one ordinary test
def test_no_bad_path_gives_a_traceback(tmp_path):
    cases = _cases(_bad_paths(tmp_path))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")

    def run(argv: list[str]) -> tuple[list[str], int | str, str]:
        try:
            done = subprocess.run([sys.executable, "-m", "kiosk.cli", *argv], capture_output=True, text=True,
                                  timeout=120, cwd=tmp_path / "a-folder", env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return argv, "timeout", ""
        return argv, done.returncode, done.stderr

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(run, cases))
    faults = [f"{rc}: checkout {' '.join(argv)}: {err.strip().splitlines()[-1][:200] if err.strip() else ''}"
              for argv, rc, err in outcomes if rc not in (0, 1, 2) or "Traceback" in err]
    by_rc = {rc: sum(1 for _, r, _ in outcomes if r == rc) for rc in {r for _, r, _ in outcomes}}
    print(f"\ncli sweep: {len(cases)} cases, exits {by_rc}, {len(faults)} tracebacks or odd exits")
    assert len(cases) > 500 and not faults, "\n".join(faults)
