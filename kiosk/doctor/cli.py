"""``checkout doctor [--config FILE] [--camera URI] [--scale URI] … [--timeout S] [--json]``.

Reads the kiosk's settings exactly as ``checkout kiosk`` does (the same override options, the same
:func:`kiosk.config.config_from_args`), runs :data:`kiosk.doctor.CHECKS` and prints one line per check::

    OK   camera  camera:0: 1280x720 frame in 0.4 s
    FAIL scale   serial:/dev/ttyUSB0?protocol=mt-sics: no weight (mt-sics: no answer within 0.5 s) -> check …

Exit status 0 when nothing FAILs (warnings allowed), 1 otherwise; never a traceback. The systemd unit
(``assets/deploy/checkout-kiosk.service``) runs it as ``ExecStartPre``, so a till that is not ready does not open;
when stdout is the journal the lines carry sd-daemon priorities (FAIL ``<3>``, WARN ``<4>``, OK ``<6>``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys

from kiosk.subcommands import bounded

log = logging.getLogger("kiosk.doctor")

#: options of ``checkout kiosk`` that name a part the doctor checks: (flag, dest, metavar, help)
_OVERRIDES = (
    ("--camera", "camera", "URI", "camera:0, file:PATH, folder:PATH"),
    ("--scale", "scale", "URI", "serial:PORT?protocol=…, sim:, script:FILE"),
    ("--bundle", "bundle", "DIR", "model bundle directory"),
    ("--catalog", "catalog", "DB", "SKU catalog database"),
    ("--store", "store", "DB", "the kiosk's sales database"),
    ("--captures", "captures", "DIR", "where placement images are kept"),
    ("--model-state", "cfg_model_state", "DIR", "signed-bundle store whose active model is checked"),
    ("--trusted-keys", "cfg_trusted_keys", "PATH", "trusted public keys: directory of *.pub or one .pub file"),
)


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("doctor", help="check camera, scale, bundle, catalog, disk and clock before opening",
                       description="One line per check (OK/WARN/FAIL, what was found, what to do); exit 1 when "
                                   "any check fails. Options override the --config file, as for `checkout kiosk`.")
    p.add_argument("--config", metavar="FILE", help="kiosk settings (TOML), e.g. /etc/checkout/kiosk.toml")
    for flag, dest, metavar, text in _OVERRIDES:
        p.add_argument(flag, dest=dest, metavar=metavar, help=text)
    p.add_argument("--timeout", metavar="SECONDS", type=bounded(float, above=0, high=86400), default=10.0,
                   help="longest wait for the camera's frame and the scale's reading (default 10)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.set_defaults(func=cmd_doctor, backend=None, device=None, threads=None, kiosk_id=None)
    return p


def _load_config(args: argparse.Namespace):
    """``(config, result)``: the config and an OK line, or ``(None, FAIL line)`` when it cannot be read."""
    from kiosk.config import config_from_args
    from kiosk.doctor import FAIL, OK, CheckResult
    from kiosk.doctor.core import describe_error

    try:
        config = config_from_args(args)
    except Exception as exc:  # a bad file is a FAIL line like any other, not exit 2
        return None, CheckResult(FAIL, "config", describe_error(exc),
                                 f"fix {args.config or 'the options'} (every setting: assets/deploy/kiosk.toml)")
    source = args.config or "no --config: built-in defaults and the options given"
    return config, CheckResult(OK, "config", source)


def _setup_logs(config, args: argparse.Namespace):
    """Logging as the kiosk has it; a log file that cannot be opened is a FAIL line (the kiosk would not start)."""
    from kiosk.doctor import FAIL, CheckResult
    from kiosk.errors import UserError
    from kiosk.logs import setup_logging

    try:
        setup_logging(config, verbose=getattr(args, "verbose", 0))
        return None
    except UserError as exc:
        setup_logging(dataclasses.replace(config, log_file=""), verbose=getattr(args, "verbose", 0))
        return CheckResult(FAIL, "logs", str(exc), "create the directory and give it to the kiosk user, or change "
                                                   f"`log_file = ...` in {args.config or 'the --config file'}")


def print_results(results, *, as_json: bool, out=None) -> None:
    """One line per result (with its journal priority when ``out`` is the journal), or one JSON object; secrets
    an error message may quote (a malformed PIN hash, a URL password) are redacted as in the logs."""
    from kiosk.logs import journal_prefix, redact, under_journal

    out = sys.stdout if out is None else out
    if as_json:
        ok = not any(r.status == "FAIL" for r in results)
        checks = [{k: redact(v) for k, v in r.to_dict().items()} for r in results]
        print(json.dumps({"ok": ok, "checks": checks}, ensure_ascii=False), file=out)
    else:
        levels = {"OK": logging.INFO, "WARN": logging.WARNING, "FAIL": logging.ERROR}
        journal = under_journal(out)
        for r in results:
            print((journal_prefix(levels[r.status]) if journal else "") + redact(r.line()), file=out)
    out.flush()


def cmd_doctor(args: argparse.Namespace) -> int:
    from kiosk.doctor import Context, exit_status, run_doctor
    from kiosk.errors import UserError

    if not args.timeout > 0:
        raise UserError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    config, first = _load_config(args)
    results = [first]
    if config is not None:
        logs = _setup_logs(config, args)
        results += [logs] if logs else []
        results += run_doctor(Context(config, config_file=args.config or "", timeout_s=args.timeout))
    print_results(results, as_json=args.json)
    status = exit_status(results)
    failed = [r.name for r in results if r.status == "FAIL"]
    log.info("doctor: %s", f"FAIL ({', '.join(failed)})" if failed else "ready")
    return status
