"""The kiosk updater: poll a channel, download with resume, verify everything, activate atomically.

One check (:meth:`Updater.check_once`)::

    fetch index.json → apply key rotations it carries → verify its signature, version (no replay), expiry
    → pick this store's group entry → skip if not newer than active, blocked, or outside the staged roll-out
    → download the archive into staging/ (HTTP Range resume) → size + sha256 from the signed index
    → safe tar extraction → verify_bundle (signature, hashes, version > active, expiry, catalog, self-test)
    → install as versions/N (one rename) → switch active.json (one rename) → load it
    → on load failure: switch back (auto-rollback, audited, version blocked) → else hand it to ``on_activated``

Every state change updates ``status.json`` (the report head office collects) and calls the listeners. Every refusal
is one line in ``status.json`` (state ``failed``) and ``audit.jsonl``, whatever failed inside a check; a version
refused for what head office signed (its model contract or self-test, see :data:`BLOCKING_REASONS`) is blocked, so
the channel is not downloaded and verified again on every poll: head office has to publish a newer version. Expiry
is judged by the store's clock (:meth:`BundleStore.trusted_now`), which never runs backwards: a till whose clock is
set back cannot revive an expired bundle or channel index. One reading far ahead cannot stop updates for good: a
newer ``created_at`` head office signs (an index, a bundle) takes it back (:meth:`BundleStore.vouch`, audited
``clock-correction``), a refusal only the remembered time makes says so and names state.json, and staff can run
``checkout kiosk clock-reset`` (audited).
"""

from __future__ import annotations

import enum
import errno
import json
import logging
import os
import shutil
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.archive import safe_extract
from kiosk.bundle_format.atomic import atomic_write
from kiosk.bundle_format.bundle import MANIFEST, SIGNATURE, read_manifest, sha256_file
from kiosk.bundle_format.channel import INDEX, MAX_INDEX_BYTES, group_entry, in_rollout, verify_index
from kiosk.bundle_format.contract import ModelInspector
from kiosk.bundle_format.selftest import DEFAULT_ATOL
from kiosk.bundle_format.timestamps import iso, parse_time
from kiosk.bundle_format.trust import TrustStore, verify_manifest_signature
from kiosk.bundle_format.verify import BundleRefused, CatalogCompat, VerifyPolicy, verify_bundle
from kiosk.bundles.store import BLOCKING_REASONS, BundleStore
from kiosk.errors import BundleError, DataError
from kiosk.exchange.document import load_document
from kiosk.inputfiles import not_a, path_kind

log = logging.getLogger(__name__)


class UpdateState(str, enum.Enum):
    IDLE = "idle"
    CHECKING = "checking"
    DOWNLOADING = "downloading"
    VERIFYING = "verifying"
    ACTIVATING = "activating"
    FAILED = "failed"


@dataclass
class UpdateStatus:
    """What the status bar shows and ``status.json`` holds."""

    store_id: str
    group: str
    channel: str
    state: str = UpdateState.IDLE.value
    active_version: int | None = None
    available_version: int | None = None
    last_check: str | None = None
    last_success: str | None = None  # last check that ended without error
    last_activation: str | None = None
    last_error: str | None = None
    last_error_reason: str | None = None
    progress_bytes: int = 0
    progress_total: int = 0
    installed_versions: list[int] = field(default_factory=list)
    blocked_versions: list[int] = field(default_factory=list)
    updated_at: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UpdateResult:
    outcome: str  # activated | up-to-date | not-in-rollout | refused | rolled-back | error
    version: int | None = None
    message: str = ""
    reason: str | None = None  # refusal reason code (see kiosk.bundle_format.verify.REASONS) when refused


def _now() -> datetime:
    return datetime.now(timezone.utc)


def channel_url(base: str, name: str) -> str:
    """Join a channel base (``file:``/``http(s):`` URL or a plain path) and a relative name."""
    if "://" not in base and not base.startswith("file:"):
        base = Path(base).resolve().as_uri()
    return base.rstrip("/") + "/" + name


def _file_path(url: str) -> Path:
    parsed = urllib.parse.urlparse(url)
    return Path(urllib.request.url2pathname(parsed.path))


class Updater:
    def __init__(self, store: BundleStore, trust: TrustStore, channel: str, store_id: str, group: str = "default",
                 catalog: CatalogCompat | None = None, backend: str = "onnxruntime",
                 selftest_atol: float = DEFAULT_ATOL, keep_versions: int = 3,
                 loader: Callable[[Path], object] | None = None,
                 on_activated: Callable[[object], None] | None = None,
                 now: Callable[[], datetime] = _now, timeout_s: float = 30.0,
                 inspect_model: ModelInspector | None = None):
        self.store, self.trust, self.channel = store, trust, channel
        self.store_id, self.group, self.catalog = store_id, group, catalog
        self.backend, self.selftest_atol, self.keep_versions = backend, selftest_atol, keep_versions
        self.loader = loader or self._default_loader
        self.on_activated = on_activated
        self.wall_clock, self.timeout_s = now, timeout_s
        self.inspect_model = inspect_model
        self._listeners: list[Callable[[UpdateStatus], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        previous = self._read_status()
        self.status = UpdateStatus(store_id=store_id, group=group, channel=channel)
        for key in ("last_check", "last_success", "last_activation", "last_error", "last_error_reason"):
            setattr(self.status, key, previous.get(key))
        self.store.apply_rotations(self.trust)

    def now(self) -> datetime:
        """The wall clock, or the latest time this store has seen when the clock was set back."""
        return self.store.trusted_now(self.wall_clock())

    # ----------------------------------------------------------------------------------------- status

    def add_listener(self, callback: Callable[[UpdateStatus], None]) -> Callable[[], None]:
        """``callback(status)`` after every state change (called from the updater thread)."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def _read_status(self) -> dict:
        status, problem = self.store.read_status()
        if problem:
            log.warning("%s", problem)
        return status

    def _set(self, **changes) -> None:
        for k, v in changes.items():
            setattr(self.status, k, v.value if isinstance(v, enum.Enum) else v)
        s = self.status
        for key, read in (("active_version", self.store.active_version),
                          ("installed_versions", self.store.installed_versions),
                          ("blocked_versions", lambda: sorted(self.store.blocked_versions()))):
            try:
                setattr(s, key, read())
            except (OSError, BundleError):  # a damaged store file: the check that reads it says so, in one line
                pass
        s.updated_at = iso(self.now())
        try:
            atomic_write(self.store.status_path, (json.dumps(s.to_json(), indent=2, sort_keys=True) + "\n").encode())
        except OSError:
            log.exception("cannot write %s", self.store.status_path)
        for cb in list(self._listeners):
            try:
                cb(s)
            except Exception:
                log.exception("update listener failed")

    # ----------------------------------------------------------------------------------------- loading

    def _default_loader(self, path: Path):
        from kiosk.recognition.recognizer import Recognizer

        return Recognizer.load(path, backend=self.backend, cache_dir=self.store.cache_dir)

    def _learn_rotations(self, rotations, where: str) -> None:
        if not rotations:
            return
        if not isinstance(rotations, list):
            raise BundleRefused("index", f"{where}: 'rotations' must be a list")
        added = self.trust.apply_rotations([(f"{where} rotations[{i}]", r) for i, r in enumerate(rotations)])
        for kid in added:
            self.store.save_rotation(self.trust, kid)
            self.store.audit("key-rotation", new_keyid=kid, actor="channel", reason=where)

    # ----------------------------------------------------------------------------------------- network

    def _fetch_small(self, url: str, limit: int = MAX_INDEX_BYTES) -> bytes:
        try:
            if url.startswith("file:"):
                with open(_file_path(url), "rb") as fh:
                    data = fh.read(limit + 1)
            else:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as resp:
                    data = resp.read(limit + 1)
        except (OSError, urllib.error.URLError) as exc:
            raise BundleError(f"{url}: cannot fetch ({exc})") from None
        if len(data) > limit:
            raise BundleRefused("index", f"{url}: larger than {limit} bytes")
        return data

    def download(self, url: str, part: Path, size: int, sha256: str) -> Path:
        """Download ``url`` into ``part``, resuming what is already there; check size and sha256."""
        have = part.stat().st_size if part.exists() else 0
        if have > size:
            part.unlink()
            have = 0
        self._set(state=UpdateState.DOWNLOADING, progress_bytes=have, progress_total=size)
        if have < size:  # the rest of the archive, then a copy unpacked beside it (at most its size)
            _check_space(part.parent, size - have + size, f"downloading and unpacking {url}")
            try:
                if url.startswith("file:"):
                    src = open(_file_path(url), "rb")
                    src.seek(have)
                    mode = "ab"
                else:
                    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
                    src = urllib.request.urlopen(req, timeout=self.timeout_s)
                    mode = "ab" if (have and src.status == 206) else "wb"
                    if mode == "wb":
                        have = 0
                with src, open(part, mode) as out:
                    while have <= size:
                        block = src.read(min(1 << 20, size + 1 - have))
                        if not block:
                            break
                        out.write(block)
                        have += len(block)
                        self.status.progress_bytes = have
                    out.flush()
                    os.fsync(out.fileno())
            except urllib.error.HTTPError as exc:
                if exc.code == 416:  # our partial is stale: start over next time
                    part.unlink(missing_ok=True)
                raise BundleError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            except (OSError, urllib.error.URLError) as exc:
                raise _disk_error(exc, part, size - have) or BundleError(
                    f"{url}: download interrupted ({exc}); will resume") from None
        self._set(progress_bytes=have)
        if have > size:
            part.unlink(missing_ok=True)
            raise BundleRefused("download", f"{url}: larger than the {size} bytes the signed index says")
        if have < size:
            raise BundleRefused("download", f"{url}: truncated download: got {have} of {size} bytes")
        if sha256_file(part) != sha256:
            part.unlink(missing_ok=True)
            raise BundleRefused("download", f"{url}: sha256 does not match the signed channel index")
        return part

    # ----------------------------------------------------------------------------------------- checking

    def check_once(self) -> UpdateResult:
        """One poll of the channel. Never raises for update problems: they end in ``status.last_error``."""
        with self.store.lock():
            try:
                self.store.clean_staging()  # what a killed run (CLI or kiosk) left unpacked
                self._repair_pointer()
                self._set(state=UpdateState.CHECKING, last_check=iso(self.now()), progress_bytes=0, progress_total=0)
                result = self._check()
            except Exception as exc:  # noqa: BLE001 - whatever happened, the status says so and polling goes on
                exc = _as_bundle_error(exc)
                self._failed(exc)
                return UpdateResult("refused" if isinstance(exc, BundleRefused) else "error", None, str(exc),
                                    getattr(exc, "reason", "error"))
            fields = {"state": UpdateState.IDLE, "last_success": iso(self.now())}
            if result.outcome != "rolled-back":
                fields.update(last_error=None, last_error_reason=None)
            self._set(**fields)
            return result

    def _repair_pointer(self) -> None:
        """An ``active.json`` naming a version that is not installed said "up to date" for ever: it now points at
        the newest installed version that verifies (or none), audited, before the check goes on."""
        problem = self.store.repair_pointer(self.trust)
        if problem:
            log.warning("%s; now %s", problem, f"version {self.store.active_version()}"
                        if self.store.active_version() is not None else "no active version")

    def _failed(self, exc: BundleError) -> None:
        reason = getattr(exc, "reason", "error")
        version = getattr(exc, "version", None)
        blocked = version is not None and reason in BLOCKING_REASONS and version != self.store.active_version()
        if blocked:
            self.store.block(version)
        self._set(state=UpdateState.FAILED, last_error=str(exc), last_error_reason=reason)
        if reason != "error":  # refusals are security-relevant: keep them (network hiccups are not)
            self.store.audit("refused", reason=reason, actor="updater", message=str(exc), version=version,
                             blocked=blocked, active_version=self.store.active_version())
        log.warning("%s", exc)

    def _check(self) -> UpdateResult:
        url = channel_url(self.channel, INDEX)
        raw = self._fetch_small(url)
        try:  # nested 100,000 deep, NaN, 1e400 or a lone surrogate: refused here, not where it is used
            doc = load_document(raw, url, "the channel index")
        except DataError as exc:
            raise BundleRefused("index", str(exc)) from None
        if isinstance(doc, dict) and isinstance(doc.get("signed"), dict):
            self._learn_rotations(doc["signed"].get("rotations"), url)
        state = self.store.read_state()
        signed, entry = self._verified_index(doc, url, state.get("index_version"))
        if signed["version"] != state.get("index_version"):
            self.store.write_state(index_version=signed["version"])
        self.store.drop_partials(keep=_part_name(entry["sha256"]) if entry else None)  # superseded downloads
        if entry is None:
            return UpdateResult("up-to-date", self.store.active_version(), f"no release for group {self.group!r}")
        version, size, digest, archive = entry["model_version"], entry["size"], entry["sha256"], entry["archive"]
        self._set(available_version=version)
        active = self.store.active_version()
        if active is not None and version <= active:
            return UpdateResult("up-to-date", active, f"active version {active} is current (channel has {version})")
        if version in self.store.blocked_versions():
            return UpdateResult("up-to-date", active,
                                f"version {version} was refused or rolled back here; waiting for a newer one")
        if not in_rollout(self.store_id, self.group, entry):
            return UpdateResult("not-in-rollout", active,
                                f"version {version} is rolling out to {entry.get('rollout_percent')}%; "
                                "not this store yet")
        part = self.store.staging_dir / _part_name(digest)
        self.download(channel_url(self.channel, archive), part, size, digest)
        result = self._install_archive(part, expected_version=version,
                                       expected_manifest_sha256=entry.get("manifest_sha256"),
                                       source=f"channel {self.channel}", shown=channel_url(self.channel, archive))
        part.unlink(missing_ok=True)
        return result

    def _verified_index(self, doc, url: str, min_version: int | None) -> tuple[dict, dict | None]:
        """The verified index and this group's entry. Judged first by the clock (never below the newest time head
        office signed); its ``created_at`` is then vouched for (:meth:`BundleStore.vouch`, which takes back a
        remembered reading far ahead), and, when the store remembers a later time still, judged by that too: a
        refusal caused by the remembered time says so and names state.json."""
        wall = self.wall_clock()
        try:
            signed = verify_index(doc, self.trust, url, min_version=min_version, now=self.store.vouched_now(wall))
            entry = group_entry(signed, self.group, url)  # every value checked before any is used or stored
            created = parse_time(signed["created_at"], url) if signed.get("created_at") else None
        except BundleError as exc:
            raise BundleRefused("index", str(exc)) from None
        if created is not None:
            self.store.vouch(created, wall, f"{url} (index version {signed['version']})")
        note = self.store.clock_note(wall)
        if note:
            try:
                verify_index(doc, self.trust, url, min_version=min_version, now=self.now())
            except BundleError as exc:
                raise BundleRefused("index", f"{exc}{note}") from None
        return signed, entry

    def _vouch_bundle(self, work: Path, wall: datetime) -> None:
        """Vouch for an extracted bundle's ``created_at`` (see :meth:`_verified_index`) when its signature verifies;
        otherwise nothing: :func:`verify_bundle` refuses it with its reason."""
        try:
            verify_manifest_signature(work, self.trust, now=self.store.vouched_now(wall))
            manifest = read_manifest(work)
            created = parse_time(manifest.created_at, str(work / MANIFEST)) if manifest.created_at else None
        except Exception:  # noqa: BLE001 - judged (one line, its reason) by verify_bundle
            return
        if created is not None:
            self.store.vouch(created, wall, f"bundle model_version {manifest.model_version}")

    def _judged_by_memory(self, exc: BundleRefused, work: Path, wall: datetime) -> BundleRefused:
        """``exc``, saying so and naming state.json when it is an expiry only the remembered time makes."""
        note = self.store.clock_note(wall) if exc.reason == "expired" else ""
        try:
            expired = parse_time(read_manifest(work).expires_at, "") <= self.store.vouched_now(wall)
        except Exception:  # noqa: BLE001 - no readable expiry: the refusal stands as it is
            expired = True
        if not note or expired:
            return exc
        out = BundleRefused(exc.reason, f"{str(exc).removeprefix(f'refused ({exc.reason}): ')}{note}")
        out.version = getattr(exc, "version", None)
        return out

    # ----------------------------------------------------------------------------------------- installing

    def install_archive(self, archive: Path | str, source: str = "", unblock: tuple[str, str] | None = None,
                        record: Callable[[dict], dict | None] | None = None) -> UpdateResult:
        """Extract, verify, install and activate a bundle archive (e.g. from a USB stick), with the same checks
        as a channel update. Raises BundleRefused naming the reason; the active bundle is untouched then.

        A version blocked here (a staff rollback left it, or it was refused for its contract or self-test) is
        refused, as the channel skips it, unless ``unblock`` is ``(staff, reason)``: then, once it has verified, it is
        unblocked (audited ``unblock``, who and why; ``record``, the till's own log, as
        :meth:`BundleStore.unblock` calls it) and installed. Anything but a regular file (a FIFO, a device,
        a folder) is refused before the store's lock is taken: a FIFO's read waited for ever holding it."""
        if path_kind(archive) != "a file":
            raise BundleRefused("archive", not_a(archive, "a bundle archive"))
        with self.store.lock():
            self._set(state=UpdateState.CHECKING, progress_bytes=0, progress_total=0)
            try:
                self.store.clean_staging()  # what a killed run (CLI or kiosk) left unpacked
                self._repair_pointer()
                result = self._install_archive(Path(archive), source=source or f"archive {archive}",
                                               shown=str(archive),
                                               before_install=lambda v: self._unblocked(v, archive, unblock, record))
            except Exception as exc:  # noqa: BLE001 - one line, an audit entry and a clean status, never a traceback
                exc = _as_bundle_error(exc)
                self._failed(exc)
                raise exc from None
            fields = {"state": UpdateState.IDLE}
            if result.outcome == "activated":
                fields.update(last_error=None, last_error_reason=None)
            self._set(**fields)
            return result

    def install_directory(self, bundle_dir: Path | str, source: str = "") -> UpdateResult:
        """Install a bundle directory (e.g. the ``bundle`` a kiosk is set up with) with the same checks as a channel
        update: it is packed the way ``publish`` packs it (manifest.json, manifest.sig and the files the manifest
        lists; nothing else) into staging/ and installed like :meth:`install_archive`. Raises BundleRefused
        naming the file in ``bundle_dir`` (not the staging copy) and the reason."""
        from kiosk.bundle_format.archive import write_archive

        bundle_dir = Path(bundle_dir)
        packed = self.store.staging_dir / f"pack-{os.getpid()}-{threading.get_ident()}.tmp"
        with self.store.lock():
            self._set(state=UpdateState.CHECKING, progress_bytes=0, progress_total=0)
            try:
                self.store.clean_staging()
                if not (bundle_dir / SIGNATURE).is_file():
                    raise BundleRefused("signature", f"{bundle_dir}: not signed (no {SIGNATURE}; head office signs "
                                                     "with `checkout bundle sign`)")
                try:
                    manifest = read_manifest(bundle_dir)  # parsed only: every check follows in _install_archive
                except BundleError as exc:
                    raise BundleRefused("manifest", str(exc)) from None
                try:  # a FIFO or device listed is refused by write_archive, never opened for a blocking read
                    write_archive(bundle_dir, packed, [MANIFEST, SIGNATURE, *manifest.files])
                except OSError as exc:
                    raise BundleRefused("hash",
                                        f"{bundle_dir}: cannot read a file the manifest lists ({exc})") from None
                except BundleError as exc:
                    raise BundleRefused("hash", str(exc)) from None
                result = self._install_archive(packed, source=source or f"directory {bundle_dir}",
                                               shown=str(bundle_dir), directory=True)
            except Exception as exc:  # noqa: BLE001 - one line, an audit entry and a clean status, never a traceback
                exc = _as_bundle_error(exc)
                self._failed(exc)
                raise exc from None
            finally:
                packed.unlink(missing_ok=True)
            fields = {"state": UpdateState.IDLE}
            if result.outcome == "activated":
                fields.update(last_error=None, last_error_reason=None)
            self._set(**fields)
            return result

    def _install_archive(self, archive: Path, expected_version: int | None = None,
                         expected_manifest_sha256: str | None = None, source: str = "", shown: str = "",
                         directory: bool = False, before_install: Callable[[int], None] | None = None) -> UpdateResult:
        """Extract ``archive`` into staging/, verify and activate it. A refusal names ``shown`` (what the user gave:
        the archive, the bundle directory when ``directory``, the channel URL) and the member, never the staging
        copy, which is gone by the time anyone reads the message. ``before_install(version)`` runs once it has
        verified (it may refuse)."""
        self._set(state=UpdateState.VERIFYING)
        work = self.store.new_staging_dir("extract")
        try:
            size = archive.stat().st_size  # what is unpacked is at most the archive's size
        except OSError:
            size = 0  # safe_extract names what is wrong with it
        _check_space(self.store.staging_dir, size, f"unpacking {shown or archive}")
        try:
            return self._install_extracted(archive, work, expected_version, expected_manifest_sha256, source,
                                           before_install)
        except OSError as exc:  # the disk's problem (full, a file size limit), not the archive's: no refusal
            raise _disk_error(exc, work, size) or exc from None
        except BundleRefused as exc:
            raise _renamed(exc, [(f"{work}/", f"{shown}/" if directory else f"{shown} member "),
                                 (str(work), shown), (str(archive), shown)] if shown else []) from None
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)

    def _install_extracted(self, archive: Path, work: Path, expected_version: int | None,
                           expected_manifest_sha256: str | None, source: str,
                           before_install: Callable[[int], None] | None = None) -> UpdateResult:
        try:
            try:
                safe_extract(archive, work)
            except BundleError as exc:
                raise BundleRefused("archive", str(exc)) from None
            if expected_manifest_sha256 and (work / MANIFEST).is_file() \
                    and sha256_file(work / MANIFEST) != expected_manifest_sha256:
                raise BundleRefused("index", f"{archive}: manifest.json differs from the one the channel index names")
            wall = self.wall_clock()
            self._vouch_bundle(work, wall)
            try:
                return self._verify_and_activate(work, expected_version, source, before_install)
            except BundleRefused as exc:
                raise self._judged_by_memory(exc, work, wall) from None
        except BundleRefused as exc:  # name the version refused, so that _failed can block it
            exc.version = expected_version if expected_version is not None else _manifest_version(work)
            raise

    def _verify_and_activate(self, work: Path, expected_version: int | None, source: str,
                             before_install: Callable[[int], None] | None = None) -> UpdateResult:
        active = self.store.active_version()
        if self._same_as_active(work, active):  # e.g. a rerun of an install killed after it had activated
            return UpdateResult("up-to-date", active, f"model_version {active} is already the active version (the "
                                                      f"same files as {self.store.version_dir(active)}); nothing to do")
        from kiosk.recognition.recognizer import selftest_runner

        inspect = self.inspect_model
        if inspect is None:
            from kiosk.recognition.contract import inspect_onnx as inspect
        policy = VerifyPolicy(self.trust, active_version=active, catalog=self.catalog,
                              run_model=selftest_runner("onnxruntime"), selftest_atol=self.selftest_atol, now=self.now,
                              inspect_model=inspect)
        verified = verify_bundle(work, policy)
        version = verified.version
        if expected_version is not None and version != expected_version:
            raise BundleRefused("index", f"{work / MANIFEST}: model_version {version}, "
                                         f"channel index says {expected_version}")
        if before_install is not None:
            before_install(version)
        self._set(state=UpdateState.ACTIVATING)
        self.store.install(work, version, self.trust)
        self.store.set_active(version, by="updater", previous=active)
        self.store.audit("activate", from_version=active, to_version=version, actor="updater",
                         keyid=verified.keyid, reason=source)
        try:
            loaded = self.loader(self.store.version_dir(version))
            if self.on_activated is not None:
                self.on_activated(loaded)
        except Exception as exc:  # noqa: BLE001 - any failure means: back to the previous model
            message = f"version {version} failed to load ({exc}); rolled back to {active}"
            self.store.block(version)
            if active is not None:
                self.store.set_active(active, by="auto-rollback", previous=None)
            else:
                self.store.pointer_path.unlink(missing_ok=True)
            self.store.audit("auto-rollback", from_version=version, to_version=active, actor="updater", reason=str(exc))
            self._set(last_error=message, last_error_reason="load")
            return UpdateResult("rolled-back", active, message, "load")
        self.store.prune(self.keep_versions)
        self._set(last_activation=iso(self.now()))
        return UpdateResult("activated", version, f"activated model version {version}")

    def _same_as_active(self, work: Path, active: int | None) -> bool:
        """True when the extracted bundle in ``work`` is the active version's own content: manifest.json first (so
        the names compared are the installed manifest's), then the signature and every file it lists, by sha256. A
        different bundle claiming the active version (or an older one) is left to :func:`verify_bundle`, which
        refuses it (rollback protection)."""
        if active is None:
            return False
        installed = self.store.version_dir(active)
        try:
            if sha256_file(work / MANIFEST) != sha256_file(installed / MANIFEST):
                return False
            names = [SIGNATURE, *read_manifest(installed).files]
            return all(sha256_file(work / n) == sha256_file(installed / n) for n in names)
        except (OSError, BundleError, ValueError):
            return False

    def _unblocked(self, version: int, archive, unblock: tuple[str, str] | None,
                   record: Callable[[dict], dict | None] | None = None) -> None:
        """Nothing when ``version`` is not blocked here; else a refusal, or with ``unblock`` (staff, reason) the
        version unblocked, audited (``record``: :meth:`BundleStore.unblock`'s)."""
        if version not in self.store.blocked_versions():
            return
        staff, reason = unblock or ("", "")
        if not staff.strip() or not reason.strip():
            raise BundleRefused("version", f"{archive}: model_version {version} is blocked here (a staff rollback "
                                           f"left it, or it was refused for its contract or self-test; see "
                                           f"{self.store.audit_path}); to install it anyway: checkout kiosk update "
                                           f"--archive {archive} --unblock --staff NAME --reason WHY (audited)")
        self.store.unblock(version, staff, reason, f"archive {archive}", record=record)

    # ----------------------------------------------------------------------------------------- polling

    def start(self, interval_s: float = 900.0) -> threading.Thread:
        """Poll every ``interval_s`` seconds in a daemon thread until :meth:`stop`."""
        def loop():
            while not self._stop.is_set():
                try:
                    self.check_once()
                except Exception:  # keep polling whatever happens
                    log.exception("update check crashed")
                self._stop.wait(interval_s)

        self._stop.clear()
        self._thread = threading.Thread(target=loop, name="bundle-updater", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def running(self) -> bool:
        """True while the polling thread of :meth:`start` is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def _part_name(digest: str) -> str:
    """The file in staging/ a download of the archive with sha256 ``digest`` goes to (and resumes from)."""
    return f"download-{digest[:32]}.part"


def _renamed(exc: BundleRefused, paths: list[tuple[str, str]]) -> BundleRefused:
    """``exc`` with each ``(old, new)`` path text replaced, keeping its reason and the version it names."""
    text = str(exc).removeprefix(f"refused ({exc.reason}): ")
    for old, new in paths:
        text = text.replace(old, new)
    out = BundleRefused(exc.reason, text)
    out.version = getattr(exc, "version", None)
    return out


#: errors that mean the disk (or a limit on it), not what was being written
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def _free(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _check_space(folder: Path, needed: int, what: str) -> None:
    """One ``error`` line (not a refusal) when ``folder``'s disk has less than ``needed`` bytes free."""
    free = _free(folder)
    if free is not None and needed > free:
        raise BundleError(f"update failed: not enough disk space for {what}: needs {_mb(needed)}, {_mb(free)} "
                          f"free in {folder}; free some space and it is tried again")


def _disk_error(exc: Exception, path: Path, needed: int | None = None) -> BundleError | None:
    """``exc`` as one ``error`` line about the disk when it is a full disk, a quota or a file size limit met while
    writing ``path`` (a file the error names wins); ``None`` for any other error."""
    if not isinstance(exc, OSError) or exc.errno not in _DISK_ERRNOS:
        return None
    where = Path(exc.filename) if exc.filename is not None else path
    if exc.errno == errno.EFBIG:
        return BundleError(f"update failed: {where}: {exc.strerror} (a limit on file size, e.g. `ulimit -f`, not a "
                           "fault of the bundle)")
    folder = where if where.is_dir() else where.parent
    free = _free(folder)
    amounts = (f"needs {_mb(needed)}, " if needed else "") + (f"{_mb(free)} free" if free is not None else "")
    return BundleError(f"update failed: the disk is full: {where}: {exc.strerror}"
                       + (f" ({amounts} in {folder})" if amounts else "") + "; free some space and it is tried again")


def _as_bundle_error(exc: Exception) -> BundleError:
    """A BundleError as it is; an OS error (a read-only folder, a full disk) as one ``error`` line naming the file;
    anything else (a bug) as one line too, logged with its traceback."""
    if isinstance(exc, BundleError):
        return exc
    disk = _disk_error(exc, Path("."))
    if disk is not None:
        return disk
    if isinstance(exc, OSError) and exc.filename is not None:
        target = f" → {exc.filename2}" if exc.filename2 is not None else ""
        return BundleError(f"update failed: {exc.filename}{target}: {exc.strerror or exc}")
    log.error("update failed unexpectedly", exc_info=exc)
    return BundleError(f"update failed: {type(exc).__name__}: {' '.join(str(exc).split())}")


def _manifest_version(work: Path) -> int | None:
    """The model_version an extracted bundle's manifest names, or None when it cannot be read."""
    try:
        return read_manifest(work).model_version
    except Exception:  # noqa: BLE001 - a manifest too broken to name its version: nothing to block
        return None
