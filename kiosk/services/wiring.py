"""Opening what a :class:`~kiosk.config.KioskConfig` names: catalog, model (plain bundle or signed store),
the kiosk's sales store, the scale and the USB barcode scanner (``[barcodes] scanner``). Anything opened before a
failure is closed again; a missing or broken bundle is one line (:class:`~kiosk.errors.BundleError`)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig
from kiosk.errors import BundleError, CatalogError

__all__ = ["OpenedParts", "close_all", "open_catalog", "open_parts"]

log = logging.getLogger(__name__)


def open_catalog(path: str | Path):
    """Open an existing catalog so that any thread may use it (the service serialises access).

    A row that breaks a catalog rule (a price that is not whole paise in range, an unknown GST rate …) is left out
    of the kiosk's lookups and logged as an error naming its SKU and column: one bad row does not close the store.
    A catalog with nothing left to sell is refused.
    """
    from catalog.repository import Catalog, bad_rows_message

    path = Path(path)
    catalog = Catalog.open(path, create=False, shared=True)  # a catalog, schema checked, migrations applied
    try:
        bad = catalog.bad_rows()
        if bad and not catalog.list_active():
            raise CatalogError(bad_rows_message(path, bad, lead="no SKU can be sold: "))
        for line in bad:
            log.error("%s: %s; the kiosk does not sell it (import a corrected CSV with `checkout catalog import`)",
                      path, line)
    except BaseException:
        catalog.close()
        raise
    return catalog


def close_all(*things: Any) -> None:
    """Close each (last opened first is the caller's order); a failure is logged, the rest still close."""
    for thing in things:
        if thing is not None and hasattr(thing, "close"):
            try:
                thing.close()
            except Exception:
                log.exception("closing %r", thing)


@dataclass
class OpenedParts:
    catalog: Any
    store: Any
    scale: Any
    model: Any  # kiosk.bundles.active.ActiveModel
    catalog_lock: threading.RLock
    updater: Any = None
    notices: list[tuple[str, str]] = field(default_factory=list)  # (level, text) for the first UI
    scanner: Any = None  # kiosk.barcodes.scanner.Scanner or None
    terminal: Any = None  # kiosk.payments.PaymentTerminal (config.payment_terminal)
    rollback: Any = None  # staff mode's model rollback, (actor, reason, record) -> (from, to); None without model_state
    gallery: Any = None  # kiosk.gallery.Gallery (config.gallery) or None
    instance: Any = None  # kiosk.services.instance.InstanceLock: one kiosk per state folder, held until closed


def _open_models(config: KioskConfig, catalog_lock, opened: list, gallery=None) -> tuple[Any, Any, Any]:
    """``(catalog, recognizer or None, OpenedModelStore or None)``: a plain bundle (loaded first), or the signed
    store's active bundle, checked against the catalog (the catalog decides which model may run); each recogniser
    gets the kiosk's ``gallery`` (its taught products) as it loads."""
    from kiosk.recognition.recognizer import Recognizer
    from kiosk.services.teaching import attach_gallery

    recognizer = models = None
    if not config.model_state.strip():
        recognizer = Recognizer.load(config.bundle, backend=config.backend, device=config.device,
                                     threads=config.threads or None, top_k=config.top_k, precision=config.precision)
        opened.append(recognizer)
        attach_gallery(recognizer, gallery)
    catalog = open_catalog(config.catalog)
    opened.append(catalog)
    if config.model_state.strip():
        from kiosk.services.model_updates import catalog_compat, open_model_store

        models = open_model_store(config, catalog_compat(catalog, catalog_lock), gallery=gallery)
        recognizer = models.recognizer
        if recognizer is not None:
            opened.append(recognizer)
    return catalog, recognizer, models


def _model_notices(config: KioskConfig, models) -> list[tuple[str, str]]:
    if models is None:
        return []
    notices = [("warning", text) for text in models.warnings]
    if models.installed_version is not None:
        notices.append(("info", f"model v{models.installed_version} installed from {config.bundle} into "
                                f"{config.model_state}"))
    return notices


def open_parts(config: KioskConfig) -> OpenedParts:
    from kiosk.barcodes.scanner import open_scanner
    from kiosk.bundles.active import ActiveModel
    from kiosk.payments import open_terminal
    from kiosk.scale import open_scale
    from kiosk.services.instance import hold_instance_lock
    from kiosk.services.teaching import open_gallery
    from kiosk.store import SalesStore

    instance = hold_instance_lock(Path(config.store).parent)  # before anything is opened (the gallery sweeps)
    opened: list[Any] = [instance]
    catalog_lock = threading.RLock()
    try:
        try:
            gallery = open_gallery(config.gallery)
            opened.append(gallery)
            catalog, recognizer, models = _open_models(config, catalog_lock, opened, gallery)
        except BundleError as exc:
            if type(exc) is BundleError:  # one line for `checkout` (refusals are one line already)
                raise BundleError(" ".join(str(exc).split())) from None
            raise
        store = SalesStore.open(config.store, kiosk_id=config.kiosk_id, store_info=config.store_info,
                                audit_key=config.audit_key or None)
        opened.append(store)
        scale = open_scale(config.scale)
        opened.append(scale)
        scanner = open_scanner(config.barcodes.scanner)
        opened.append(scanner)
        terminal = open_terminal(config.payment_terminal)
        opened.append(terminal)
    except BaseException:
        close_all(*reversed(opened))
        raise
    from kiosk.services.teaching import unused_gallery

    unused = unused_gallery(recognizer, gallery)  # taught products this model cannot suggest: said at the start
    notices = _model_notices(config, models) + ([(unused.level, unused.message)] if unused is not None else [])
    parts = OpenedParts(catalog, store, scale, ActiveModel(recognizer), catalog_lock,
                       models.updater if models is not None else None, notices, scanner,
                       terminal, gallery=gallery, instance=instance)
    if models is not None:
        from kiosk.services.model_updates import model_rollback, settle_staff_rollback

        parts.rollback = model_rollback(models, parts.model, config)
        settle_staff_rollback(store, models)  # a rollback row whose rollback a kill kept the store from making
    return parts
