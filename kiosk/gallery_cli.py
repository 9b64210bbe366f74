"""``checkout sku enroll|list|forget`` (the kiosk's gallery, :mod:`kiosk.gallery`) and ``checkout bench enroll``.

``checkout sku enroll SKU --images DIR [--config kiosk.toml] [--gallery DIR] [--bundle DIR] [--catalog DB]``
teaches the kiosk a product from the photos in DIR with the model the kiosk runs (its ``model_state``'s active
bundle, else ``bundle``), into the kiosk's gallery. A kiosk running on the same gallery suggests the SKU from its next
placement on (it asks the gallery's revision at every placement). Refused with one line (exit 2): a SKU the catalog
does not have or does not sell, too few distinct usable photos (blurred, the empty tray, unreadable, a repeat of
another), photos all taught already, photos that are near-duplicates of another enrolled SKU's, photos the till
already takes for another product (unless staff confirm it is not that one: ``--different-from SKU``, a new pack of
a trained product). Photos of the empty
tray are told by the empty tray the running kiosk learnt (kept in the gallery), or by ``--empty-tray IMAGE``. Only the
first 30 photos (by name) are read; how many more the folder held is said.

With ``--config`` each enrollment and withdrawal is also a row of the till's audit log (``staff.teach``,
``staff.teach_withdrawn``, as the Teach page writes them, with ``source`` the command and the actor ``--staff`` or the
user running it), written in the gallery's transaction: a row that cannot be written leaves the gallery unchanged.
Without ``--config`` no till is named, and the gallery's own record (who, when, from where) is the record.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from kiosk.errors import UserError


def register(sub: argparse._SubParsersAction, groups: dict) -> None:
    from kiosk.subcommands import bounded, group

    sku = group(sub, groups, "sku", "products taught at this kiosk (its gallery): enroll, list, forget")
    p = sku.add_parser("enroll", help="teach the kiosk a product from a folder of photos (no retraining)")
    p.add_argument("sku", metavar="SKU", help="the product's SKU id (its catalog row must exist and be active)")
    p.add_argument("--images", type=Path, required=True, metavar="DIR", help="photos of the item on the tray")
    _kiosk_options(p)
    p.add_argument("--empty-tray", type=Path, metavar="IMAGE",
                   help="a photo of the empty tray (default: the one the running kiosk learnt, kept in the gallery)")
    p.add_argument("--staff", default="", help="who teaches it (recorded with the enrollment)")
    p.add_argument("--min-photos", type=bounded(int, 1, 1000), default=None, help="usable photos needed (default 5)")
    p.add_argument("--different-from", nargs="+", default=[], metavar="SKU",
                   help="staff confirm the item is not these products, though the till takes it for them (a new "
                        "pack or variant of a trained product): its photos are taught, not refused")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=cmd_enroll)

    p = sku.add_parser("list", help="the products taught at this kiosk")
    _kiosk_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = sku.add_parser("forget", help="stop suggesting a taught product (its photos stay for head office)")
    p.add_argument("sku", metavar="SKU")
    _kiosk_options(p)
    p.add_argument("--staff", default="", help="who withdraws it (the till's audit row; default: this user)")
    p.set_defaults(func=cmd_forget)

    bench = group(sub, groups, "bench", "benchmarks")
    b = bench.add_parser("enroll", help="seconds from `checkout sku enroll` to the running kiosk's first suggestion")
    b.add_argument("sku", metavar="SKU")
    b.add_argument("--images", type=Path, required=True, metavar="DIR", help="the enrollment photos")
    b.add_argument("--probe", type=Path, required=True, nargs="+", metavar="IMAGE",
                   help="photo(s) of the item the shopper keeps placing (not among the enrollment photos)")
    b.add_argument("--bundle", type=Path, required=True, metavar="DIR")
    b.add_argument("--catalog", type=Path, required=True, metavar="DB")
    b.add_argument("--different-from", nargs="+", default=[], metavar="SKU",
                   help="passed to `checkout sku enroll` (staff confirm the item is not these products)")
    b.add_argument("--work", type=Path, default=None, metavar="DIR",
                   help="a new or empty folder for the bench kiosk's gallery and store (default: a temporary one)")
    b.add_argument("--fps", type=bounded(float, above=0, high=1000), default=15.0,
                   help="simulated camera rate (default 15)")
    b.add_argument("--timeout", type=bounded(float, above=0, high=86400), default=120.0,
                   help="give up after this many seconds")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_enroll)


def _kiosk_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="the kiosk's settings (kiosk.toml): gallery, model, catalog")
    p.add_argument("--gallery", metavar="DIR", help="the gallery directory (default: the config's gallery)")
    p.add_argument("--bundle", metavar="DIR", help="model bundle (default: the config's model_state or bundle)")
    p.add_argument("--catalog", metavar="DB", help="catalog database (default: the config's)")


def _config(args):
    from kiosk.config import KioskConfig

    config = KioskConfig.from_file(args.config) if args.config else KioskConfig()
    config = config.replace(gallery=args.gallery, catalog=args.catalog, bundle=getattr(args, "bundle", None))
    if not config.gallery.strip():
        raise UserError("no gallery: set gallery in the kiosk settings or pass --gallery DIR")
    return config


@contextmanager
def till_audit(args, kind: str, counts: tuple[str, ...], **detail) -> Iterator[Callable[..., None] | None]:
    """The ``before_commit`` hook that writes the till's audit row ``kind`` (module docstring), or ``None`` without
    ``--config``: its detail is ``detail``, the command, and the hook's arguments named by ``counts``."""
    if not args.config:
        yield None
        return
    from kiosk.store.cli import till_log, who_ran

    who = who_ran(args.staff)
    with till_log(args.config, f"checkout sku {args.sku_command}") as write:
        yield lambda *values: write(kind, who, **detail, **dict(zip(counts, values)))


def model_dir(config, explicit: str | None) -> Path:
    """The bundle the kiosk runs: ``--bundle``, else the model store's active bundle, else ``config.bundle``."""
    if explicit:
        return Path(explicit)
    if config.model_state.strip():
        from kiosk.bundles.store import BundleStore

        active = BundleStore(config.model_state).active_dir()
        if active is None:
            raise UserError(f"{config.model_state}: no active model bundle; pass --bundle DIR")
        return Path(active)
    return Path(config.bundle)


class PhotoFolder(Sequence):
    """The photos of a folder (sorted by name), each read only when it is asked for: enrollment takes the first
    :attr:`~kiosk.gallery.EnrollPolicy.max_photos` and reads no more, whatever the folder holds. A photo that cannot
    be read is ``None`` (refused "unreadable"), why in :attr:`problems` by index: a named pipe, a link to a device,
    a link loop or a folder named like a photo is never opened (a FIFO's read waited for ever)."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.problems: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._read(j) for j in range(len(self.paths))[i]]
        return self._read(range(len(self.paths))[i])

    def _read(self, i: int):
        from kiosk.bundle_format.preprocess import load_image
        from kiosk.inputfiles import path_kind

        kind = path_kind(self.paths[i])
        if kind != "a file":
            self.problems[i] = f"{kind}, not a photo file" if kind != "missing" else "missing"
            return None
        image, why = load_image(self.paths[i])
        if image is None:
            self.problems[i] = why
        return image


def read_photos(folder: Path) -> tuple[list[Path], PhotoFolder]:
    """The photo files of ``folder`` and the photos, read lazily (:class:`PhotoFolder`). Everything named like a
    photo is listed: what is not a regular file is refused "unreadable" with its reason, never skipped unsaid."""
    from kiosk.bundle_format.preprocess import IMAGE_SUFFIXES

    if not folder.is_dir():
        raise UserError(f"{folder}: no such folder of photos")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise UserError(f"{folder}: no photos there ({', '.join(IMAGE_SUFFIXES)})")
    return paths, PhotoFolder(paths)


def empty_tray_occupancy(config, empty):
    """The trigger's share of a photo that differs from the empty tray ``empty`` (``None`` without one)."""
    if empty is None:
        return None
    import numpy as np

    from kiosk.trigger import ItemTrigger

    trigger = ItemTrigger(config.trigger)
    trigger.background = trigger.shrink(np.asarray(empty))

    def occupancy(image):
        if image.shape[:2] != empty.shape[:2]:  # another camera, a phone: compared at the tray's size
            import cv2

            image = cv2.resize(image, (empty.shape[1], empty.shape[0]), interpolation=cv2.INTER_AREA)
        return trigger.occupancy(image)

    return occupancy


def cmd_enroll(args) -> int:
    from catalog.repository import Catalog
    from kiosk.bundle_format.preprocess import read_image
    from kiosk.gallery import EnrollmentRefused, EnrollPolicy, Gallery, enroll
    from kiosk.recognition.recognizer import Recognizer

    config = _config(args)
    paths, images = read_photos(args.images)
    policy = EnrollPolicy() if args.min_photos is None else EnrollPolicy(min_photos=args.min_photos)
    with Catalog.open(config.catalog, create=False) as catalog:
        sku = catalog.find(args.sku)
        names = {s.sku: s.name for s in catalog.all()}
    recognizer = Recognizer.load(model_dir(config, args.bundle), backend=config.backend, device=config.device,
                                 threads=config.threads or None, precision=config.precision)
    confirmed = {"different_from": sorted(args.different_from)} if args.different_from else {}
    audit = till_audit(args, "staff.teach", ("enrollment", "photos", "refused"), sku=args.sku, **confirmed)
    try:
        with Gallery.open(config.gallery) as gallery, audit as audited:
            empty = read_image(args.empty_tray) if args.empty_tray else gallery.empty_tray()
            result = enroll(gallery, recognizer, args.sku, sku, images, policy=policy, staff=args.staff,
                            occupancy=empty_tray_occupancy(config, empty), source="checkout sku enroll",
                            name_of=lambda s: names.get(s, s), different_from=set(args.different_from),
                            before_commit=audited)
    except EnrollmentRefused as exc:
        if not exc.looks_like:
            raise
        raise EnrollmentRefused(f"{exc}; if it is a different product, teach it as one: --different-from "
                                f"{' '.join(exc.looks_like)}", exc.looks_like) from None
    finally:
        recognizer.close()
    if args.json:
        print(json.dumps({"sku": result.sku, "enrollment": result.enrollment.enrollment_id, "usable": result.usable,
                          "photos": [{"path": str(paths[v.index]), "usable": v.usable, "reason": v.reason,
                                      **({"why": images.problems[v.index]} if v.index in images.problems else {}),
                                      "sharpness": round(v.sharpness, 1),
                                      **({"same_as": str(paths[v.same_as])} if v.same_as is not None else {})}
                                     for v in result.verdicts],
                          "not_read": len(paths) - len(result.verdicts), "notes": result.notes,
                          "closest_other": result.closest_other, "feature_key": recognizer.feature_key}))
    else:
        print(result.summary())
        for v in result.verdicts:
            if not v.usable:
                same = f" of {paths[v.same_as].name}" if v.same_as is not None else ""
                why = f" ({images.problems[v.index]})" if v.index in images.problems else ""
                like = f" ({names.get(v.like[0], v.like[0])}, {v.like[1]}, {v.like[2]:.2f})" if v.like else ""
                print(f"  refused {paths[v.index].name}: {v.reason}{same}{why}{like}")
    return 0


def cmd_list(args) -> int:
    from kiosk.gallery import Gallery

    config = _config(args)
    with Gallery.open_readonly(config.gallery) as gallery:  # reads only: a read-only mount lists, nothing is made
        rows = gallery.enrollments()
    if args.json:
        print(json.dumps([vars(e) for e in rows]))
        return 0
    for e in rows:
        print(f"{e.sku}: {e.photos} photos, {e.created_at}, by {e.staff or '-'} ({e.source or '-'})"
              + ("" if e.sent_at else ", not sent to head office yet"))
    if not rows:
        print(f"no products taught in {config.gallery}")
    return 0


def cmd_forget(args) -> int:
    from kiosk.gallery import Gallery

    config = _config(args)
    audit = till_audit(args, "staff.teach_withdrawn", ("enrollments",), sku=args.sku)
    with Gallery.open(config.gallery, create=False) as gallery, audit as audited:  # only enroll, the kiosk make one
        n = gallery.withdraw(args.sku, before_commit=audited)
    if not n:
        raise UserError(f"{args.sku}: not taught in {config.gallery}")
    print(f"{args.sku}: {n} enrollment(s) withdrawn; the kiosk stops suggesting it from its next placement")
    return 0


def cmd_bench_enroll(args) -> int:
    from kiosk.bench_enroll import bench_enroll

    result = bench_enroll(args)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"enroll → first suggestion of {args.sku}: {result['seconds_to_suggestion']:.2f} s (enroll command "
              f"{result['enroll_seconds']:.2f} s, {result['placements']} placements meanwhile)", file=sys.stdout)
    return 0
