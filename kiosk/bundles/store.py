"""The kiosk's on-disk bundle store: complete versions side by side and one pointer to the active one.

Layout (``state_dir``, e.g. ``/var/lib/checkout/models``)::

    state_dir/
      versions/3/ …            # complete, verified bundle directories (never written in place)
      versions/4/ …
      active.json              # {"version": 4, "previous": 3, "activated_at": …, "by": …}
      staging/                 # downloads (*.part, resumable) and extraction dirs; debris is cleared
      state.json               # {"index_version": 7, "blocked": [5], "last_seen": "…Z", "signed_seen": "…Z"}:
                               # replay protection, refused versions, the latest time seen (the store's clock
                               # never runs backwards) and the newest created_at head office signed; while a staff
                               # rollback is under way also "rolling_back": {"from": 5, "to": 4, …} (its intent,
                               # written first: whoever takes the lock next finishes a rollback that was killed)
      keys/rotations/*.json    # key rotations learned from the channel
      audit.jsonl              # one JSON line per activation / rollback (who, when, from, to, why)
      status.json              # the status report head office collects (written by the updater)
      lock                     # flock: one updater at a time
      cache/                   # what backends build for a model on this machine (TensorRT engines)

A new version is extracted and verified in ``staging/``, moved into ``versions/N`` with one directory rename,
and activated by replacing ``active.json`` (tmp + fsync + rename). A reader therefore sees the old pointer or the
new one, and either names a complete directory: a crash at any moment leaves the old or the new bundle active.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write, fsync_dir
from kiosk.bundle_format.bundle import MAX_MODEL_VERSION, Bundle
from kiosk.bundle_format.timestamps import iso, parse_time
from kiosk.bundle_format.trust import TrustStore
from kiosk.bundle_format.values import MAX_NUMBER, number
from kiosk.errors import BundleError, DataError, UserError
from kiosk.exchange.document import load_document, read_document
from kiosk.inputfiles import MB

log = logging.getLogger(__name__)
POINTER = "active.json"
CACHE = "cache"
#: refusals of what head office signed (the model files' hashes verified, so nobody else can cause them): that
#: version is blocked, not fetched and verified again (the updater), nor run again at a start (:meth:`open_active`).
#: A damaged copy (hash, archive, signature) or an old signature (expired) says nothing about the real release, so
#: they never block it (else a doctored USB stick could); nor does a model that failed to load at a start for a
#: reason of the moment (out of memory, a GPU not ready, a SKU inactive today).
BLOCKING_REASONS = frozenset({"contract", "selftest", "load"})
#: the remembered "last seen" time is written again once the clock has moved on this far
LAST_SEEN_STEP_S = 60
#: a remembered time more than this past both the clock and a newer signed document is taken for a bad reading
CLOCK_SLACK_S = 86_400


class BundleStore:
    def __init__(self, root: Path | str, create: bool = True):
        """The store in ``root``, its folders made when missing; ``create=False`` (commands that only read or roll
        back): a :class:`UserError` when ``root`` holds no model store, and nothing is created."""
        self.root = Path(root)
        self.versions_dir = self.root / "versions"
        self.staging_dir = self.root / "staging"
        self.trash_dir = self.staging_dir / "trash"
        self.keys_dir = self.root / "keys"
        self.pointer_path = self.root / POINTER
        self.state_path = self.root / "state.json"
        self.audit_path = self.root / "audit.jsonl"
        self.status_path = self.root / "status.json"
        self.cache_dir = self.root / CACHE
        self.on_lock_wait: Callable[[str], None] = log.warning  # the line said while waiting for :meth:`lock`
        self.on_notice: Callable[[str], None] = log.warning  # a repair made on taking the lock (see :meth:`lock`)
        self.resumed_rollback: dict | None = None  # the intent :meth:`finish_rollback` finished at the last lock
        if not create and not self.versions_dir.is_dir():
            raise UserError(f"{self.root}: no model store there (no versions/ folder; `checkout kiosk update` or the "
                            "kiosk's first start makes one)")
        for d in (self.versions_dir, self.staging_dir, self.keys_dir / "rotations") if create else ():
            d.mkdir(parents=True, exist_ok=True)

    # ----------------------------------------------------------------------------------------- locking

    @contextlib.contextmanager
    def lock(self, wait_s: float | None = None):
        """Exclusive lock for anything that changes the store (released by the kernel if the process dies).

        Tried without waiting first. When another process holds it (the running kiosk through a download, its
        self-test and the gallery's re-embedding), one line ``waiting for the model store's lock (held by pid N,
        COMMAND, since TIME)`` goes to :attr:`on_lock_wait` (the log; the ``checkout kiosk`` commands print it), and
        the lock is waited for: as long as the holder takes (``wait_s`` None: staff asked for a rollback, and it runs
        once the update in hand is done; Ctrl-C gives up), or ``wait_s`` seconds, then a :class:`UserError` naming
        the holder. The holder's pid, command and time are written into the lock file for that line.

        Whoever takes the lock first finishes a staff rollback that was killed half-way (:meth:`finish_rollback`),
        saying so in one line to :attr:`on_notice`."""
        fd = os.open(self.root / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _lock_holder(fd)
                self.on_lock_wait(f"{self.root}: waiting for the model store's lock (held by {holder}); it goes on "
                                  "when that has finished (Ctrl-C gives up)")
                _wait_for_lock(fd, wait_s, f"{self.root}: the model store's lock is still held by {holder}")
            _note_holder(fd)
            self.resumed_rollback = None
            self.finish_rollback()
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # ----------------------------------------------------------------------------------------- pointer

    def read_pointer(self) -> dict | None:
        return read_active_pointer(self.pointer_path)

    def active_version(self) -> int | None:
        p = self.read_pointer()
        return int(p["version"]) if p else None

    def version_dir(self, version: int) -> Path:
        return self.versions_dir / str(int(version))

    def active_dir(self) -> Path | None:
        v = self.active_version()
        return None if v is None else self.version_dir(v)

    def installed_versions(self) -> list[int]:
        return sorted(int(p.name) for p in self.versions_dir.iterdir()
                      if p.is_dir() and p.name.isascii() and p.name.isdigit())

    def set_active(self, version: int, by: str, previous: int | None = None) -> None:
        if not self.version_dir(version).is_dir():
            raise BundleError(f"{self.version_dir(version)}: not installed")
        data = {"version": int(version), "previous": previous, "activated_at": iso(datetime.now(timezone.utc)),
                "by": by}
        _write_document(self.pointer_path, data, "the active pointer", _pointer_problem)

    def pointer_problem(self) -> str:
        """One line when ``active.json`` names a version that is not installed (its folder gone), else ""."""
        pointer = self.read_pointer()
        if pointer is None or self.version_dir(pointer["version"]).is_dir():
            return ""
        return (f"{self.pointer_path}: names model version {pointer['version']}, which is not installed (no "
                f"{self.version_dir(pointer['version'])}); the next update or kiosk start falls back to the newest "
                "installed version that verifies")

    def state_problems(self) -> list[str]:
        """One line each for a staff rollback left half-done (the next lock holder finishes it) and an active version
        that is also blocked (the next start runs another one); [] when neither. A state file that cannot be read
        is left to :meth:`blocked_versions`, which names it."""
        try:
            intent, blocked = self.pending_rollback(), self.blocked_versions()
            active = self.active_version()
        except (OSError, BundleError):
            return []
        out = []
        if intent:
            out.append(f"{self.state_path}: a staff rollback from model version {intent['from']} to {intent['to']} "
                       f"({intent['actor']}, {intent['at']}) was interrupted; the next kiosk start, update or "
                       "rollback finishes it")
        if active is not None and active in blocked:
            out.append(f"{self.pointer_path}: model version {active} is active but also blocked in {self.state_path}"
                       + ("" if intent else "; the next kiosk start runs the newest other version that verifies"))
        return out

    def repair_pointer(self, trust: TrustStore) -> str:
        """When ``active.json`` names a version that is not installed, point it at the newest installed version
        that verifies and is not blocked, or remove it (no active version: the channel or an archive installs one)
        when none does; audited ``pointer-repair``. Returns what was wrong ("" when nothing). Call with
        :meth:`lock` held."""
        problem = self.pointer_problem()
        if not problem:
            return ""
        named = int(self.read_pointer()["version"])
        blocked, to = self.blocked_versions(), None
        for v in reversed(self.installed_versions()):
            try:
                if v not in blocked:
                    verify_installed(self.version_dir(v), trust)
                    to = v
                    break
            except BundleError:
                continue
        if to is None:
            self.pointer_path.unlink(missing_ok=True)
            fsync_dir(self.root)
        else:
            self.set_active(to, by="pointer-repair", previous=None)
        self.audit("pointer-repair", from_version=named, to_version=to, actor="updater", reason=problem)
        return problem

    # ----------------------------------------------------------------------------------------- state

    def read_status(self) -> tuple[dict, str]:
        """The updater's last status report (``status.json``, rewritten at each change) and ""; ``({}, line naming
        the file)`` when a disk fault or a hand damaged it (nested 100,000 deep was a RecursionError at the kiosk's
        start and in ``kiosk status``); ``({}, "")`` when there is none yet."""
        try:
            doc = _document(self.status_path, "the update status file")
        except FileNotFoundError:
            return {}, ""
        except BundleError as exc:
            return {}, f"{exc} (rewritten at the next check)"
        if not isinstance(doc, dict):
            return {}, f"{self.status_path}: the update status file is not a JSON object (rewritten at the next check)"
        return doc, ""

    def read_state(self) -> dict:
        """``state.json`` ({} when there is none yet); a :class:`BundleError` naming it and the field when a value is
        of the wrong kind (``"blocked": 5``, ``"index_version": "7"``), see :func:`read_update_state`."""
        return read_update_state(self.state_path)

    def write_state(self, **changes) -> dict:
        """``state.json`` with ``changes`` made (a value None removes that field), written atomically."""
        state = self.read_state()
        state.update(changes)
        state = {k: v for k, v in state.items() if v is not None}
        _write_document(self.state_path, state, "the update state file", _state_problem)
        return state

    def _remembered(self) -> tuple[datetime | None, datetime | None]:
        """``(last_seen, signed_seen)`` from ``state.json`` (read each time: staff may reset it from another
        process); ``(None, None)`` when the file cannot be read (judged, and refused, where it is read for its data)."""
        try:
            state = self.read_state()
        except BundleError:
            return None, None
        seen, signed = (parse_time(state[k], str(self.state_path)) if state.get(k) else None for k in STATE_TIMES)
        return seen, signed

    def trusted_now(self, wall: datetime) -> datetime:
        """``wall`` (the machine's clock), or the latest time this store has seen if that is later: a clock set back
        (by mistake, a dead RTC battery or on purpose) cannot make an expired bundle or channel index valid again.
        The latest time is kept in ``state.json`` (written again once it has moved on :data:`LAST_SEEN_STEP_S`). A
        reading that was far ahead is taken back by :meth:`vouch` or, by staff, :meth:`reset_clock`."""
        seen, _ = self._remembered()
        if seen is not None and wall <= seen:
            return seen
        if seen is None or (wall - seen).total_seconds() >= LAST_SEEN_STEP_S:
            try:
                self.write_state(last_seen=iso(wall))
            except (OSError, BundleError):  # a read-only or broken state file must not stop a check
                pass
        return wall

    def vouched_now(self, wall: datetime) -> datetime:
        """``wall``, or the newest ``created_at`` head office signed (:meth:`vouch`) when that is later: the time
        judged without the clock readings this store remembers."""
        _, signed = self._remembered()
        return max(wall, signed) if signed is not None else wall

    def clock_note(self, wall: datetime) -> str:
        """When the remembered time is later than :meth:`vouched_now`, the words a refusal judged by it ends with:
        that it was, the time and state.json, and the ways out; "" otherwise."""
        seen, _ = self._remembered()
        if seen is None or seen <= self.vouched_now(wall):
            return ""
        return (f"; judged by the time this kiosk remembers ({iso(seen)}, last_seen in {self.state_path}), not by "
                f"its clock ({iso(wall)}): the clock was set back, or once read ahead. A newer index from head office "
                f"corrects a reading that was ahead; staff can: checkout kiosk clock-reset --state {self.root} "
                "--staff NAME --reason WHY (audited)")

    def vouch(self, created: datetime, wall: datetime, what: str) -> None:
        """Head office signed ``what`` at ``created`` (its signature verified, by the clock ``wall``). A signed time
        newer than any before is evidence about the clock: when the remembered time is more than
        :data:`CLOCK_SLACK_S` past both it and the clock, that time was a bad reading (one check with the clock years
        ahead stored it, and every later check refused as expired what head office had just signed), so it goes back
        to the later of the two, audited as ``clock-correction``. A clock set back cannot use this: it needs a
        signature newer than any this store has seen, and it keeps the time head office signed. A ``created_at`` more
        than the slack ahead of the clock (head office's own clock wrong) is not taken."""
        if (created - wall).total_seconds() > CLOCK_SLACK_S:
            return
        seen, signed = self._remembered()
        if signed is not None and created <= signed:
            return
        floor = max(created, wall)
        wrong = seen is not None and (seen - floor).total_seconds() > CLOCK_SLACK_S
        self.write_state(signed_seen=iso(created), **({"last_seen": iso(floor)} if wrong else {}))
        if wrong:
            self.audit("clock-correction", actor="updater", from_time=iso(seen), to_time=iso(floor),
                       reason=f"{what} was signed at {iso(created)}, newer than anything signed before, and the "
                              f"clock says {iso(wall)}: the remembered time was a reading far ahead")

    def reset_clock(self, actor: str, reason: str, wall: datetime,
                    record: Callable[[dict], dict | None] | None = None) -> tuple[datetime | None, datetime | None]:
        """Staff: forget a remembered time later than the clock ``wall`` (a reading far ahead that blocks every
        update and no newer index from head office has corrected yet). It goes back to the clock, never below the
        newest time head office signed; audited as ``clock-reset`` (named by its ``reset_id``). Returns ``(before,
        after)``; ``after`` is None when there was nothing to reset.

        ``record(change)`` (the kiosk's own audit log; ``change``: ``id``, ``from``, ``to``) is called under the
        store's lock once there is something to reset, before anything changes: a refusal there changes nothing, and
        its ``{"audit_seq": N}`` goes into the ``clock-reset`` line, so each names the other."""
        if not actor.strip() or not reason.strip():
            raise UserError("clock-reset needs the staff member's name (--staff) and a reason (--reason)")
        with self.lock():
            state = self.read_state()  # a damaged file is one line here, never reset blindly
            seen, signed = (parse_time(state[k], str(self.state_path)) if state.get(k) else None
                            for k in STATE_TIMES)
            after = max(wall, signed) if signed is not None else wall
            if seen is None or seen <= after:
                return seen, None
            change = {"id": uuid.uuid4().hex, "from": iso(seen), "to": iso(after)}
            noted = _noted(record(change)) if record else {}
            self.write_state(last_seen=iso(after))
            self.audit("clock-reset", actor=actor, reason=reason, from_time=iso(seen), to_time=iso(after),
                       reset_id=change["id"], **noted)
            return seen, after

    def blocked_versions(self) -> set[int]:
        return {int(v) for v in self.read_state().get("blocked", [])}

    def block(self, version: int) -> None:
        self.write_state(blocked=sorted(self.blocked_versions() | {int(version)}))

    def unblock(self, version: int, actor: str, reason: str, source: str,
                record: Callable[[dict], dict | None] | None = None) -> None:
        """Staff's explicit go-ahead, under the caller's lock: the version may be installed again; audited as
        ``unblock`` (who, why, from where; named by its ``unblock_id``).

        ``record(change)`` (the kiosk's own audit log; ``change``: ``id``, ``version``) is called before anything
        changes: a refusal there changes nothing, and its ``{"audit_seq": N}`` goes into the ``unblock`` line, so
        each names the other."""
        change = {"id": uuid.uuid4().hex, "version": int(version)}
        noted = _noted(record(change)) if record else {}
        self.write_state(blocked=sorted(self.blocked_versions() - {int(version)}))
        self.audit("unblock", version=int(version), actor=actor, reason=reason, source=source,
                   unblock_id=change["id"], **noted)

    def audit(self, event: str, **fields) -> dict:
        entry = {"time": iso(datetime.now(timezone.utc)), "event": event, **fields}
        with open(self.audit_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, sort_keys=True) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        return entry

    def read_audit(self) -> list[dict]:
        if not self.audit_path.is_file():
            return []
        out = []
        for line in self.audit_path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(load_document(line.encode("utf-8"), str(self.audit_path), "an update log line"))
            except DataError:  # a line cut by a crash mid-write
                continue
        return out

    # ----------------------------------------------------------------------------------------- staging

    def new_staging_dir(self, prefix: str) -> Path:
        return self.staging_dir / f"{prefix}-{uuid.uuid4().hex[:12]}"

    def discard(self, path: Path) -> None:
        """Remove a directory crash-safely: rename into trash (atomic), then delete."""
        if not path.exists():
            return
        self.trash_dir.mkdir(parents=True, exist_ok=True)
        target = self.trash_dir / f"{path.name}-{uuid.uuid4().hex[:8]}"
        os.rename(path, target)
        shutil.rmtree(target, ignore_errors=True)

    def clean_staging(self) -> None:
        """Remove extraction and trash debris (and ``*.tmp`` packs) left by an interrupted or killed run; keep
        ``*.part`` downloads (:meth:`drop_partials` judges those). Call with :meth:`lock` held: every write into
        staging/ happens under it, so nothing found here is in use. Done at each start and each update."""
        for p in self.staging_dir.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)

    def drop_partials(self, keep: str | None = None) -> list[str]:
        """Remove the interrupted downloads (``*.part``) in staging/ except the one named ``keep`` (the release the
        channel's verified index names now: a resume continues it); a superseded release's partial would stay for
        good otherwise. Call with :meth:`lock` held. Returns the names removed."""
        dropped = []
        for p in self.staging_dir.glob("*.part"):
            if p.name != keep:
                p.unlink(missing_ok=True)
                dropped.append(p.name)
        return dropped

    def install(self, src: Path, version: int, trust: TrustStore) -> Path:
        """Move a verified staging directory to ``versions/N`` with one rename. If ``versions/N`` is already
        there (a run killed after installing), it is kept when it verifies and replaced otherwise."""
        dest = self.version_dir(version)
        if dest.exists():
            if dest == self.active_dir():
                raise BundleError(f"{dest}: version {version} is the active one")
            try:
                verify_installed(dest, trust)
                self.discard(src)
                return dest
            except BundleError:
                self.discard(dest)
        fsync_dir(src)
        try:
            os.rename(src, dest)
        except OSError as exc:
            raise BundleError(f"{self.versions_dir}: cannot install version {version} there "
                              f"({exc.strerror or exc})") from None
        fsync_dir(self.versions_dir)
        return dest

    def prune(self, keep: int) -> list[int]:
        """Keep the newest ``keep`` versions plus the active and previous ones; returns those removed."""
        pointer = self.read_pointer() or {}
        protect = {pointer.get("version"), pointer.get("previous")}
        versions = self.installed_versions()
        removed = []
        for v in versions[: max(0, len(versions) - keep)]:
            if v not in protect:
                self.discard(self.version_dir(v))
                removed.append(v)
        return removed

    # ----------------------------------------------------------------------------------------- keys

    def apply_rotations(self, trust: TrustStore) -> list[str]:
        """Teach ``trust`` the key rotations this kiosk learned from its channel (``keys/rotations/``)."""
        docs = read_rotations(self.keys_dir / "rotations")
        return trust.apply_rotations(docs) if docs else []

    def save_rotation(self, trust: TrustStore, keyid: str) -> None:
        atomic_write(self.keys_dir / "rotations" / f"{keyid}.json",
                     json.dumps(trust.rotations[keyid], sort_keys=True).encode())

    # ----------------------------------------------------------------------------------------- opening

    def open_active(self, trust: TrustStore, loader=None):
        """Verify the active bundle (signature + every hash) and return ``(Bundle, loaded)`` where ``loaded`` is
        ``loader(path)`` (e.g. a Recognizer) or ``None``. If the active one is broken or fails to load, fall back
        to the previous, then to the newest other verified version not blocked. What becomes of the one that failed
        depends on why (:meth:`_fell_back`): refused for what head office signed (a :data:`BLOCKING_REASONS`
        refusal) it is blocked and the pointer moves (``auto-rollback``); a copy that does not verify (missing or
        damaged files) moves the pointer without blocking it, so the channel or an archive can install it again;
        anything else (out of memory, a GPU not ready at boot, a SKU inactive in the catalog today) runs the other
        version for this start only (``fallback``): the pointer stays and the next start tries it again.
        An active version that is also blocked (a rollback or auto-rollback killed between its steps by an older
        release) is tried last: the pointer moves to the version that runs (audited ``blocked-active``), and either
        way one line to :attr:`on_notice` names it and what was done.
        Returns ``(None, None)`` when no installed version is usable."""
        self.apply_rotations(trust)
        with self.lock():
            self.clean_staging()
            pointer = self.read_pointer()
            if pointer is None:
                return None, None
            pointed = int(pointer["version"])
            blocked = self.blocked_versions()
            order = [pointed]
            if pointer.get("previous") is not None:
                order.append(int(pointer["previous"]))
            order += [v for v in reversed(self.installed_versions()) if v not in order and v not in blocked]
            errors: list[str] = []
            why = ""  # why the pointed version failed: "damaged", a blocking reason, or "" (a reason of the moment)
            if pointed in blocked:  # tried only when nothing else runs
                order = [v for v in order if v != pointed] + [pointed]
                why = "blocked"
            for v in order:
                try:
                    bundle = verify_installed(self.version_dir(v), trust)
                except Exception as exc:  # noqa: BLE001 - a copy that does not verify: try the next one
                    errors.append(f"v{v}: {exc}")
                    why = why or ("damaged" if v == pointed else "")
                    continue
                try:
                    loaded = loader(self.version_dir(v)) if loader else None
                except Exception as exc:  # noqa: BLE001 - any failure to load means: try the next one
                    errors.append(f"v{v}: {exc}")
                    reason = getattr(exc, "reason", None)
                    why = why or (reason if v == pointed and reason in BLOCKING_REASONS else "")
                    continue
                if v != pointed:
                    self._fell_back(pointed, v, why, "; ".join(errors))
                elif why == "blocked":
                    self.on_notice(f"{self.root}: model version {pointed} is active ({self.pointer_path}) but blocked "
                                   f"({self.state_path}); running it anyway: no other installed version verifies "
                                   f"and loads ({'; '.join(errors) or 'none installed'})")
                return bundle, loaded
            return None, None

    def _fell_back(self, pointed: int, to: int, why: str, errors: str) -> None:
        """The start runs ``to`` because ``pointed`` failed (see :meth:`open_active`); audited either way."""
        if not why:
            self.audit("fallback", from_version=pointed, to_version=to, actor="kiosk", reason=errors,
                       retry=f"the next start tries version {pointed} again")
            return
        if why == "blocked":
            self.set_active(to, by="blocked-repair", previous=None)
            self.audit("blocked-active", from_version=pointed, to_version=to, actor="kiosk",
                       reason="the active version was also blocked (a rollback killed half-way)")
            self.on_notice(f"{self.root}: model version {pointed} was active ({self.pointer_path}) and also blocked "
                           f"({self.state_path}), left so by a rollback killed half-way; it stays blocked and version "
                           f"{to} runs, now the active one")
            return
        if why in BLOCKING_REASONS:
            self.block(pointed)
        self.set_active(to, by="auto-rollback", previous=None)
        self.audit("auto-rollback", from_version=pointed, to_version=to, actor="kiosk", reason=errors,
                   blocked=why in BLOCKING_REASONS)

    def rollback(self, trust: TrustStore, actor: str, reason: str, to_version: int | None = None,
                 wait_s: float | None = None, record: Callable[[dict], dict | None] | None = None) -> int:
        """Staff rollback: the only way to a lower version. Audited; the version left is blocked so the updater
        does not reinstall it (a newer release is needed). Returns the version now active. ``wait_s``: how long to
        wait for the store's lock (see :meth:`lock`; None: until it is free).

        Its intent (``rolling_back`` in state.json) is written before anything changes, then the version left is
        blocked, the pointer moved, the rollback audited and the intent cleared: a process killed in between leaves
        the intent, and the next one to take the lock (a kiosk start, an update, a rerun) finishes it
        (:meth:`finish_rollback`). Blocking after moving the pointer instead would let the updater reinstall the
        version left in that window.

        ``record(intent)`` (the kiosk's own audit log) is called once every check passed, before the intent is
        written: a refusal there (it raises) changes nothing, and what it returns (``{"audit_seq": N}``: the row
        that records it) goes into the intent and the ``staff-rollback`` line, so each names the other."""
        if not actor.strip() or not reason.strip():
            raise UserError("rollback needs the staff member's name (--staff) and a reason (--reason)")
        self.apply_rotations(trust)
        with self.lock(wait_s):
            done = self.resumed_rollback
            if done and to_version in (None, done["to"]):  # a rerun of the rollback the lock just finished
                return int(done["to"])
            current = self.active_version()
            if current is None:
                raise UserError(f"{self.root}: no active model to roll back from")
            if to_version is None:
                candidates = [v for v in self.installed_versions() if v < current]
                if not candidates:
                    raise UserError(f"{self.root}: no installed version below {current} to roll back to")
                to_version = candidates[-1]
            if to_version >= current:
                raise UserError(f"rollback to {to_version}: must be below the active version {current}")
            if to_version not in self.installed_versions():
                raise UserError(f"rollback to {to_version}: not installed (have {self.installed_versions()})")
            verify_installed(self.version_dir(to_version), trust)
            intent = {"from": current, "to": to_version, "actor": actor, "reason": reason,
                      "at": iso(datetime.now(timezone.utc)), "id": uuid.uuid4().hex[:16]}
            if record is not None:  # the caller's record first: a change is never without it
                intent.update(_noted(record(dict(intent))))
            self.write_state(rolling_back=intent)
            self._complete_rollback(intent, resumed=False)
            return to_version

    def pending_rollback(self) -> dict | None:
        """The intent of a staff rollback that was killed before it finished (``rolling_back`` in state.json)."""
        return self.read_state().get("rolling_back")

    def finish_rollback(self) -> str:
        """Finish a staff rollback a killed process left half-done (see :meth:`rollback`): block the version it
        left, point at the one it went to, audit it once (``resumed``), clear the intent; one line to
        :attr:`on_notice` saying so, also returned ("" when there was none). Should the version it went to no longer
        be installed (removed by hand), the rollback is given up instead (the version left unblocked, so it is not
        both active and blocked; audited ``rollback-abandoned``). Call with :meth:`lock` held (it does so itself).
        A state file it cannot read is left to the caller, which reads it for its own work and says so."""
        try:
            intent = self.pending_rollback()
        except (OSError, BundleError):
            return ""
        if not intent:
            return ""
        what = (f"{self.root}: a staff rollback from model version {intent['from']} to {intent['to']} "
                f"({intent['actor']}, {intent['at']}) was interrupted before it finished")
        if not self.version_dir(intent["to"]).is_dir():
            self.write_state(blocked=sorted(self.blocked_versions() - {intent["from"]}), rolling_back=None)
            self.audit("rollback-abandoned", from_version=intent["from"], to_version=intent["to"],
                       actor=intent["actor"], reason=intent["reason"], rollback_id=intent["id"])
            line = f"{what}; version {intent['to']} is no longer installed, so it is given up: roll back again"
        else:
            self._complete_rollback(intent, resumed=True)
            self.resumed_rollback = intent
            line = f"{what}; finished now: version {intent['to']} active, version {intent['from']} blocked"
        self.on_notice(line)
        return line

    def _complete_rollback(self, intent: dict, resumed: bool) -> None:
        """The steps of a rollback after its intent is recorded; each is safe to repeat."""
        frm, to = int(intent["from"]), int(intent["to"])
        if frm not in self.blocked_versions():
            self.block(frm)
        if self.active_version() != to:
            self.set_active(to, by=f"staff:{intent['actor']}", previous=None)
        if not resumed or not any(e.get("rollback_id") == intent["id"] for e in self.read_audit()):
            self.audit("staff-rollback", from_version=frm, to_version=to, actor=intent["actor"],
                       reason=intent["reason"], rollback_id=intent["id"], **({"resumed": True} if resumed else {}),
                       **_noted(intent))
        self.write_state(rolling_back=None)


def _noted(fields: dict | None) -> dict:
    """What a ``record`` (a rollback's, a clock reset's, an unblock's) noted that the store's line carries:
    ``audit_seq``, the number of the kiosk's audit row that records it."""
    seq = (fields or {}).get("audit_seq")
    return {"audit_seq": seq} if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else {}


def _lock_holder(fd: int) -> str:
    """Who holds the lock, as its holder wrote it into the lock file (:func:`_note_holder`), or, for a holder that
    wrote nothing (an older release, another tool), the pid Linux's /proc/locks names."""
    try:
        text = os.pread(fd, 300, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return " ".join(text.split()) or _flock_pid(fd) or "another process"


def _flock_pid(fd: int) -> str:
    """``pid N (name)`` of the process /proc/locks says holds a flock on ``fd``'s file; "" when it cannot tell."""
    try:
        st = os.fstat(fd)
        want = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            for line in fh:
                fields = line.split()
                if "->" not in fields and "FLOCK" in fields and want in fields:
                    pid = fields[fields.index(want) - 1]
                    name = Path(f"/proc/{pid}/comm").read_text(errors="replace").strip()
                    return f"pid {pid} ({name})"
    except (OSError, ValueError):
        pass
    return ""


def _note_holder(fd: int) -> None:
    """Write this process (pid, command, since when) into the lock file it now holds; best effort."""
    words = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"]
    words += list(itertools.takewhile(lambda a: not a.startswith("-"), sys.argv[1:3]))
    text = f"pid {os.getpid()}, {' '.join(words)[:80]}, since {iso(datetime.now(timezone.utc))}\n".encode()
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, text, 0)
    except OSError:  # a read-only lock file still locks
        pass


def _wait_for_lock(fd: int, wait_s: float | None, still_held: str) -> None:
    """Block until ``fd`` is locked; with ``wait_s``, at most that long, then a UserError ``still_held``."""
    if wait_s is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise UserError(f"{still_held} after {wait_s:g} s; try again when it has finished") from None
            time.sleep(0.05)


def verify_installed(path: Path, trust: TrustStore) -> Bundle:
    """Signature (retired keys allowed) + every file's hash; no version, expiry or self-test checks."""
    from kiosk.bundle_format.verify import VerifyPolicy, verify_bundle

    return verify_bundle(path, VerifyPolicy(trust, installed=True, selftest=False)).bundle


def _document(path: Path, what: str):
    """The JSON document at ``path`` (FileNotFoundError passes through); a :class:`BundleError` naming the file when
    it is not one: unreadable, too large, not JSON, nested 100,000 deep or holding 1e400."""
    return read_document(path, MB, what, BundleError)


def read_rotations(folder: Path) -> list[tuple[str, dict]]:
    """``(path, document)`` of each key rotation in ``folder`` (a model store's ``keys/rotations``), in name order;
    a :class:`BundleError` naming the file that is not one (nested 100,000 deep, 1e400, …)."""
    docs = []
    for p in sorted(Path(folder).glob("*.json")):
        try:
            docs.append((str(p), _document(p, "a key rotation document")))
        except FileNotFoundError:
            continue  # removed meanwhile
    return docs


def _pointer_problem(data) -> str:
    """Why ``data`` is not an active pointer ("" when it is one): it names a version (and a previous one) by number."""
    if not isinstance(data, dict):
        return "corrupt active pointer (no version number)"
    for key in ("version", "previous"):
        value = data.get(key)
        if (value is not None or key == "version") and (isinstance(value, bool) or not isinstance(value, int)
                                                        or value < 0):
            return f"corrupt active pointer (no {key} number)" if key == "version" else \
                f"corrupt active pointer ({key} {value!r} is not a version number)"
    return ""


#: the times state.json keeps (ISO 8601, see :mod:`kiosk.bundle_format.timestamps`)
STATE_TIMES = ("last_seen", "signed_seen")


def _state_problem(data) -> str:
    """Why ``data`` is not an update state ("" when it is one): ``index_version`` a number, ``blocked`` a list of
    version numbers, the times ISO 8601 text. Fields it does not know are left alone."""
    if not isinstance(data, dict):
        return f"the update state file holds {_kind(data)}, not a JSON object"
    at = "the update state file's"
    if data.get("index_version") is not None:
        try:
            number(data["index_version"], f"{at} 'index_version'", 0, MAX_NUMBER, integer=True)
        except ValueError as exc:
            return str(exc)
    blocked = data.get("blocked", [])
    if not isinstance(blocked, list):
        return f"{at} 'blocked' must be a list of version numbers, not {_kind(blocked)}"
    for value in blocked:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MODEL_VERSION:
            return f"{at} 'blocked' must hold version numbers only, not {_kind(value)}"
    for key in STATE_TIMES:
        value = data.get(key)
        if value is None:
            continue
        try:
            parse_time(value if isinstance(value, str) else "", "")
        except BundleError:
            return f"{at} {key!r} must be an ISO 8601 time, not {_kind(value)}"
    return _intent_problem(data.get("rolling_back"), at)


def _intent_problem(intent, at: str) -> str:
    """Why ``intent`` is not a staff rollback's intent (see :meth:`BundleStore.rollback`); "" when it is one or None."""
    if intent is None:
        return ""
    if not isinstance(intent, dict):
        return f"{at} 'rolling_back' must be an object, not {_kind(intent)}"
    for key in ("from", "to"):
        value = intent.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MODEL_VERSION:
            return f"{at} 'rolling_back' must name the versions 'from' and 'to', not {key} {_kind(value)}"
    for key in ("actor", "reason", "at", "id"):
        if not isinstance(intent.get(key), str):
            return f"{at} 'rolling_back' must hold {key!r} as text, not {_kind(intent.get(key))}"
    return ""


def _kind(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def read_update_state(path: Path) -> dict:
    """The update state file at ``path`` ({} when there is none yet); a :class:`BundleError` in one line naming it,
    what is wrong and where, when it cannot be read or a value has the wrong kind."""
    try:
        data = _document(path, "the update state file")
    except FileNotFoundError:
        return {}
    problem = _state_problem(data)
    if problem:
        raise BundleError(f"{path}: {problem} (correct it by hand or remove it; the file keeps the channel index "
                          "version seen, the versions blocked here and the latest time seen)")
    return data


def _write_document(path: Path, data, what: str, problem=None) -> None:
    """Write ``data`` as JSON to ``path`` atomically, only if this store can read it back (:func:`_document` and
    ``problem``): a value it would refuse (a number beyond ±2**53, NaN) is a :class:`BundleError` and leaves the
    file as it was, so a kiosk never locks itself out of its own store."""
    raw = (json.dumps(data, sort_keys=True) + "\n").encode()
    try:
        load_document(raw, str(path), what)
    except DataError as exc:
        raise BundleError(f"refusing to write {exc}") from None
    reason = problem(data) if problem else ""
    if reason:
        raise BundleError(f"refusing to write {path}: {reason}")
    atomic_write(path, raw)


def read_active_pointer(path: Path) -> dict | None:
    """``active.json`` (None: no version is active yet); a :class:`BundleError` naming it when it holds no version."""
    try:
        data = _document(path, "the active pointer")
    except FileNotFoundError:
        return None
    problem = _pointer_problem(data)
    if problem:
        raise BundleError(f"{path}: {problem}")
    return data
