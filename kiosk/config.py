"""Kiosk settings: one :class:`KioskConfig`, every field with a default and a one-line description.

Read from TOML (:meth:`KioskConfig.from_file`) or a dict (:meth:`KioskConfig.from_dict`); unknown keys
are refused, naming them and the file. The trigger settings sit in a ``[trigger]`` table with the keys
of :class:`kiosk.trigger.TriggerConfig`. Relative paths are taken from the working directory.
``assets/deploy/kiosk.toml`` is a complete example for a till (every setting, each with a comment).

Example ``kiosk.toml``::

    bundle = "var/bundle"
    catalog = "var/catalog.sqlite"
    store = "var/sales.sqlite"
    camera = "camera:0"
    scale = "serial:/dev/ttyUSB0?protocol=mt-sics"
    kiosk_id = "K7"
    store_name = "Green Basket, Koramangala"
    staff_pin_hash = "scrypt$16384$8$1$...$..."   # from `checkout kiosk --hash-pin`

    # signed model bundles with updates (docs/bundles.md): the kiosk runs model_state's active bundle
    model_state = "/var/lib/checkout/models"
    trusted_keys = "assets/keys"
    channel = "https://ho.example/channel"
    update_interval_s = 900
    store_id = "BLR-0042"
    store_group = "south"

    [trigger]
    still_frames = 6

The staff PIN is never stored in clear: :func:`hash_pin` makes a salted ``hashlib.scrypt`` hash and
:func:`check_pin` compares in constant time. An empty ``staff_pin_hash`` disables staff mode. A hash whose scrypt
parameters this machine's OpenSSL refuses (too much memory) is refused when the config is read, in one line, not
at every unlock.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import re
from collections.abc import Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from kiosk.barcodes.settings import BarcodeSettings
from kiosk.barcodes.variable import BarcodeConfigError
from kiosk.domain.receipt import StoreInfo
from kiosk.domain.store_time import now_in, store_zone, zone_problem
from kiosk.errors import UserError
from kiosk.exchange.layout import ID_RE
from kiosk.feedback.crop import region_problem
from kiosk.feedback.settings import FeedbackConfigError, FeedbackSettings
from kiosk.inputfiles import read_settings_toml
from kiosk.logs import LEVELS as LOG_LEVELS
from kiosk.staff.rules import StaffConfigError, StaffRules
from kiosk.trigger import TriggerConfig, TriggerConfigError
from kiosk.weighing.rules import WeighingConfigError, WeighingRules

__all__ = ["ConfigError", "KioskConfig", "BACKENDS", "hash_pin", "check_pin", "config_from_args"]

BACKENDS = ("onnxruntime", "torch", "tensorrt", "openvino")
#: the settings that are tables of their own: their type and its error
TABLES = {"trigger": (TriggerConfig, TriggerConfigError), "weighing": (WeighingRules, WeighingConfigError),
          "barcodes": (BarcodeSettings, BarcodeConfigError), "feedback": (FeedbackSettings, FeedbackConfigError),
          "staff": (StaffRules, StaffConfigError)}
#: the largest number a setting may hold (a C int: Qt timers, thread counts, image sizes)
MAX_NUMBER = 2**31 - 1
# kiosk.recognition.precision.PRECISIONS (not imported: config stays light)
PRECISIONS = ("auto", "fp32", "bf16", "int8")
#: what the range checks of :class:`KioskConfig` ask for (printed with a refusal)
RANGES = (f"backend one of {', '.join(BACKENDS)}; precision one of {', '.join(PRECISIONS)}; top_k 1..20; "
          "threads 0..1024; staff_timeout_s up to a day; receipt_countdown_s up to an hour; kiosk_id and store_id "
          "1-64 letters, digits, '.', '_' or '-', not starting with '.'; staff_pin_hash as made by `checkout kiosk "
          "--hash-pin`; channel http://, https://, file: or a directory; "
          f"log_level one of {', '.join(LOG_LEVELS)}; languages ISO 639-1 codes like \"hi\"; receipt_printer "
          "escpos:DEVICE or escpos:file:PATH")


class ConfigError(UserError):
    """A kiosk setting that is unknown, of the wrong type or out of range (names the key and the file)."""


def _f(default: Any, help: str, **kw: Any) -> Any:
    if callable(default) and not isinstance(default, (str, int, float)):
        return field(default_factory=default, metadata={"help": help, **kw})
    return field(default=default, metadata={"help": help, **kw})


@dataclass(frozen=True)
class KioskConfig:
    """Everything the kiosk needs to start; ``describe()`` lists the fields with their help."""

    bundle: str = _f("var/bundle", "model bundle directory (manifest.json + model files)")
    backend: str = _f("onnxruntime", "inference backend: onnxruntime | torch | tensorrt | openvino")
    precision: str = _f("auto", "model precision: auto (the bundle's int8 model where the CPU has VNNI, else fp32; "
                                "bf16 on openvino where the CPU has it) | fp32 | bf16 | int8")
    device: str = _f("cpu", "inference device: cpu, cuda, cuda:0 …")
    threads: int = _f(0, "inference threads (0 = the backend's default: all cores)")
    catalog: str = _f("var/catalog.sqlite", "SKU catalog database (`checkout catalog import` makes one)")
    store: str = _f("var/sales.sqlite", "the kiosk's own sales database: open cart, closed sales, corrections")
    camera: str = _f("camera:0", "camera URI: camera:N, file:PATH, folder:PATH[?fps=8&hold=8]")
    scale: str = _f("sim:", "scale URI: serial:PORT?protocol=…, sim:, script:FILE")
    scale_poll_hz: float = _f(10.0, "how often live mode polls the scale (readings per second)")
    trigger: TriggerConfig = _f(TriggerConfig, "item trigger settings ([trigger] table, see kiosk.trigger)")
    weighing: WeighingRules = _f(WeighingRules, "legal weighing: division, minimum, capacity, zero range, container "
                                                "tares ([weighing] table, see kiosk.weighing.rules)")
    barcodes: BarcodeSettings = _f(BarcodeSettings, "camera barcodes, the USB scanner and GS1 variable-measure "
                                                    "layouts ([barcodes] table, see kiosk.barcodes.settings)")
    weight_check: bool = _f(True, "call staff instead of adding a unit item whose weight on the tray does not fit "
                                  "the catalog's unit_weight_min_g..max_g")
    weight_rerank: bool = _f(True, "re-rank the recogniser's suggestions by the weight on the tray")
    weight_tolerance_pct: int = _f(15, "slack around a SKU's unit weight range before a weight counts as not fitting")
    top_k: int = _f(3, "suggestions shown per placed item")
    captures: str = _f("var/captures", "placement images kept for staff corrections (training data)")
    gallery: str = _f("var/gallery", "products taught at this kiosk (Staff → Teach a new product, `checkout sku "
                                     "enroll`): their photos and embeddings, suggested until a model is trained on "
                                     "them; empty = no teaching")
    tray_region: tuple = _f((), "the tray's part of the camera frame, [x0, y0, x1, y1] as fractions of the frame: "
                                "the only part recognised and kept as a photo; empty = the whole frame (doctor warns)")
    feedback: FeedbackSettings = _f(FeedbackSettings, "where feedback goes and how long it stays ([feedback] table, "
                                                      "see kiosk.feedback.settings)")
    staff_pin_hash: str = _f("", "salted scrypt hash of the staff PIN (`checkout kiosk --hash-pin`); "
                                 "empty = no staff mode")
    staff_timeout_s: float = _f(120.0, "staff mode locks itself again after this many seconds")
    staff: StaffRules = _f(StaffRules, "what each staff role may do, supervisor approvals, the kiosk-wide PIN lockout "
                                       "([staff] table, see kiosk.staff.rules); accounts: `checkout staff add`")
    audit_key: str = _f("", "the audit log's key file (0600, outside the database file); empty = beside the store "
                            "as <store>.audit-key")
    kiosk_id: str = _f("K1", "this kiosk's id: prefix of receipt numbers, printed on receipts")
    store_name: str = _f("Self-checkout", "store name printed at the top of receipts")
    store_address: str = _f("", "store address printed on receipts")
    gstin: str = _f("", "the store's GSTIN printed on receipts (a receipt without one is not headed TAX INVOICE)")
    store_phone: str = _f("", "the store's phone number printed on receipts")
    store_timezone: str = _f("", "the store's time zone, an IANA name such as \"Asia/Kolkata\": every time the kiosk "
                                 "writes (sales, receipts, reprints, payments, staff changes, audit rows) is in it, "
                                 "and the end-of-day report counts its calendar days; empty = this machine's local "
                                 "zone (a till must set it: a shell or service in another zone then writes and "
                                 "reports in its own)")
    languages: tuple = _f(("en", "hi"), "languages the shopper can choose on screen (ISO 639-1 codes: en, hi); the "
                                        "first is where every new shopper starts")
    remove_approval_above_paise: int = _f(50000, "a shopper removing a line worth more than this (paise) needs a "
                                                 "staff approval; 0 = every removal does")
    receipt_printer: str = _f("", "receipt printer URI: escpos:DEVICE (ESC/POS bytes to a printer, e.g. "
                                  "escpos:/dev/usb/lp0, asked for its status before each receipt; "
                                  "escpos:DEVICE?status=none for one that cannot answer) or escpos:file:PATH "
                                  "(appended to a spool file: tests, the demo); empty = no printer (the Print button "
                                  "is hidden)")
    receipt_countdown_s: float = _f(20.0, "seconds the receipt stays up before the kiosk goes back to the welcome "
                                          "screen (0 = until tapped)")
    model_state: str = _f("", "signed-bundle store directory (versions/, active.json, status.json); when set the kiosk "
                              "runs the store's active bundle instead of `bundle` (empty = run `bundle` as is)")
    trusted_keys: str = _f("assets/keys", "trusted Ed25519 public keys: a directory of *.pub (+ rotations/) or one "
                                          ".pub file (used with model_state)")
    channel: str = _f("", "update channel: http(s)://…, file:/… or a directory; empty = no updates (needs "
                          "model_state and store_id)")
    update_interval_s: float = _f(900.0, "seconds between two update checks of the channel")
    store_id: str = _f("", "this store's id: staged roll-outs pick stores by it (required with channel and with a "
                           "feedback head_office)")
    store_group: str = _f("default", "the store group whose release this kiosk follows in the channel index")
    log_level: str = _f("info", "log level: debug | info | warning | error (each `checkout -v` lowers it a step)")
    log_file: str = _f("", "rotating log file, e.g. /var/log/checkout/kiosk.log (empty = stderr / the journal only)")
    log_max_bytes: int = _f(10_000_000, "the log file is rotated when it reaches this many bytes")
    log_backups: int = _f(5, "rotated log files kept beside it (kiosk.log.1 … kiosk.log.N)")
    min_free_mb: int = _f(500, "`checkout doctor` fails with less free disk (MiB) where the store, captures, "
                               "model_state and log_file live")
    payment_terminal: str = _f("sim:", "payment terminal URI: sim: (the simulator, ledger in memory) or sim:PATH "
                                       "(ledger in a file, remembered across restarts); a real terminal's driver "
                                       "adds its own scheme (kiosk/payments/)")

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            want = f.type if isinstance(f.type, type) else {"str": str, "int": int, "float": float, "bool": bool,
                                                             "TriggerConfig": TriggerConfig,
                                                             "WeighingRules": WeighingRules,
                                                             "BarcodeSettings": BarcodeSettings,
                                                             "FeedbackSettings": FeedbackSettings,
                                                             "StaffRules": StaffRules,
                                                             "tuple": tuple}[f.type]
            if want is tuple and isinstance(value, list):
                object.__setattr__(self, f.name, tuple(value))
                continue
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, f.name, float(value))
                continue
            if (isinstance(value, bool) and want is not bool) or not isinstance(value, want):
                problems.append(f"{f.name}={value!r} (expected {want.__name__})")
        if problems:
            raise ConfigError(f"kiosk settings of the wrong type: {', '.join(problems)}")
        checks = {
            "backend": self.backend in BACKENDS,
            "precision": self.precision in PRECISIONS,
            "threads": 0 <= self.threads <= 1024,
            "top_k": 1 <= self.top_k <= 20,
            "weight_tolerance_pct": 0 <= self.weight_tolerance_pct <= 100,
            "scale_poll_hz": 0 < self.scale_poll_hz <= 1000,
            "staff_timeout_s": 0 < self.staff_timeout_s <= 86400,  # a Qt timer counts milliseconds in a C int
            "kiosk_id": bool(ID_RE.fullmatch(self.kiosk_id)),
            "store_id": not self.store_id or bool(ID_RE.fullmatch(self.store_id)),
            "staff_pin_hash": not self.staff_pin_hash or _parse_hash(self.staff_pin_hash) is not None,
            "update_interval_s": self.update_interval_s > 0,
            "store_group": bool(self.store_group.strip()),
            "channel": _channel_ok(self.channel),
            "log_level": self.log_level in LOG_LEVELS,
            "log_max_bytes": self.log_max_bytes > 0,
            "log_backups": self.log_backups >= 0,
            "min_free_mb": self.min_free_mb >= 0,
            "languages": bool(self.languages) and all(isinstance(x, str) and re.fullmatch(r"[a-z]{2,3}", x)
                                                      for x in self.languages),
            "remove_approval_above_paise": self.remove_approval_above_paise >= 0,
            "receipt_countdown_s": 0 <= self.receipt_countdown_s <= 3600,
            "receipt_printer": not self.receipt_printer or self.receipt_printer.startswith("escpos:"),
        }
        bad = [f"{k}={getattr(self, k)!r}" for k, ok in checks.items() if not ok]
        zone = zone_problem(self.store_timezone)
        if zone is not None:
            raise ConfigError(f"store_timezone={zone}")
        if region_problem(self.tray_region):
            raise ConfigError(str(region_problem(self.tray_region)))
        if bad:
            raise ConfigError(f"kiosk settings out of range: {', '.join(bad)} ({RANGES})")
        _check_secrets_and_drivers(self)
        if self.feedback.sends and not self.store_id.strip():
            raise ConfigError(f"[feedback] head_office={self.feedback.head_office!r} needs store_id (head office files "
                              "each kiosk's uploads under its store and kiosk ids)")
        if self.channel.strip():
            missing = [k for k in ("model_state", "store_id") if not getattr(self, k).strip()]
            if missing:
                raise ConfigError(f"channel={self.channel!r} needs {' and '.join(missing)} (updates are installed "
                                  "into the model_state store; store_id picks this store's staged roll-out)")

    # -- reading -------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "kiosk settings") -> KioskConfig:
        """Build from plain values (a parsed TOML document); unknown keys raise :class:`ConfigError`."""
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: expected a table of settings, got {type(data).__name__}")
        unusable = list(_unusable_numbers(data))
        if unusable:
            raise ConfigError(f"{where}: {', '.join(unusable)}: not a finite number of at most {MAX_NUMBER:,} (a "
                              "count, a duration or an amount in paise or grams)")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        values = dict(data)
        for key, (kind, error) in TABLES.items():
            if key not in values or isinstance(values[key], kind):
                continue
            if not isinstance(values[key], dict):
                raise ConfigError(f"{where}: {key} = {values[key]!r}: expected a table ([{key}] and its settings)")
            try:
                values[key] = kind.from_dict(dict(values[key]))
            except (error, TypeError, ValueError) as exc:
                raise ConfigError(f"{where}: [{key}]: {exc}") from None
        try:
            return cls(**values)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> KioskConfig:
        """Read a TOML file; a missing file, bad TOML or unknown key raises :class:`ConfigError`."""
        path = Path(path)
        return cls.from_dict(read_settings_toml(path, ConfigError), where=str(path))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["trigger"] = self.trigger.to_dict()
        d["weighing"] = self.weighing.to_dict()
        d["barcodes"] = self.barcodes.to_dict()
        d["feedback"] = self.feedback.to_dict()
        d["staff"] = self.staff.to_dict()
        d["tray_region"] = list(self.tray_region)
        return d

    def replace(self, **changes: Any) -> KioskConfig:
        """A copy with some fields changed (``None`` values are ignored: handy for CLI overrides)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @classmethod
    def describe(cls) -> str:
        """One line per setting: name, default and description."""
        out = []
        for f in fields(cls):
            default = f.default if f.default is not MISSING else "[table]"
            out.append(f"{f.name} (default {default!r}): {f.metadata['help']}")
        return "\n".join(out)

    # -- derived -------------------------------------------------------------------------------
    @property
    def tz(self) -> tzinfo | None:
        """The store's time zone (``store_timezone``; None: this machine's local zone)."""
        return store_zone(self.store_timezone)

    def now(self) -> datetime:
        """Now on the store's clock: timezone-aware, in :attr:`tz`."""
        return now_in(self.tz)

    @property
    def store_info(self) -> StoreInfo:
        return StoreInfo(name=self.store_name, address=self.store_address, gstin=self.gstin, kiosk_id=self.kiosk_id,
                         phone=self.store_phone, timezone=self.tz)

    def check_pin(self, pin: str) -> bool:
        """True when ``pin`` matches :attr:`staff_pin_hash` (always False when no PIN is set)."""
        return bool(self.staff_pin_hash) and check_pin(pin, self.staff_pin_hash)


def _channel_ok(channel: str) -> bool:
    """Empty (no updates), an http(s):// or file: URL, or a plain directory path; no other scheme."""
    text = channel.strip()
    if not text or text.startswith(("http://", "https://", "file:")):
        return True
    return "://" not in text


# -- staff PIN ---------------------------------------------------------------------------------
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$SALT_HEX$HASH_HEX`` for ``pin`` with a fresh 16-byte salt."""
    if not isinstance(pin, str) or not (pin.isascii() and pin.isdigit()) or not 4 <= len(pin) <= 12:
        raise ConfigError("a staff PIN must be 4-12 digits")
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def _parse_hash(text: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    if n < 2 or n & (n - 1) or not 1 <= r <= 64 or not 1 <= p <= 16 or len(salt) < 8 or len(digest) < 16:
        return None
    return n, r, p, salt, digest


@functools.lru_cache(maxsize=32)
def _scrypt_refused(n: int, r: int, p: int, dklen: int) -> str | None:
    """Why this machine's OpenSSL refuses these scrypt parameters (None: it takes them). Tried once per set."""
    try:
        hashlib.scrypt(b"", salt=b"\0" * 16, n=n, r=r, p=p, dklen=dklen)
    except (ValueError, MemoryError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _unusable_numbers(value: Any, key: str = "") -> Iterator[str]:
    """The dotted keys of ``value`` (a parsed TOML document) holding inf or nan (TOML has both) or a number beyond
    :data:`MAX_NUMBER` (a timer, a thread count or an image size past a C int stops the kiosk at start-up)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if _too_big(value):
            yield f"{key}={_shown(value)}"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _unusable_numbers(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _unusable_numbers(v, f"{key}[{i}]")


def _too_big(value: int | float) -> bool:
    """Past :data:`MAX_NUMBER`, inf or nan. An int is compared as an int: TOML integers have any number of digits,
    and a 400-digit one is past what a float holds (``math.isfinite`` raised OverflowError)."""
    if isinstance(value, int):
        return abs(value) > MAX_NUMBER
    return not math.isfinite(value) or abs(value) > MAX_NUMBER


def _shown(value: int | float) -> str:
    """A number as a one-line refusal names it: a long integer by its number of digits, not all of them."""
    if isinstance(value, int) and abs(value) >= 10**30:
        digits = int((abs(value).bit_length() - 1) * 0.30103)  # at most its digits less one, counted up exactly
        while 10**digits <= abs(value):
            digits += 1
        return f"a {digits}-digit integer"
    return repr(value)


def _check_secrets_and_drivers(config: KioskConfig) -> None:
    """The staff PIN hash must be usable here, and the payment terminal and receipt printer known drivers (one line
    each)."""
    from kiosk.payments.terminal import terminal_uri_problem
    from kiosk.printing import printer_uri_problem

    parsed = _parse_hash(config.staff_pin_hash) if config.staff_pin_hash else None
    if parsed is not None:
        n, r, p, _salt, digest = parsed
        refused = _scrypt_refused(n, r, p, len(digest))
        if refused is not None:
            raise ConfigError(f"staff_pin_hash: OpenSSL on this machine refuses scrypt N={n}, r={r}, p={p} "
                              f"({refused}); make a new one with `checkout kiosk --hash-pin`")
    problem = terminal_uri_problem(config.payment_terminal)
    if problem is None and config.receipt_printer:
        problem = printer_uri_problem(config.receipt_printer)
    if problem is not None:
        raise ConfigError(problem)


def check_pin(pin: str, pin_hash: str) -> bool:
    """Constant-time check of ``pin`` against a hash made by :func:`hash_pin`; never raises (False instead)."""
    parsed = _parse_hash(pin_hash)
    if parsed is None or not isinstance(pin, str):
        return False
    n, r, p, salt, digest = parsed
    try:
        got = hashlib.scrypt(pin.encode("utf-8", "surrogatepass"), salt=salt, n=n, r=r, p=p, dklen=len(digest))
    except (ValueError, MemoryError):  # parameters OpenSSL refuses: the config check says so at load
        return False
    return hmac.compare_digest(got, digest)


def config_from_args(args) -> KioskConfig:
    """The ``--config`` file (or the defaults) with the command line's options laid over it (``checkout kiosk`` and
    ``checkout doctor`` take the same ones; ``None`` leaves the file's value)."""
    config = KioskConfig.from_file(args.config) if args.config else KioskConfig()
    return config.replace(camera=args.camera, scale=args.scale, bundle=args.bundle, backend=args.backend,
                          precision=getattr(args, "precision", None),
                          device=args.device, threads=args.threads, catalog=args.catalog, store=args.store,
                          captures=args.captures, kiosk_id=args.kiosk_id,
                          model_state=getattr(args, "cfg_model_state", None),
                          trusted_keys=getattr(args, "cfg_trusted_keys", None),
                          channel=getattr(args, "cfg_channel", None),
                          update_interval_s=getattr(args, "cfg_update_interval_s", None),
                          store_id=getattr(args, "cfg_store_id", None),
                          store_group=getattr(args, "cfg_store_group", None))
