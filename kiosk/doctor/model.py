"""The model bundle the kiosk will run and the catalog it sells from.

Which bundle: with ``model_state`` set, the store's active version (what ``checkout kiosk`` loads), or, while the
store is still empty, ``bundle`` (the first start installs it with every check a channel update gets); without
``model_state``, ``bundle`` as it is. Nothing here writes: the store is read without :class:`BundleStore` (whose
constructor creates directories) and the catalog through a read-only SQLite connection (checked as the kiosk checks
it: a catalog's tables and columns, no views or triggers, every row keeping the catalog's rules), so running the
doctor as root never leaves root-owned files in the kiosk's state directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.doctor.core import FAIL, OK, WARN, CheckResult, Context

__all__ = ["ModelSource", "bundle_advice", "catalog_advice", "check_bundle", "check_catalog", "model_source",
           "read_model_manifest"]


@dataclass(frozen=True)
class ModelSource:
    """The bundle directory the kiosk will run (``None``: none), in words, and whether the first start installs it."""

    path: Path | None
    what: str
    first_start: bool = False


def _active_version(state: Path) -> int | None:
    """The version ``active.json`` names (the layout of :class:`kiosk.bundles.store.BundleStore`), or ``None``."""
    from kiosk.bundles.store import POINTER, read_active_pointer

    pointer = read_active_pointer(state / POINTER)
    return None if pointer is None else pointer["version"]


def model_source(ctx: Context) -> ModelSource:
    from kiosk.bundle_format.bundle import MANIFEST

    def find() -> ModelSource:
        config = ctx.config
        bundle = Path(config.bundle) if config.bundle.strip() else None
        if not config.model_state.strip():
            return ModelSource(bundle, f"bundle {bundle}")
        state = Path(config.model_state)
        version = _active_version(state)
        if version is not None:
            return ModelSource(state / "versions" / str(version), f"model v{version} active in {state}")
        if bundle is not None and (bundle / MANIFEST).is_file():
            return ModelSource(bundle, f"{state} empty; first start installs {bundle}", first_start=True)
        return ModelSource(None, f"no model: {state} has no active version and bundle {bundle} no manifest.json")

    return ctx.cached("model_source", find)


def read_model_manifest(ctx: Context):
    """The manifest of :func:`model_source`'s bundle (raises BundleError when there is none or it is unreadable)."""
    from kiosk.bundle_format.bundle import read_manifest
    from kiosk.errors import BundleError

    source = model_source(ctx)
    if source.path is None:
        raise BundleError(source.what)
    return read_manifest(source.path)


def bundle_advice(ctx: Context) -> str:
    return (f"put head office's signed bundle at {ctx.setting('bundle')} (the first start installs it into "
            "model_state), let the channel deliver a new one, or go back with `checkout kiosk rollback`; head "
            f"office's public key goes in {ctx.setting('trusted_keys')}")


def _trust_store(ctx: Context):
    """The trusted keys of ``config.trusted_keys`` plus the rotations the model store learned from its channel."""
    from kiosk.bundle_format.trust import KeyFileError, TrustStore
    from kiosk.bundles.store import read_rotations

    trust = TrustStore.load(ctx.config.trusted_keys)
    rotations = Path(ctx.config.model_state) / "keys" / "rotations" if ctx.config.model_state.strip() else None
    if rotations is not None and rotations.is_dir():  # one nested 100,000 deep is a FAIL line naming it
        trust.apply_rotations(read_rotations(rotations))
    if not trust.trusted:
        raise KeyFileError(f"{ctx.config.trusted_keys}: no trusted public keys (*.pub) there")
    return trust


def check_bundle(ctx: Context) -> CheckResult:
    """Signature by a trusted key and every file's size and sha256 (an unsigned plain bundle: hashes, and a WARN)."""
    from kiosk.bundle_format.bundle import SIGNATURE, load_bundle
    from kiosk.bundle_format.verify import VerifyPolicy, verify_bundle

    source = model_source(ctx)
    if source.path is None:
        return CheckResult(FAIL, "bundle", source.what)
    if not ctx.config.model_state.strip() and not (source.path / SIGNATURE).is_file():
        bundle = load_bundle(source.path)  # hashes: the kiosk refuses a bundle whose files do not match
        return CheckResult(WARN, "bundle", f"{source.what}: model v{bundle.version}, {len(bundle.manifest.files)} "
                                           "files match their hashes, but it is not signed and runs unchecked",
                           f"run head office's signed bundles: set {ctx.setting('model_state')} and trusted_keys")
    # the first start installs with the new-bundle rules (expiry too); an installed version is re-checked as the
    # kiosk re-checks it at every start (retired keys still verify it)
    policy = VerifyPolicy(_trust_store(ctx), installed=not source.first_start, selftest=False, now=ctx.now)
    verified = verify_bundle(source.path, policy)
    return CheckResult(OK, "bundle", f"{source.what}: model v{verified.version} signed by key {verified.keyid}, "
                                     f"{len(verified.bundle.manifest.files)} files verified")


def catalog_advice(ctx: Context) -> str:
    return (f"import the store's catalog as the kiosk user (`checkout catalog import FILE.csv --db PATH`) and "
            f"point {ctx.setting('catalog')} at it")


def _open_read_only(path: Path):
    """The catalog through a ``mode=ro`` connection, its structure checked as the kiosk checks it (nothing migrated:
    the kiosk does that)."""
    from catalog.repository import Catalog

    return Catalog.open(path, create=False, read_only=True)


def check_catalog(ctx: Context) -> CheckResult:
    """Opens, schema version, SKU count, and every label of the model an active SKU."""
    from catalog.repository import bad_rows_message
    from catalog.schema import MIGRATIONS
    from kiosk.bundle_format.bundle import Bundle
    from kiosk.bundle_format.verify import BundleRefused, CatalogCompat
    from kiosk.errors import BundleError

    path = Path(ctx.config.catalog)
    catalog = _open_read_only(path)
    try:
        schema, total = catalog.schema_version, len(catalog)
        readable = schema <= len(MIGRATIONS)  # a newer schema is refused below, unread
        bad = catalog.bad_rows() if readable else []
        active = {s.sku for s in catalog.list_active()} if readable else set()
    finally:
        catalog.close()
    known = len(MIGRATIONS)
    if schema > known:
        return CheckResult(FAIL, "catalog", f"{path}: schema {schema} is newer than this kiosk software knows "
                                            f"({known})", "upgrade the kiosk software (README: Install a till)")
    if bad:
        return CheckResult(FAIL, "catalog", bad_rows_message(path, bad), catalog_advice(ctx))
    found = f"{path}: schema {schema}, {total} SKUs ({len(active)} active)"
    if not active:
        return CheckResult(FAIL, "catalog", f"{found}: nothing to sell")
    try:
        manifest = read_model_manifest(ctx)
    except BundleError as exc:
        return CheckResult(WARN, "catalog", f"{found}; the model's labels not checked ({exc})", bundle_advice(ctx))
    try:  # the kiosk migrates an older catalog to `known` when it opens it, then applies this very check
        CatalogCompat(known, active.__contains__).check(Bundle(model_source(ctx).path, manifest))
    except BundleRefused as exc:
        return CheckResult(FAIL, "catalog", f"{found}; {str(exc).removeprefix('refused (catalog): ')}")
    return CheckResult(OK, "catalog", f"{found}; all {len(manifest.labels)} labels of the model are active SKUs")
