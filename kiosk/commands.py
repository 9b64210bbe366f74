"""``checkout kiosk`` (the window, or headless) and ``checkout bench kiosk``.

``checkout kiosk [--config FILE] [--headless] [--camera URI] [--scale URI] [--bundle DIR] [--catalog DB]
[--store DB] …`` opens :class:`~kiosk.services.checkout.CheckoutService`. With ``--headless``, or when neither
``DISPLAY`` nor ``WAYLAND_DISPLAY`` is set, it replays the camera, takes the top-1 for every item, pays and
prints the bill (:mod:`kiosk.headless`). Otherwise it starts live mode (``service.start()``) and hands the
service to ``kiosk.ui.app.run_app(service, config) -> int`` (Qt, imported here, lazily); the service is
closed when the window returns. Options given on the command line override the config file.

``checkout kiosk`` is a plain subparser with options that also carries sub-subcommands other rooms add
(``checkout kiosk update|rollback|clock-reset|model-status`` from :mod:`kiosk.update_cli`,
:mod:`kiosk.rollback_cli`, :mod:`kiosk.clock_cli` and :mod:`kiosk.bundles.cli`): this module registers it
first and publishes its subparsers in ``groups["kiosk"]``.

Signed model bundles with updates (``docs/bundles.md``): ``--model-state DIR`` runs the active bundle of a
:class:`~kiosk.bundles.store.BundleStore` (``--bundle`` is installed into it, verified, when it is still empty);
``--channel URL --store-id ID [--store-group G] [--update-interval S] [--trusted-keys PATH]`` polls a channel
while the window runs and swaps a newly activated model in between two frames, cart untouched. The dests of
these options start with ``cfg_`` so they never collide with ``checkout kiosk update --channel/--store-id``.

``checkout kiosk --hash-pin`` reads a PIN from the terminal and prints the ``staff_pin_hash`` line for the
config file.

Logs go where :func:`kiosk.logs.setup_logging` sends them (the journal under systemd, ``log_file`` rotated).
``checkout doctor`` (:mod:`kiosk.doctor.cli`, registered here) checks the same settings before the kiosk opens.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from kiosk.errors import UserError
from kiosk.subcommands import bounded


def window_size(text: str) -> tuple[int, int]:
    """``--size 1024x768`` → ``(1024, 768)``; anything else is refused in one line."""
    width, sep, height = text.lower().partition("x")
    digits = sep and (width + height).isascii() and width.isdigit() and height.isdigit()
    if not (digits and 320 <= int(width) <= 8192 and 240 <= int(height) <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r} is not a window size WIDTHxHEIGHT in pixels, e.g. 1024x768")
    return int(width), int(height)


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import group

    p = sub.add_parser("kiosk", help="run the self-checkout kiosk (window; headless without a display)",
                       description="Run the kiosk. Options override the --config file.")
    p.add_argument("--config", metavar="FILE", help="kiosk settings (TOML; see kiosk/config.py)")
    p.add_argument("--headless", action="store_true",
                   help="no window: replay --camera, take the top-1 for every item, pay, print the bill")
    p.add_argument("--realtime", action="store_true", help="headless: replay at the source's fps, not flat out")
    p.add_argument("--camera", metavar="URI", help="camera:0, file:PATH, folder:PATH?fps=8&hold=8")
    p.add_argument("--scale", metavar="URI", help="serial:PORT?protocol=…, sim:, script:FILE")
    p.add_argument("--bundle", metavar="DIR", help="model bundle directory")
    p.add_argument("--backend", choices=("onnxruntime", "torch", "tensorrt", "openvino"), help="inference backend")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8"),
                   help="which model of the bundle runs: auto = its int8 model where the CPU has VNNI (default)")
    p.add_argument("--device", help="inference device (cpu, cuda …)")
    p.add_argument("--threads", type=bounded(int, 0, 1024), help="inference threads (0: backend default)")
    p.add_argument("--catalog", metavar="DB", help="SKU catalog database")
    p.add_argument("--store", metavar="DB", help="the kiosk's sales database (open cart, sales)")
    p.add_argument("--captures", metavar="DIR", help="where placement images are kept")
    p.add_argument("--kiosk-id", help="kiosk id (receipt number prefix)")
    p.add_argument("--model-state", metavar="DIR", dest="cfg_model_state",
                   help="signed-bundle store: run its active bundle (and install --bundle into it when empty)")
    p.add_argument("--trusted-keys", metavar="PATH", dest="cfg_trusted_keys",
                   help="trusted public keys: directory of *.pub or one .pub file (default assets/keys)")
    p.add_argument("--channel", metavar="URL", dest="cfg_channel",
                   help="update channel polled while the kiosk runs: http(s)://…, file:/… or a directory")
    p.add_argument("--update-interval",
                   metavar="SECONDS", type=bounded(float, above=0, high=7 * 86400), dest="cfg_update_interval_s",
                   help="seconds between update checks (default 900)")
    p.add_argument("--store-id", metavar="ID", dest="cfg_store_id", help="this store's id (staged roll-outs)")
    p.add_argument("--store-group", metavar="GROUP", dest="cfg_store_group",
                   help="store group followed in the channel index (default: default)")
    p.add_argument("--hash-pin", action="store_true", help="read a staff PIN and print its staff_pin_hash line")
    _screen_options(p)
    p.set_defaults(func=cmd_kiosk)
    groups["kiosk"] = p.add_subparsers(dest="kiosk_command", metavar="COMMAND", required=False)

    from kiosk.doctor.cli import register as register_doctor

    register_doctor(sub)  # `checkout doctor`: the same settings, checked before the kiosk opens
    _register_benches(group(sub, groups, "bench", "benchmarks"))


def _screen_options(p) -> None:
    screen = p.add_mutually_exclusive_group()
    screen.add_argument("--fullscreen", dest="fullscreen", action="store_const", const=True,
                        help="the window fills the screen (the default on a till; a kiosk has nothing else to show)")
    screen.add_argument("--windowed", dest="fullscreen", action="store_const", const=False,
                        help="an ordinary window (a desktop, trying the kiosk out); KIOSK_WINDOWED=1 does the same")
    p.add_argument("--size", metavar="WxH", type=window_size,
                   help="window size, e.g. 1024x768 or 1080x1920 (portrait); windowed unless --fullscreen")


def _register_benches(bench) -> None:
    b = bench.add_parser("kiosk", help="per-stage recognition latency and the cost over bare ONNX Runtime")
    b.add_argument("--bundle", metavar="DIR", required=True, help="model bundle directory")
    b.add_argument("--camera", metavar="URI", default=None,
                   help="frames to use (default folder:assets/demo/camera?hold=1, looped)")
    b.add_argument("--frames", type=bounded(int, 1, 10**6), default=200,
                   help="frames measured (after warm-up); default 200")
    b.add_argument("--warmup", type=bounded(int, 0, 10**5), default=10, help="untimed frames first")
    b.add_argument("--threads", type=bounded(int, 0, 1024), default=0,
                   help="ORT intra-op threads for both paths (0: default)")
    b.add_argument("--precision", choices=("auto", "fp32", "bf16", "int8"), default="auto",
                   help="which model of the bundle the recogniser (and the bare session) runs; auto: as the kiosk")
    b.add_argument("--compare", nargs="+", metavar="BACKEND[:PRECISION]",
                   help="bench these recognisers on the same frames in one run instead, e.g. onnxruntime:fp32 "
                        "onnxruntime:int8 openvino:fp32 (ratios to the first)")
    b.add_argument("--gallery", metavar="DIR", default=None,
                   help="a kiosk's gallery folder: its taught products compete on every frame, as at that till (the "
                        "gallery fusion and the exemplar bank's product are timed in postprocess)")
    b.add_argument("--json", action="store_true", help="print the report as one JSON line")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_bench_kiosk)

    b = bench.add_parser("startup", help="fresh kiosk process to its window's first suggestion: time and memory")
    b.add_argument("--bundle", metavar="DIR", default="var/demo/bundle", help="model bundle (default: the demo's)")
    b.add_argument("--catalog", metavar="DB", default="var/demo/catalog.sqlite", help="catalog database")
    b.add_argument("--camera", metavar="URI", default=None, help="camera replay (default: the demo at 30 fps)")
    b.add_argument("--scale", metavar="URI", default="script:assets/demo/scale.txt")
    b.add_argument("--runs", type=bounded(int, 1, 1000), default=3, help="fresh processes measured (default 3)")
    b.add_argument("--timeout", type=bounded(float, above=0, high=86400), default=30.0,
                   help="seconds a run may take to show a suggestion")
    b.add_argument("--display", action="store_true", help="use the real display (default: offscreen Qt)")
    b.add_argument("--whole-replay", action="store_true",
                   help="keep each process running to the end of the replay before reading its peak memory")
    b.add_argument("--json", action="store_true", help="print the result as one JSON object")
    b.set_defaults(func=cmd_bench_startup)

    _register_counter_benches(bench)

    b = bench.add_parser("hardening", help="seeded property run: hostile catalog rows, receipt names and searches")
    b.add_argument("--cases", type=bounded(int, 1, 10**7), default=10_000,
                   help="generated inputs per property (default 10000)")
    b.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), default=14,
                   help="generator seed: the same seed gives the same run")
    b.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    b.set_defaults(func=cmd_bench_hardening)


def _register_counter_benches(bench) -> None:
    """``checkout bench barcodes`` and ``checkout bench weight`` (kiosk.bench_counter)."""
    b = bench.add_parser("barcodes", help="camera barcode decoders on random generated labels: read rate, wrong "
                                          "reads, time per frame")
    b.add_argument("--decoders", nargs="+", default=["zxing", "opencv", "zxing-then-opencv", "zxing+opencv"],
                   choices=["zxing", "opencv", "zxing-then-opencv", "zxing+opencv"],
                   help="decoders compared (default: all four; zxing+opencv is the kiosk's, zxing-then-opencv the "
                        "rule before confirmed reads)")
    b.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), nargs="+", default=[1], metavar="SEED",
                   help="label generator seed(s): the same seed draws the same labels (default 1)")
    b.add_argument("--frames", type=bounded(int, 1, 100_000), default=400,
                   help="random labels per seed (default 400)")
    b.add_argument("--fixed", action="store_true",
                   help="the earlier fixed set instead: 6 centred codes at every angle, blur and module size")
    b.add_argument("--json", action="store_true", help="print the report as one JSON line")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_bench_barcodes)

    b = bench.add_parser("weight", help="top-1 on (photo, weight) pairs: the image alone vs re-ranked by the weight")
    b.add_argument("--bundle", metavar="DIR", default="var/demo/bundle", help="model bundle (default: the demo's)")
    b.add_argument("--catalog", metavar="DB", default="var/demo/catalog.sqlite", help="catalog with weight ranges")
    b.add_argument("--photos", metavar="DIR", default="../shared/datasets/grocery-store",
                   help="grocery-store dataset (its val split) or a folder with basket.csv and camera/ like "
                        "assets/demo (default ../shared/datasets/grocery-store)")
    b.add_argument("--top-k", type=bounded(int, 1, 20), default=3,
                   help="suggestions re-ranked, as the kiosk's top_k (default 3)")
    b.add_argument("--draws", type=bounded(int, 1, 1000), default=3, help="weights drawn per photo (default 3)")
    b.add_argument("--slack", type=bounded(float, 0, 10), default=0.15,
                   help="weight_tolerance_pct / 100 (default 0.15)")
    seeds = b.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=bounded(int, 0, 2**32 - 1), nargs="+", metavar="SEED",
                       help="weight draws' seeds: each count is given as its range over them (default 1 2 3 4 5)")
    seeds.add_argument("--seed", type=bounded(int, 0, 2**32 - 1), help="one seed only (same as --seeds SEED)")
    b.add_argument("--json", action="store_true", help="print the counts as one JSON line")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")
    b.set_defaults(func=cmd_bench_weight)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


#: what the kiosk never lets others than its user and group do with what it writes (shopper photos, sales, outbox)
PRIVATE_UMASK = 0o027


def private_umask() -> int:
    """Widen the process's umask to at least :data:`PRIVATE_UMASK` (the deploy unit's ``UMask=``): started by hand
    under umask 000, shopper photos and the outbox came out world-writable. Returns the umask now in force."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)
    return old | PRIVATE_UMASK


def cmd_kiosk(args: argparse.Namespace) -> int:
    if args.hash_pin:
        import getpass

        from kiosk.config import hash_pin

        pin = getpass.getpass("staff PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
        print(f'staff_pin_hash = "{hash_pin(pin)}"')
        return 0
    from kiosk.config import config_from_args

    config = config_from_args(args)
    private_umask()
    from kiosk.logs import setup_logging

    setup_logging(config, verbose=getattr(args, "verbose", 0))  # journal / terminal, and log_file when set
    headless = args.headless
    if not headless and not has_display():
        print("checkout kiosk: no display (DISPLAY and WAYLAND_DISPLAY unset): running headless", file=sys.stderr)
        headless = True
    if headless:
        from kiosk.headless import main as headless_main

        return headless_main(config, realtime=args.realtime)
    return run_window(config, fullscreen=getattr(args, "fullscreen", None), size=getattr(args, "size", None))


def run_window(config, *, fullscreen: bool | None = None, size: tuple[int, int] | None = None) -> int:
    """The window on the service: full screen unless ``fullscreen`` is False, ``size`` is given (and ``fullscreen``
    is not True) or ``KIOSK_WINDOWED=1``."""
    from kiosk.services.checkout import CheckoutService

    try:
        from kiosk.ui.app import run_app
    except ImportError as exc:
        raise UserError(f"the kiosk window cannot start: kiosk.ui.app is not available ({exc}); "
                        "use --headless") from None
    with CheckoutService.from_config(config) as service:
        service.start()
        return int(run_app(service, config, fullscreen=fullscreen, size=size) or 0)


def cmd_bench_startup(args: argparse.Namespace) -> int:
    import json

    from kiosk import bench_startup

    if args.runs < 1:
        raise UserError(f"--runs must be at least 1, got {args.runs}")
    for what in ("bundle", "catalog"):
        if not Path(getattr(args, what)).exists():
            raise UserError(f"--{what} {getattr(args, what)}: not found (`make demo-bundle` builds the demo's)")
    args.camera = args.camera or bench_startup.DEFAULT_CAMERA
    result = bench_startup.run_startup_bench(args)
    print(json.dumps(result) if args.json else bench_startup.format_startup(result))
    return 0


def cmd_bench_hardening(args: argparse.Namespace) -> int:
    import json

    from kiosk.bench_hardening import format_result, run_hardening

    if args.cases < 1:
        raise UserError(f"--cases must be at least 1, got {args.cases}")
    result = run_hardening(args.cases, args.seed)
    if args.json:
        print(json.dumps({"seed": result.seed, **result.counts, "ok": result.ok}, sort_keys=True))
    else:
        print(format_result(result))
    return 0 if result.ok else 1


def cmd_bench_barcodes(args: argparse.Namespace) -> int:
    import json

    from kiosk.bench_counter import format_barcode_report, run_barcode_bench

    report = run_barcode_bench(tuple(args.decoders), progress=not args.no_progress, seeds=tuple(args.seed),
                               frames=args.frames, fixed=args.fixed)
    print(json.dumps(report) if args.json else format_barcode_report(report), end="" if not args.json else "\n")
    return 0


def cmd_bench_weight(args: argparse.Namespace) -> int:
    import json

    from kiosk.bench_counter import WEIGHT_SEEDS, format_weight_report, run_weight_bench

    photos = Path(args.photos)
    if not (photos / "val.txt").is_file() and not (photos / "basket.csv").is_file():
        raise UserError(f"--photos {args.photos}: neither the grocery-store dataset (val.txt) nor a basket.csv folder")
    seeds = args.seeds or ([args.seed] if args.seed is not None else list(WEIGHT_SEEDS))
    report = run_weight_bench(args.bundle, args.catalog, args.photos, top_k=args.top_k, slack=args.slack,
                              seeds=seeds, draws=args.draws, progress=not args.no_progress)
    print(json.dumps(report) if args.json else format_weight_report(report), end="" if not args.json else "\n")
    return 0


def cmd_bench_kiosk(args: argparse.Namespace) -> int:
    from kiosk import bench

    if args.frames < 1:
        raise UserError(f"--frames must be at least 1, got {args.frames}")
    args.camera = args.camera or bench.DEFAULT_CAMERA
    return bench.main(args)
