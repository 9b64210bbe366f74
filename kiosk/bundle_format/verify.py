"""Everything a kiosk checks before it trusts a bundle directory, in one place.

Order: signature (by a trusted key) → manifest parse → every file's size and sha256 (and nothing unlisted) →
model version above the active one → not expired → catalog compatibility → self-test. Each refusal is a
:class:`BundleRefused` whose ``reason`` is a short code and whose message names the file and the reason.

The self-test runs the model through ``VerifyPolicy.run_model`` (the kiosk passes its recogniser,
``kiosk.recognition.recognizer.selftest_runner()``), so the format never imports the recogniser.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.bundle import Bundle, read_manifest, verify_files
from kiosk.bundle_format.selftest import DEFAULT_ATOL, ModelRunner, SelfTestReport, run_selftest
from kiosk.bundle_format.timestamps import parse_time
from kiosk.bundle_format.trust import TrustStore, verify_manifest_signature
from kiosk.errors import BundleError

#: reason codes used in refusals, status reports and the audit log
REASONS = ("signature", "manifest", "hash", "version", "expired", "catalog", "selftest", "download", "archive",
           "index", "load")


class BundleRefused(BundleError):
    """A bundle (or channel download) the kiosk will not install. ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, message: str):
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
    try:
        return fn(*args)
    except BundleRefused:
        raise
    except BundleError as exc:
        raise BundleRefused(reason, str(exc)) from None


def verify_bundle(root: Path | str, policy: VerifyPolicy) -> VerifiedBundle:
    if policy.selftest and policy.run_model is None:
        raise ValueError("VerifyPolicy(selftest=True) needs run_model, the function that runs the bundle's model")
    root = Path(root)
    keyid = _wrap("signature", verify_manifest_signature, root, policy.trust, policy.installed)
    manifest = _wrap("manifest", read_manifest, root)
    _wrap("hash", verify_files, root, manifest)
    bundle = Bundle(root=root, manifest=manifest)
    where = root / "manifest.json"
    if not policy.installed:
        if policy.active_version is not None and manifest.model_version <= policy.active_version:
            raise BundleRefused("version", f"{where}: model_version {manifest.model_version} is not above the "
                                           f"active version {policy.active_version} (rollback protection)")
        if not manifest.expires_at:
            raise BundleRefused("expired", f"{where}: bundle has no expires_at")
        expires = _wrap("manifest", parse_time, manifest.expires_at, str(where))
        now = policy.now()
        if expires <= now:
            raise BundleRefused("expired", f"{where}: bundle expired at {manifest.expires_at}")
        if manifest.created_at:
            created = _wrap("manifest", parse_time, manifest.created_at, str(where))
            if created >= expires:
                raise BundleRefused("manifest", f"{where}: created_at {manifest.created_at} is not before expires_at")
    if policy.catalog is not None:
        policy.catalog.check(bundle)
    report = None
    if policy.selftest:
        if not manifest.selftest:
            raise BundleRefused("selftest", f"{where}: bundle has no self-test images")
        try:
            report = run_selftest(bundle, policy.run_model, atol=policy.selftest_atol)
        except BundleError as exc:
            raise BundleRefused("selftest", str(exc)) from None
        if not report.ok:
            raise BundleRefused("selftest", f"{root}: {report.summary()}")
    return VerifiedBundle(bundle, keyid, report)
