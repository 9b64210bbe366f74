"""``checkout report quality|taught|takings``, ``checkout bench drift``, ``checkout audit collect|enroll`` and
``checkout headoffice serve|user`` (head office; heavy imports inside the handlers)."""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from kiosk.errors import UserError
from kiosk.inputfiles import KB, read_bounded
from kiosk.subcommands import bounded

MIN_SECRET = 32


def _secret(path: Path) -> str:
    """The session secret in ``path`` (one line of text, at least :data:`MIN_SECRET` characters: anyone who can
    guess it can sign a session cookie)."""
    try:
        secret = read_bounded(path, 64 * KB, "a secret file", text=True).decode("utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the secret ({exc})") from None
    if len(secret) < MIN_SECRET:
        raise UserError(f"{path}: the session secret has {len(secret)} characters, at least {MIN_SECRET} are needed "
                        "(e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)")
    return secret


def _check_sources(args) -> None:
    """What the dashboard reads, checked before it serves (each in one line), rather than a 500 on every page."""
    from trainer.fleet.location import HeadOffice
    from trainer.headoffice.audit_status import load_keys

    HeadOffice(args.src)
    load_keys(args.keys)
    if args.catalog:
        from trainer.data.check import load_catalog_skus

        load_catalog_skus(args.catalog)
    if args.feedback:
        from trainer.fleet.labels import read_labels, read_unlabelled

        read_unlabelled(args.feedback)
        read_labels(args.feedback)


def register(sub, groups) -> None:
    from kiosk.subcommands import group

    report = group(sub, groups, "report", "reports over what the stores sent")
    p = report.add_parser("quality", help="recognition quality per SKU and store, with drift alarms (table, --json, "
                                          "--charts)")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to (directory or s3://…)")
    p.add_argument("--since", metavar="DATE", help="only placements from this date (YYYY-MM-DD or ISO time) on")
    p.add_argument("--store", action="append", metavar="STORE_ID", help="only this store (repeatable)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--charts", type=Path, metavar="DIR", help="also write PNG charts there")
    p.add_argument("--baseline", type=bounded(int, 1, 10**6), default=100,
                   help="placements that make each SKU's baseline (100)")
    p.add_argument("--threshold", type=bounded(float, above=0, high=10**6), default=10.0,
                   help="drift alarm threshold, the change-point score (10; higher: fewer alarms)")
    p.set_defaults(func=_quality)
    p = report.add_parser("taught", help="the products staff taught at the kiosks: where, how many photos, whether a "
                                         "published release knows them yet")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to (directory or s3://…)")
    p.add_argument("--channel", metavar="DIR", help="the update channel: which groups' release knows each SKU")
    p.add_argument("--catalog", type=Path, metavar="DB", help="head office's catalog: which taught SKUs it lacks")
    p.add_argument("--new-products", type=Path, metavar="FILE",
                   help="write the taught products the catalog lacks as a catalog CSV (checkout catalog import FILE)")
    p.add_argument("--force", action="store_true", help="replace the --new-products file when it is there (never a "
                                                         "database or a key)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=_taught)
    p = report.add_parser("takings", help="each store's takings per day across its kiosks (sales, payments, GST per "
                                          "rate, staff changes), from the kiosks' verified audit logs")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to (directory or s3://…)")
    p.add_argument("--keys", required=True, metavar="DIR", help="enrolled kiosk audit keys: DIR/<store>/<kiosk>.key")
    p.add_argument("--date", metavar="YYYY-MM-DD", help="one day (the store's local date)")
    p.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD", help="from this day on")
    p.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD", help="up to this day")
    p.add_argument("--store", action="append", metavar="STORE_ID", help="only this store (repeatable)")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write one row per store, day and kiosk there")
    p.add_argument("--force", action="store_true", help="replace the --csv file when it is there (never a database "
                                                         "or a key)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.set_defaults(func=_takings)

    bench = group(sub, groups, "bench", "benchmarks")
    p = bench.add_parser("drift", help="the drift alarm on seeded noise and planted rises: false alarms, delays")
    p.add_argument("--histories", type=bounded(int, 1, 10**6), default=1000)
    p.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=17)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bench_drift)

    _register_audit(group(sub, groups, "audit", "the tamper-evident audit log: verify, show, collect at head office"))
    _register_headoffice(group(sub, groups, "headoffice", "the head-office dashboard and its users"))


def _register_audit(audit) -> None:
    p = audit.add_parser("collect", help="head office: check every kiosk's audit batches (forged ones refused)")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to")
    p.add_argument("--keys", metavar="DIR", help="enrolled kiosk keys: DIR/<store>/<kiosk>.key")
    p.add_argument("--out", type=Path, metavar="DIR", help="write audit-status.json and append refusals to "
                                                           "audit-refusals.jsonl there")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_audit_collect)
    p = audit.add_parser("enroll", help="head office: register a kiosk's audit key (`checkout audit key --export`)")
    p.add_argument("store_id", metavar="STORE_ID")
    p.add_argument("kiosk_id", metavar="KIOSK_ID")
    p.add_argument("--keys", required=True, metavar="DIR")
    p.add_argument("--key-file", metavar="FILE", help="the exported key (default: one line on standard input)")
    p.set_defaults(func=_audit_enroll)


def _register_headoffice(ho) -> None:
    p = ho.add_parser("serve", help="the dashboard: fleet, quality and drift alarms, roll-out, audit (sign-in needed)")
    p.add_argument("src", metavar="SRC", help="head-office location the kiosks upload to")
    p.add_argument("--users", type=Path, required=True, help="users file (`checkout headoffice user add`)")
    p.add_argument("--keys", metavar="DIR", help="enrolled kiosk audit keys")
    p.add_argument("--channel", metavar="DIR", help="the update channel head office publishes to")
    p.add_argument("--catalog", metavar="DB", help="head office's catalog (the Taught page marks what it lacks; the "
                                                   "Label page offers and checks its SKUs)")
    p.add_argument("--feedback", metavar="DIR", help="a `checkout feedback collect --out` folder: the Label page, "
                                                     "where head office labels what the stores could not "
                                                     "(DIR/labels.csv)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=bounded(int, 0, 65535), default=8080)
    p.add_argument("--secret-file", type=Path, help="session key file (default: a new key each start)")
    p.add_argument("--https-only", action="store_true", help="session cookie only over HTTPS (behind a TLS proxy)")
    p.add_argument("--request-timeout", type=bounded(float, above=0, high=600), default=10.0, metavar="SECONDS",
                   help="a connection's whole request (headers and body) must arrive within this, or it is closed "
                        "(10)")
    p.add_argument("--max-connections", type=bounded(int, 1, 65536), default=256, metavar="N",
                   help="connections open at once; more are answered 503 (256)")
    p.add_argument("--per-client", type=bounded(int, 1, 65536), default=32, metavar="N",
                   help="connections open at once from one address (32; behind a TLS proxy: the proxy's limit)")
    p.add_argument("--idle-timeout", type=bounded(float, above=0, high=480), default=30.0, metavar="MINUTES",
                   help="sign a user out after this long without a request (30; a session never lasts more than 8 "
                        "hours, and a restart signs everyone out)")
    p.set_defaults(func=_serve)
    user = ho.add_parser("user", help="head-office users").add_subparsers(dest="user_command", required=True)
    p = user.add_parser("add", help="add a user or set a new password")
    p.add_argument("name")
    p.add_argument("--users", type=Path, required=True)
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.set_defaults(func=_user_add)
    for name, fn in (("remove", _user_remove), ("list", _user_list)):
        p = user.add_parser(name)
        if name == "remove":
            p.add_argument("name")
        p.add_argument("--users", type=Path, required=True)
        p.set_defaults(func=fn)


def _quality(args) -> int:
    from trainer.fleet.collect import parse_since
    from trainer.headoffice.drift import DriftSettings
    from trainer.headoffice.quality import format_report, quality_report

    settings = DriftSettings(baseline=args.baseline, threshold=args.threshold)
    report = quality_report(args.src, since=parse_since(args.since), stores=args.store, settings=settings)
    doc = report.to_dict()
    if args.charts:
        from trainer.headoffice.charts import write_charts

        doc["charts"] = [str(p) for p in write_charts(doc, args.charts)]
    if args.json:
        for s in doc["skus"]:
            s["drift"].pop("path", None)
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(format_report(report) + "".join(f"\nchart: {p}" for p in doc.get("charts", [])))
    return 0


def _taught(args) -> int:
    from kiosk.bundle_format.atomic import check_output
    from trainer.headoffice.taught import format_taught, taught_report

    if args.new_products is not None:
        check_output(args.new_products, force=args.force, option="--new-products")
    report = taught_report(args.src, args.channel, args.catalog)
    print(json.dumps(report.to_dict(), indent=2, sort_keys=True) if args.json else format_taught(report))
    if args.new_products:
        _write_new_products(args.new_products, report)
    return 0


def _takings(args) -> int:
    from kiosk.bundle_format.atomic import check_output, shown
    from trainer.headoffice.takings import format_takings, parse_days, takings_report, write_csv

    first, last = parse_days(args.date, args.date_from, args.date_to)
    if args.csv is not None:  # before the uploads are read: never a database or a key replaced by the CSV
        check_output(args.csv, force=args.force, option="--csv")
    report = takings_report(args.src, args.keys, first=first, last=last, stores=args.store)
    rows = write_csv(args.csv, report) if args.csv else 0
    print(json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) if args.json
          else format_takings(report))
    if args.csv:
        print(f"wrote {shown(args.csv)}: {rows} row(s), one per store, day and kiosk", file=sys.stderr)
    if not report.clean:
        print("not all figures verified: a kiosk unverified or a sale discrepant (listed above)", file=sys.stderr)
    return 0 if report.clean else 1


def _write_new_products(path: Path, report) -> None:
    import csv
    import io

    from catalog.csv_io import formula_safe
    from catalog.model import CSV_COLUMNS
    from kiosk.bundle_format.atomic import atomic_write
    from trainer.headoffice.taught import new_products

    rows, problems = new_products(report)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:  # `catalog import` restores a neutralised cell (a store's product name "=cmd|…")
        writer.writerow(formula_safe(row.get(c, "") for c in CSV_COLUMNS))
    try:
        atomic_write(path, buf.getvalue().encode("utf-8"))
    except OSError as exc:
        raise UserError(f"{path}: cannot write the new products ({exc.strerror or exc})") from None
    for line in problems:
        print(f"  left out {line}", file=sys.stderr)
    print(f"wrote {path}: {len(rows)} new product(s) for `checkout catalog import {path} --db DB`"
          + (f"; {len(problems)} left out" if problems else ""), file=sys.stderr)


def _bench_drift(args) -> int:
    from trainer.headoffice.drift import simulate

    result = simulate(args.histories, args.seed)
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(f"drift alarm on {result['histories']} seeded noise histories: {result['false_alarms']} false alarm(s); "
              f"planted rises caught {result['detected']}/{result['planted']}, median {result['median_delay']} "
              f"placements after the rise (90 %: {result['p90_delay']}); seed {result['seed']}, threshold "
              f"{result['threshold']:g}, baseline {result['baseline']}")
        for band in result["bands"]:  # the low base rates (the best-recognised SKUs) are the hard ones
            print(f"  base rate {band['rates']}: rises caught {band['detected']}/{band['histories']}, median "
                  f"{band['median_delay']} placements (90 %: {band['p90_delay']})")
    return 0


def _audit_collect(args) -> int:
    from kiosk.exchange.display import display_lines
    from trainer.headoffice.audit_status import collect_audit

    result = collect_audit(args.src, args.keys, args.out)
    print(json.dumps(result.to_dict(), indent=2) if args.json else display_lines(result.lines()))
    return 0 if all(k.status == "ok" for k in result.kiosks) and not result.refusals else 1


def _audit_enroll(args) -> int:
    from trainer.headoffice.audit_status import enroll_key, read_key_text

    text = read_key_text(args.key_file) if args.key_file else sys.stdin.readline()
    path = enroll_key(args.keys, args.store_id, args.kiosk_id, text)
    print(f"enrolled {args.store_id}/{args.kiosk_id}: {path}")
    return 0


def _password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("the same again: ") != first:
        raise UserError("the two passwords differ: nothing changed")
    return first


def _user_add(args) -> int:
    from trainer.headoffice.users import Users

    Users(args.users).add(args.name, _password(args.password_stdin))
    print(f"{args.users}: user {args.name} set")
    return 0


def _user_remove(args) -> int:
    from trainer.headoffice.users import Users

    Users(args.users).remove(args.name)
    print(f"{args.users}: user {args.name} removed")
    return 0


def _user_list(args) -> int:
    from trainer.headoffice.users import Users

    print("\n".join(Users(args.users).names()) or "(no users)")
    return 0


def _serve(args) -> int:
    from trainer.headoffice.dashboard import DashboardData
    from trainer.headoffice.serving import Limits, fit_to_open_files, server
    from trainer.headoffice.users import Users
    from trainer.headoffice.web import create_app

    users = Users(args.users)
    if not users.names():
        raise UserError(f"{args.users}: no users yet: `checkout headoffice user add NAME --users {args.users}`")
    secret = _secret(args.secret_file) if args.secret_file else None
    _check_sources(args)
    data = DashboardData(args.src, args.keys, args.channel, args.catalog, feedback=args.feedback)
    app = create_app(data, users, secret=secret, https_only=args.https_only, idle_timeout_s=60 * args.idle_timeout)
    limits = fit_to_open_files(Limits(request_timeout_s=args.request_timeout, max_connections=args.max_connections,
                                      per_client=args.per_client))
    sock = _listen(args.host, args.port)
    port = sock.getsockname()[1]
    warning = _plain_http_warning(sock.getsockname()[0], args.https_only)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    print(f"head-office dashboard on http://{args.host}:{port}/ (Ctrl-C stops it)", flush=True)
    server(app, limits).run(sockets=[sock])
    return 0


def _plain_http_warning(address: str, https_only: bool) -> str | None:
    """The warning for serving plain HTTP on ``address`` (the bound one) to other machines, None on loopback or
    with ``--https-only`` (behind a TLS proxy)."""
    import ipaddress

    try:
        loopback = ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        loopback = False
    if loopback or https_only:
        return None
    return (f"WARNING: plain HTTP on {address}, reachable from other machines: head-office passwords and session "
            "cookies cross the network readable by anyone on the way. Serve on 127.0.0.1 behind a TLS proxy and pass "
            "--https-only.")


def _listen(host: str, port: int):
    """The dashboard's listening socket, bound before it says where it serves (a port in use is one line)."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family, backlog=128)
    except OSError as exc:
        raise UserError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None
