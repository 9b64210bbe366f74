"""A training run's folder, read and written one way by every command that touches it.

``checkout train`` (and ``--resume``, ``--incremental``), ``bundle export`` and ``evaluate RUN`` all read a run's
``args.json``, ``labels.json``, ``best.json``, ``best.safetensors`` and ``metrics.jsonl`` through here, so a damaged
or mismatched file is one line naming it, never a traceback:

* :func:`read_json` — a JSON file, or ``UserError("FILE: not valid JSON (…)")``;
* :func:`read_run` — the finished run (:class:`RunFiles`), its labels checked against what ``best.json`` records of
  the labels its weights were trained on (:func:`labels_sha256`);
* :func:`load_state` / :func:`load_into` — a safetensors file, and it loaded into a network, or one line naming it;
* :func:`append_record` / :func:`read_records` — ``metrics.jsonl``: a record always starts on a fresh line, and a
  damaged line is skipped with a warning naming it;
* :func:`run_lock` — the run folder's lock (one writer at a time), :func:`holds_run` — whether a folder holds a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kiosk.errors import UserError
from kiosk.inputfiles import nesting_problem

#: files whose presence says a folder already holds (part of) a training run
#: (a folder with only ``labels.json``, ``quarantine.json`` and ``.run.lock``, say, is a training that stopped before it
#: recorded its options: not a run)
RUN_MARKERS = ("args.json", "best.json", "best.safetensors", "checkpoint.pt", "metrics.jsonl")
LOCK_FILE = ".run.lock"
METRICS = "metrics.jsonl"


def _why(exc: BaseException) -> str:
    """An exception as one short line."""
    text = " ".join(str(exc).split())
    text = text if len(text) <= 160 else text[:157] + "…"
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def labels_sha256(labels: list[str]) -> str:
    """The digest ``best.json`` and the checkpoint record of the label list the weights were trained on."""
    return hashlib.sha256(json.dumps(list(labels)).encode()).hexdigest()


def read_json(path: Path, kind: type = dict):
    """``path`` parsed as JSON of type ``kind``, or one line naming the file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested 100,000 deep
        raise UserError(f"{path}: not valid JSON ({_why(exc)}) — damaged or cut short?") from None
    deep = nesting_problem(data)  # NaN is let through: best.json held it before it was strict
    if deep:
        raise UserError(f"{path}: not valid JSON ({deep}) — damaged or cut short?")
    if not isinstance(data, kind):
        raise UserError(f"{path}: not a JSON {kind.__name__}")
    return data


def holds_run(folder: Path) -> str | None:
    """The first run file in ``folder`` (so: it holds a run), or None."""
    for name in RUN_MARKERS:
        if (Path(folder) / name).exists():
            return name
    return None


_held: dict[str, list] = {}  # resolved lock path -> [fd, depth]: re-entrant within this process


@contextlib.contextmanager
def run_lock(run: Path) -> Iterator[None]:
    """Hold ``RUN/.run.lock`` (an ``flock``) while writing the run; a second writer is refused at once.

    Re-entrant in one process (``train --incremental`` holds it around the training it starts); released when the
    process ends, however it ends. A failure before the run recorded its options (``args.json``) removes, while the lock
    is still held, what the outermost holder created in ``run`` (:func:`_undo`)."""
    import fcntl

    run = Path(run)
    before = _entries(run)
    run.mkdir(parents=True, exist_ok=True)
    key = str((run / LOCK_FILE).resolve())
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    fd = os.open(key, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise UserError(f"{run}: another training is writing this run folder now; wait for it or choose "
                        "another --out") from None
    _held[key] = [fd, 1]
    try:
        yield
    except Exception:
        _undo(run, before)  # still held: nobody else writes here while it is swept
        raise
    finally:
        del _held[key]
        os.close(fd)


#: files that make a failed training a run, kept as it is (it recorded its options and started: its logs say why it
#: stopped; or it resumes from them, or they are its result)
KEPT_ON_FAILURE = ("args.json", "checkpoint.pt", "best.safetensors")


def _entries(run: Path) -> set[str] | None:
    """The names in ``run`` (None: no such folder)."""
    try:
        return set(os.listdir(run))
    except FileNotFoundError:
        return None


def _undo(run: Path, before: set[str] | None) -> None:
    """A training refused before it started (weights that are not the architecture's, a bad base of
    ``--incremental``, …) leaves nothing behind: what it created in ``run`` is removed (never what was there before),
    and ``run`` itself when it created it, so the corrected command is not refused as a folder holding a run."""
    import shutil

    if any((run / name).exists() for name in KEPT_ON_FAILURE):
        return
    new = (_entries(run) or set()) - (before or set())
    for name in sorted(new):
        path = run / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if before is None:
        with contextlib.suppress(OSError):
            run.rmdir()


# ----------------------------------------------------------------------------- metrics.jsonl

def append_record(path: Path, record: dict) -> None:
    """Append one JSON line, starting a fresh line when the file ends inside one (a writer killed mid-line)."""
    path = Path(path)
    line = json.dumps(record) + "\n"
    with open(path, "ab+") as fh:
        fh.seek(0, os.SEEK_END)
        if fh.tell() > 0:
            fh.seek(-1, os.SEEK_END)
            if fh.read(1) != b"\n":
                line = "\n" + line
        fh.write(line.encode())


def read_records(path: Path) -> list[dict]:
    """The records of a ``metrics.jsonl``; a line that is not a JSON object is skipped with a warning naming it."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for n, line in enumerate(path.read_bytes().decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: a line nested 100,000 deep
            record = None
        if not isinstance(record, dict):
            print(f"warning: {path} line {n}: not a JSON record (cut short?); skipped", file=sys.stderr)
            continue
        out.append(record)
    return out


# ----------------------------------------------------------------------------- weights

def load_state(path: Path) -> dict:
    """A safetensors file's tensors, or one line naming the file."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: missing")
    try:
        return load_file(str(path))
    except Exception as exc:  # SafetensorError, a header that is not JSON, a pickle under this name …
        raise UserError(f"{path}: not a readable safetensors file ({_why(exc)})") from None


def load_into(model, path: Path, what: str):
    """``path``'s weights loaded into ``model`` (``what``: the network it was built as, for the message)."""
    state = load_state(path)
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {tuple(state[k].shape)} ≠ {tuple(own[k].shape)}" for k in own
              if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or shapes:
        detail = "; ".join(f"{label}: {', '.join(keys[:2])}{' …' if len(keys) > 2 else ''}"
                           for label, keys in (("wrong shape", shapes), ("missing", missing),
                                               ("unexpected", unexpected)) if keys)
        raise UserError(f"{path}: these weights do not fit {what} ({detail})")
    model.load_state_dict(state)
    return model


# ----------------------------------------------------------------------------- the finished run

@dataclass(frozen=True)
class RunFiles:
    """A finished run's files, read and checked against each other."""

    root: Path
    args: dict
    labels: list[str]
    groups: dict
    best: dict
    spec: object  # kiosk.bundle_format.preprocess.PreprocessSpec

    @property
    def weights(self) -> Path:
        return self.root / "best.safetensors"

    def load_model(self):
        """The run's network with its best weights, in eval mode."""
        from trainer.models import build_model

        arch = self.best["arch"]
        try:
            model = build_model(arch, len(self.labels), head=_head_of_file(self.weights))
        except (KeyError, ValueError, UserError) as exc:
            raise UserError(f"{self.root / 'best.json'}: arch {arch!r}: {_why(exc)}") from None
        return load_into(model, self.weights, f"a {len(self.labels)}-class {arch} (best.json's arch, labels.json's "
                                              "labels)").eval()


def _labels(run: Path) -> tuple[list[str], dict]:
    doc = read_json(run / "labels.json")
    labels, groups = doc.get("labels"), doc.get("groups", {})
    if (not isinstance(labels, list) or not labels or not all(isinstance(s, str) for s in labels)
            or len(set(labels)) != len(labels) or not isinstance(groups, dict)):
        raise UserError(f"{run / 'labels.json'}: not a list of distinct SKU labels (damaged?)")
    return labels, groups


def read_run(run: Path, need_args: bool = True) -> RunFiles:
    """The finished run in ``run``, or one line naming what is missing, damaged or mismatched."""
    from kiosk.bundle_format.preprocess import PreprocessSpec

    run = Path(run)
    names = ("labels.json", "best.json", "best.safetensors") + (("args.json",) if need_args else ())
    for name in names:
        if not (run / name).is_file():
            raise UserError(f"{run / name}: missing — is {run} a finished training run?")
    labels, groups = _labels(run)
    best = read_json(run / "best.json")
    if not isinstance(best.get("arch"), str):
        raise UserError(f"{run / 'best.json'}: no architecture (arch) recorded (damaged?)")
    try:
        spec = PreprocessSpec.from_json(best["preprocess"])
    except Exception as exc:
        raise UserError(f"{run / 'best.json'}: preprocess: {_why(exc)}") from None
    digest = best.get("labels_sha256")
    if digest is not None and digest != labels_sha256(labels):
        raise UserError(f"{run / 'labels.json'}: its {len(labels)} labels are not those best.safetensors was trained "
                        f"on ({best.get('num_classes', '?')} classes, best.json); the folder mixes two trainings — "
                        "train again into a new --out")
    args = read_json(run / "args.json") if need_args else {}
    if args.get("arch") not in (None, best["arch"]):
        raise UserError(f"{run / 'best.json'}: arch {best['arch']!r}, but the run trained a {args['arch']!r} "
                        "(args.json); damaged or mixed?")
    return RunFiles(run, args, labels, groups, best, spec)


def _head_of_file(path: Path) -> str:
    """The head a run's weights file holds (``linear`` when it cannot be read: loading it then says why)."""
    from trainer.models import head_in_file

    try:
        return head_in_file(path)
    except Exception:
        return "linear"
