"""Signed model bundles in the running kiosk: the store's active bundle, the updater, and what the UI shows.

:func:`open_model_store` is what :meth:`CheckoutService.from_config` calls when ``config.model_state`` is set:

* the trusted keys come from ``config.trusted_keys`` (a directory of ``*.pub`` with optional ``rotations/``, or one
  ``.pub`` file), plus the rotations the store learned from its channel;
* **first start** (the store has no active version) with an existing ``config.bundle`` directory: that bundle is
  installed into the store with every check a channel update gets (signature by a trusted key, hashes, expiry,
  catalog compatibility, self-test), then activated. A bundle that fails a check stops the start with one
  ``BundleRefused`` line: whoever set the kiosk up is standing next to it. Later starts never look at ``bundle``
  again (new models come from the channel or ``checkout kiosk update --archive``);
* otherwise the store's active bundle is verified (signature, every hash) and checked against the kiosk's
  catalog (schema version, every label an active SKU) before it is loaded; a bundle that fails falls back to the
  previous / newest good version (``BundleStore.open_active``: audited ``auto-rollback``, the failed one blocked).
  No usable version at all: the kiosk starts without a model and sells by manual search (the status bar says
  ``Model —``) until the channel delivers one;
* an :class:`~kiosk.bundles.updater.Updater` is made when ``config.channel`` is set (the service starts it,
  hands it its model swap, and stops it).

:func:`update_event` turns the updater's :class:`~kiosk.bundles.updater.UpdateStatus` (mutable, updater thread)
into an immutable :class:`~kiosk.services.events.UpdateStatusChanged` with the one-line status-bar text.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from kiosk.config import KioskConfig
from kiosk.errors import BundleError
from kiosk.services.events import UpdateStatusChanged

__all__ = ["OpenedModelStore", "UpdateRelay", "catalog_compat", "model_rollback", "open_model_store", "rollback_made",
           "recognizer_loader", "settle_staff_rollback", "update_event", "describe_status", "updater_settings"]

log = logging.getLogger(__name__)


@dataclass
class OpenedModelStore:
    """What :func:`open_model_store` found: the store, the keys, the loaded recogniser (``None``: no usable model),
    the updater (``None`` without a channel), the version installed from ``config.bundle`` at this start, and
    warnings worth showing (fallbacks, no model)."""

    store: Any  # kiosk.bundles.store.BundleStore
    trust: Any  # kiosk.bundle_format.trust.TrustStore
    recognizer: Any
    updater: Any = None
    installed_version: int | None = None
    warnings: list[str] = field(default_factory=list)


def catalog_compat(catalog, lock: threading.RLock | None = None):
    """The bundle/catalog compatibility check built from the real catalog: its schema version, and "exists and is
    active" per SKU id, asked under ``lock`` (the service's catalog lock: the updater asks from its own thread)."""
    from kiosk.bundle_format.verify import CatalogCompat

    lock = lock or threading.RLock()
    with lock:
        schema = int(catalog.schema_version)

    def is_active(sku: str) -> bool:
        with lock:
            found = catalog.find(sku)
        return found is not None and bool(found.active)

    return CatalogCompat(schema, is_active)


def updater_settings(config: KioskConfig) -> dict[str, str]:
    """What the kiosk's updater is made with from its settings (``Updater`` keywords): the channel it polls, the store
    id and group that pick its staged roll-out, and the backend a new model must load with. ``checkout kiosk update
    --config`` takes the same (:mod:`kiosk.update_cli`)."""
    return {"channel": config.channel.strip(), "store_id": config.store_id.strip(),
            "group": config.store_group.strip(), "backend": config.backend}


def recognizer_loader(config: KioskConfig, gallery=None) -> Callable[[Path], Any]:
    """``path -> Recognizer`` with the kiosk's backend, device, threads and top-k (used at start and by the updater);
    backends keep what they build for a model (TensorRT engines) in the model state's ``cache/``."""
    from kiosk.bundles.store import CACHE
    from kiosk.recognition.recognizer import Recognizer

    cache_dir = Path(config.model_state) / CACHE if config.model_state.strip() else None

    def load(path: Path):
        from kiosk.services.teaching import attach_gallery

        recognizer = Recognizer.load(path, backend=config.backend, device=config.device,
                                     threads=config.threads or None, top_k=config.top_k, cache_dir=cache_dir,
                                     precision=config.precision)
        attach_gallery(recognizer, gallery)  # a new backbone re-embeds the taught products here, before the swap
        return recognizer

    return load


def open_model_store(config: KioskConfig, compat, gallery=None) -> OpenedModelStore:
    """Open ``config.model_state`` (see the module docstring). ``compat``: :func:`catalog_compat` of the catalog."""
    from kiosk.bundle_format.trust import KeyFileError, TrustStore
    from kiosk.bundles.store import BundleStore
    from kiosk.bundles.updater import Updater

    trust = TrustStore.load(config.trusted_keys)
    if not trust.trusted:  # every bundle would be refused; say so at start instead of running without a model
        raise KeyFileError(f"{config.trusted_keys}: no trusted public keys (*.pub) there; trusted_keys must name "
                           "head office's public key(s)")
    store = BundleStore(config.model_state)
    opened = OpenedModelStore(store, trust, None)
    store.on_notice = opened.warnings.append  # a rollback finished, a blocked version active: shown and logged
    load = recognizer_loader(config, gallery)
    updater = Updater(store, trust, catalog=compat, loader=load, **updater_settings(config))
    opened.updater = updater if config.channel.strip() else None
    try:
        return _open_active(config, compat, opened, updater, load)
    finally:
        store.on_notice = log.warning
        for text in opened.warnings:
            log.warning("%s", text)


def _open_active(config: KioskConfig, compat, opened: OpenedModelStore, updater, load) -> OpenedModelStore:
    """The first start's install from ``config.bundle``, or the store's active bundle (see :func:`open_model_store`)."""
    from kiosk.bundle_format.bundle import MANIFEST, load_bundle

    store, trust = opened.store, opened.trust
    bundle_dir = Path(config.bundle) if config.bundle else None

    if store.active_version() is None and bundle_dir is not None and (bundle_dir / MANIFEST).is_file():
        loaded: list[Any] = []
        updater.on_activated = loaded.append
        try:
            result = updater.install_directory(bundle_dir, source=f"kiosk set-up: bundle {bundle_dir}")
        finally:
            updater.on_activated = None
        if result.outcome != "activated" or not loaded:
            raise BundleError(f"{bundle_dir}: cannot install into {store.root}: {result.message}")
        log.info("installed %s into %s as model version %s", bundle_dir, store.root, result.version)
        opened.recognizer, opened.installed_version = loaded[-1], result.version
        return opened

    def checked_load(path: Path):
        compat.check(load_bundle(path))  # BundleRefused("catalog", …): try the previous version instead
        return load(path)

    pointed = store.active_version()
    bundle, recognizer = store.open_active(trust, loader=checked_load)
    opened.recognizer = recognizer
    if bundle is None:
        opened.warnings.append(
            f"no usable model in {store.root}" + (f" (v{pointed} failed its checks, see {store.audit_path})"
                                                  if pointed is not None else "")
            + ": sell by manual search until " + ("the channel delivers one" if opened.updater else "one is installed"))
    elif pointed is not None and bundle.manifest.model_version != pointed and not opened.warnings:
        opened.warnings.append(f"model v{pointed} failed its checks at start; running v{bundle.manifest.model_version} "
                               f"(see {store.audit_path})")
    return opened


# -- status bar ---------------------------------------------------------------------------------------------
def _clock_text(iso_time: str | None, tz: tzinfo | None = None) -> str:
    """``iso_time`` as HH:MM on the store's clock (``tz``; None: the process's zone)."""
    if not iso_time:
        return ""
    try:
        return datetime.fromisoformat(iso_time.replace("Z", "+00:00")).astimezone(tz).strftime("%H:%M")
    except ValueError:
        return ""


def describe_status(status, running_version: int | None = None, tz: tzinfo | None = None) -> tuple[str, str]:
    """``(text, level)`` for an UpdateStatus: one short line (``level`` ``ok|warn|error``); times on the store's
    clock (``tz``)."""
    active_v = status.active_version if status.active_version is not None else running_version
    active = f"v{active_v}" if active_v is not None else "no model"
    offered = f"v{status.available_version}" if status.available_version is not None else "new model"
    state = status.state
    if state == "checking":
        return f"Update: checking ({active} running)", "ok"
    if state == "downloading":
        pct = f" {100 * status.progress_bytes // status.progress_total}%" if status.progress_total else ""
        return f"Update: downloading {offered}{pct}", "ok"
    if state == "verifying":
        return f"Update: verifying {offered}", "ok"
    if state == "activating":
        return f"Update: activating {offered}", "ok"
    reason = status.last_error_reason or "error"
    if state == "failed":
        if reason == "error":  # network trouble: retried at the next check, nothing was refused
            return f"Update: check failed, will retry ({active} running)", "warn"
        return f"Update refused ({reason}): {active} keeps running", "error"
    if status.last_error:  # idle after an automatic rollback (the new version failed to load)
        return f"Update: {offered} failed to load ({reason}), back on {active}", "error"
    checked = _clock_text(status.last_check, tz)
    if not status.last_check:
        return f"Update: {active}, first check pending", "ok"
    return f"Update: {active} up to date" + (f" · checked {checked}" if checked else ""), "ok"


def update_event(status, running_version: int | None = None, tz: tzinfo | None = None) -> UpdateStatusChanged:
    """An immutable snapshot of ``status`` (an UpdateStatus) for listeners on other threads."""
    text, level = describe_status(status, running_version, tz)
    version = status.active_version if status.active_version is not None else running_version
    return UpdateStatusChanged(state=str(status.state), version=version, message=text, level=level,
                               available_version=status.available_version, error=status.last_error,
                               reason=status.last_error_reason, last_check=status.last_check)


class UpdateRelay:
    """The running kiosk's side of the updater: re-sends its state changes as events, swaps an activated model in
    (between two frames, cart untouched) and starts/stops its polling thread. ``updater`` may be ``None`` (no
    channel): then there is no status and nothing to start."""

    def __init__(self, updater, model, emit: Callable[..., None], interval_s: Callable[[], float],
                 tz: tzinfo | None = None) -> None:
        self.updater = updater
        self._tz = tz  # the store's zone: the status line's times are on the store's clock
        self._model = model  # kiosk.bundles.active.ActiveModel
        self._emit = emit
        self._interval_s = interval_s
        self.closed = False
        self.status: UpdateStatusChanged | None = None
        self._unsubscribe: Callable[[], None] = lambda: None
        if updater is not None:
            updater.on_activated = self._on_activated
            self._unsubscribe = updater.add_listener(self._on_status)
            self.status = update_event(updater.status, model.version, tz)

    def _on_status(self, status) -> None:
        """Updater listener (updater thread): snapshot the status and re-send it as an event."""
        self.status = update_event(status, self._model.version, self._tz)
        self._emit(self.status)

    def _on_activated(self, recognizer) -> None:
        """The updater activated a new model (updater thread): swap it in between two frames."""
        from kiosk.services.events import Notice

        if self.closed:
            recognizer.close()  # shutting down: the store already points at it; the next start runs it
            return
        self._model.swap(recognizer)
        self._emit(Notice("info", f"new recognition model v{getattr(recognizer, 'model_version', '?')} active"))

    def start(self) -> None:
        if self.updater is None or self.closed or self.updater.running:
            return
        self.updater.start(interval_s=self._interval_s())

    def stop(self, timeout: float = 10.0) -> None:
        if self.updater is not None:
            self.updater.stop(timeout)

    def close(self) -> None:
        self.closed = True  # a model the updater activates from now on is closed, not swapped in
        self.stop()
        self._unsubscribe()

    def check_now(self):
        """One update check now, on this thread (staff button, tests); returns the UpdateResult."""
        if self.updater is None:
            from kiosk.services.errors import CheckoutError

            raise CheckoutError("no update channel is configured (channel, with model_state and store_id)")
        return self.updater.check_once()


#: how long staff mode's rollback waits for the model store's lock (an update in hand) before saying so
STAFF_LOCK_WAIT_S = 3.0


def model_rollback(models: OpenedModelStore, active,
                   config: KioskConfig) -> Callable[..., tuple[int | None, int]]:
    """Staff mode's rollback (supervisors, :meth:`kiosk.services.staff_desk.StaffDesk.rollback_model`): the store's
    previous installed version becomes active (``BundleStore.rollback``: audited there too, the version left blocked)
    and runs at once, swapped in between two frames. Returns ``(version before, version now)``. While an update holds
    the store's lock (a download, its self-test) it waits at most :data:`STAFF_LOCK_WAIT_S`, then refuses in one line
    naming the holder: the window is not frozen for the length of a download.

    ``record(intent)``: the till's audit row, written by the store once every check passed and before anything there
    changes (see ``BundleStore.rollback``). A failure after the store made the rollback (its intent written: it is
    finished at the next start if not now) or after it moved the pointer (the model does not load) is
    :class:`~kiosk.services.errors.RollbackUnfinished`: the rollback stands."""
    load = recognizer_loader(config)

    def rollback(actor: str, reason: str, record: Callable[[dict], dict | None] | None = None
                 ) -> tuple[int | None, int]:
        from kiosk.services.errors import RollbackUnfinished

        store, noted = models.store, {}

        def noting(intent: dict) -> dict | None:
            noted.update(intent)
            return record(intent) if record is not None else None

        before = store.active_version()
        try:
            now = store.rollback(models.trust, actor=actor, reason=reason, wait_s=STAFF_LOCK_WAIT_S, record=noting)
        except Exception as exc:
            if noted and rollback_made(store, noted):
                raise RollbackUnfinished(f"model version {noted['to']} is active in {store.root} but the rollback "
                                         f"did not finish now ({exc}): it runs from the next start",
                                         noted["to"]) from exc
            raise
        try:
            active.swap(load(store.version_dir(now)))
        except Exception as exc:
            raise RollbackUnfinished(f"model version {now} is active in {store.root} but could not be loaded now "
                                     f"({exc}): it runs from the next start", now) from exc
        return before, now

    return rollback


def rollback_made(store, intent: dict) -> bool:
    """Whether the model store holds rollback ``intent`` (its intent written, to be finished at the next lock, or
    its pointer moved already); a store it cannot read counts as holding it (the row stands, the start settles it)."""
    try:
        pending = store.pending_rollback()
        return (pending or {}).get("id") == intent["id"] or store.active_version() == intent["to"]
    except Exception:  # noqa: BLE001 - an unreadable state file: :func:`settle_staff_rollback` looks again
        return True


def settle_staff_rollback(sales, models: OpenedModelStore | None) -> dict | None:
    """At the kiosk's start: a ``model.rollback`` row (the last of its kind) whose rollback the model store never
    made -- the kiosk stopped between writing the row and the store's intent -- gets its ``model.rollback_failed``
    row, so the log does not say a model is running that never was. Returns that row (None: nothing to settle)."""
    if models is None:
        return None
    last = sales.last_audit_row("model.rollback", "model.rollback_failed", "model.rollback_unfinished")
    rollback_id = last["detail"].get("rollback_id") if last and isinstance(last["detail"], dict) else None
    if last is None or last["kind"] != "model.rollback" or not isinstance(rollback_id, str):
        return None
    try:  # the start's lock has finished an intent it found (BundleStore.finish_rollback): its line is there
        made = any(e.get("event") == "staff-rollback" and e.get("rollback_id") == rollback_id
                   for e in models.store.read_audit())
        made = made or (models.store.pending_rollback() or {}).get("id") == rollback_id
    except Exception:  # noqa: BLE001 - a model store that cannot be read says nothing either way
        return None
    if made:
        return None
    log.warning("audit: the model rollback of audit row %d (%s) was not made: the kiosk stopped before the model "
                "store made it", last["seq"], rollback_id)
    return sales.audit("model.rollback_failed", last["actor"], rollback_id=rollback_id,
                       reason="not made: the kiosk stopped before the model store made it")
