"""Everything a kiosk checks before it trusts a bundle directory, in one place.

Order: signature (by a trusted key) → manifest parse → every file's size and sha256 (and nothing unlisted) →
model version above the active one → not expired (by the policy's clock: the kiosk's never runs backwards) →
catalog compatibility → model contract (every ONNX model's input and output against the manifest, see
:mod:`kiosk.bundle_format.contract`) → self-test. Each refusal is a :class:`BundleRefused` whose ``reason`` is a
short code and whose message names the file and the reason (one line). Whatever else goes wrong inside a check is a
refusal too (reason of that check), never a traceback.

The self-test runs the model through ``VerifyPolicy.run_model`` (the kiosk passes its recogniser,
``kiosk.recognition.recognizer.selftest_runner()``), so the format never imports the recogniser.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.bundle import Bundle, read_manifest, verify_files
from kiosk.bundle_format.contract import ModelInspector, check_model_contract
from kiosk.bundle_format.selftest import DEFAULT_ATOL, ModelRunner, SelfTestReport, run_selftest
from kiosk.bundle_format.timestamps import parse_time
from kiosk.bundle_format.trust import TrustStore, verify_manifest_signature
from kiosk.errors import BundleError

#: reason codes used in refusals, status reports and the audit log
REASONS = ("signature", "manifest", "hash", "version", "expired", "catalog", "contract", "selftest", "download",
           "archive", "index", "load")


class BundleRefused(BundleError):
    """A bundle (or channel download) the kiosk will not install. ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str):
        message = " ".join(str(message).split())  # one line, whatever the cause said
        super().__init__(f"refused ({reason}): {message}")
        self.reason = reason


@dataclass(frozen=True)
class CatalogCompat:
    """What the kiosk's catalog offers: its schema version and which SKU ids exist and are active.

    ``is_active`` is any callable ``sku_id -> bool`` (e.g. a bound method of the catalog repository), so this
    module does not depend on the catalog code. ``supported_schemas`` lists the schema versions a bundle may
    name (by default only ``schema_version``).
    """

    schema_version: int
    is_active: Callable[[str], bool]
    supported_schemas: tuple[int, ...] = ()

    @classmethod
    def from_skus(cls, schema_version: int, active_skus: Collection[str]) -> CatalogCompat:
        skus = frozenset(active_skus)
        return cls(schema_version, skus.__contains__)

    def check(self, bundle: Bundle) -> None:
        m = bundle.manifest
        where = bundle.root / "manifest.json"
        need = m.catalog.get("schema_version")
        ok_schemas = self.supported_schemas or (self.schema_version,)
        if need is None:
            raise BundleRefused("catalog", f"{where}: catalog.schema_version missing; cannot check compatibility")
        if int(need) not in ok_schemas:
            raise BundleRefused("catalog", f"{where}: bundle needs catalog schema {need}, this kiosk's catalog "
                                           f"has schema {self.schema_version}")
        skus = list(dict.fromkeys([*m.labels, *m.catalog.get("skus", [])]))
        missing = [s for s in skus if not self.is_active(s)]
        if missing:
            shown = ", ".join(missing[:5]) + (f" … ({len(missing)} in all)" if len(missing) > 5 else "")
            raise BundleRefused("catalog", f"{where}: SKU(s) missing or inactive in the kiosk's catalog: {shown}")


@dataclass
class VerifyPolicy:
    trust: TrustStore
    active_version: int | None = None  # refuse model_version <= this
    catalog: CatalogCompat | None = None  # None: skip (head-office `bundle verify` without a catalog)
    selftest: bool = True
    run_model: ModelRunner | None = None  # runs the self-test images; required when ``selftest``
    inspect_model: ModelInspector | None = None  # reads each ONNX model's contract; None: not checked
    selftest_atol: float = DEFAULT_ATOL
    installed: bool = False  # re-checking an installed bundle: retired keys verify; version/expiry not checked
    now: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))


@dataclass(frozen=True)
class VerifiedBundle:
    bundle: Bundle
    keyid: str
    selftest: SelfTestReport | None

    @property
    def version(self) -> int:
        return self.bundle.manifest.model_version


def _wrap(reason: str, fn, *args):
    """``fn(*args)``; any failure inside (a BundleError, or whatever a malformed bundle makes a library raise) is
    a refusal with ``reason``."""
    try:
        return fn(*args)
    except BundleRefused:
        raise
    except BundleError as exc:
        raise BundleRefused(reason, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - a bundle must never crash the kiosk that checks it
        raise BundleRefused(reason, f"{type(exc).__name__}: {exc}") from None


def verify_bundle(root: Path | str, policy: VerifyPolicy) -> VerifiedBundle:
    """Every check of the module docstring, in order; raises :class:`BundleRefused` (one line) at the first that
    fails, whatever failed inside it."""
    if policy.selftest and policy.run_model is None:
        raise ValueError("VerifyPolicy(selftest=True) needs run_model, the function that runs the bundle's model")
    return _wrap("manifest", _verify, Path(root), policy)


def _verify(root: Path, policy: VerifyPolicy) -> VerifiedBundle:
    now = policy.now()
    keyid = _wrap("signature", verify_manifest_signature, root, policy.trust, policy.installed, now)
    manifest = _wrap("manifest", read_manifest, root)
    _wrap("hash", verify_files, root, manifest)
    bundle = Bundle(root=root, manifest=manifest)
    where = root / "manifest.json"
    _wrap("manifest", _sections, manifest, str(where))
    if not policy.installed:
        if policy.active_version is not None and manifest.model_version <= policy.active_version:
            raise BundleRefused("version", f"{where}: model_version {manifest.model_version} is not above the "
                                           f"active version {policy.active_version} (rollback protection)")
        if not manifest.expires_at:
            raise BundleRefused("expired", f"{where}: bundle has no expires_at")
        expires = _wrap("manifest", parse_time, manifest.expires_at, str(where))
        if expires <= now:
            raise BundleRefused("expired", f"{where}: bundle expired at {manifest.expires_at}")
        if manifest.created_at:
            created = _wrap("manifest", parse_time, manifest.created_at, str(where))
            if created >= expires:
                raise BundleRefused("manifest", f"{where}: created_at {manifest.created_at} is not before expires_at")
    if policy.catalog is not None:
        _wrap("catalog", policy.catalog.check, bundle)
    if policy.inspect_model is not None:
        _wrap("contract", check_model_contract, bundle, policy.inspect_model)
    report = None
    if policy.selftest:
        if not manifest.selftest:
            raise BundleRefused("selftest", f"{where}: bundle has no self-test images")
        report = _wrap("selftest", run_selftest, bundle, policy.run_model, policy.selftest_atol)
        if not report.ok:
            raise BundleRefused("selftest", f"{root}: {report.summary()}")
        _selftest_int8(bundle, policy)
    return VerifiedBundle(bundle, keyid, report)


def _sections(manifest, where: str) -> None:
    """The embedding and open-set sections read as the till reads them (their thresholds finite and in range)."""
    from kiosk.bundle_format.openset import embedding_info, open_set_rule

    embedding_info(manifest, where)
    open_set_rule(manifest, where)


def _selftest_int8(bundle: Bundle, policy: VerifyPolicy) -> None:
    """A bundle's int8 model (:mod:`kiosk.bundle_format.int8`) passes its own recorded self-test outputs too."""
    from functools import partial

    from kiosk.bundle_format.int8 import int8_model

    int8 = _wrap("manifest", int8_model, bundle.manifest, str(bundle.root / "manifest.json"))
    if int8 is None:
        return
    if not int8.selftest:
        raise BundleRefused("selftest", f"{bundle.root / 'manifest.json'}: the int8 model has no self-test outputs")
    run_int8 = partial(policy.run_model, precision="int8")
    report = _wrap("selftest", run_selftest, bundle, run_int8, policy.selftest_atol, int8.selftest)
    if not report.ok:
        raise BundleRefused("selftest", f"{bundle.root}: int8 model: {report.summary()}")
