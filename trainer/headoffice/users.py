"""Head-office users of the dashboard: a JSON file of names and salted scrypt password hashes (mode 0600), and a
sign-in check that makes a client wait after repeated wrong passwords for a name (growing waits, like the kiosks' PIN
pad). The wait is per name *and client address*: someone who knows a user's name and guesses from elsewhere locks
out only themselves. Past :data:`NAME_CEILING` wrong passwords for a name from anywhere, every try on it is slowed
(:meth:`Users.slow_s`) but still checked, so the user's right password still signs them in.

``checkout headoffice user add NAME --users FILE`` (the password read twice from the terminal, or one line from
standard input with ``--password-stdin``); ``user remove``; the password itself is never stored or printed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from kiosk.errors import UserError
from kiosk.exchange.document import read_document
from kiosk.inputfiles import MB

__all__ = ["Users", "hash_password", "check_password"]

_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 10
FREE_FAILURES = 5
MAX_WAIT_S = 900.0
MAX_NAME = 64
#: (name, client) pairs whose wrong passwords are remembered at once; beyond it the longest-quiet ones are forgotten
MAX_REMEMBERED = 10_000
#: a name's wrong passwords are forgotten this long after the last one
FORGET_AFTER_S = 24 * 3600.0
#: wrong passwords for one name from all clients after which every try on the name is slowed by NAME_SLOW_S
NAME_CEILING = 20
NAME_SLOW_S = 2.0


def valid_name(name: str) -> bool:
    return 0 < len(name) <= MAX_NAME and name.isprintable() and name == name.strip()


def hash_password(password: str) -> str:
    try:
        secret = password.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError("the password is not UTF-8 text: nothing changed") from None
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret, salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time check; never raises (a malformed hash is False)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8", "surrogatepass"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(bytes.fromhex(digest)))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, bytes.fromhex(digest))


_DUMMY = hash_password(secrets.token_hex(8))


class Users:
    """The users file, and sign-in with a growing wait per name and client after :data:`FREE_FAILURES` wrong
    passwords."""

    def __init__(self, path: str | os.PathLike, clock=time.monotonic) -> None:
        self.path = Path(path)
        self._clock = clock
        #: (name, client) → (wrong passwords, locked until, last)
        self._failures: dict[tuple[str, str], tuple[int, float, float]] = {}
        self._by_name: dict[str, tuple[int, float]] = {}  # name → (wrong passwords from any client, last)
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:  # nested 100,000 deep was a RecursionError traceback (a 500 on every dashboard page)
            doc = read_document(self.path, 64 * MB, "a users file", UserError)
        except FileNotFoundError:
            return {"users": {}}
        if not isinstance(doc, dict) or not isinstance(doc.get("users"), dict):
            raise UserError(f"{self.path}: not a users file (no 'users' table)")
        for name, entry in doc["users"].items():
            if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
                raise UserError(f"{self.path}: user {name[:70]!r} has no password hash (set one with "
                                f"`checkout headoffice user add`)")
        return doc

    def password_stamp(self, name: str) -> str | None:
        """A short fingerprint of ``name``'s stored password hash (None: no such user): a session made before the
        user was removed or given a new password no longer matches it."""
        try:
            entry = self._read()["users"].get(name)
        except UserError:
            return None
        return hashlib.sha256(entry["hash"].encode()).hexdigest()[:16] if entry else None

    def _write(self, doc: dict) -> None:
        from kiosk.bundle_format.atomic import AtomicFile

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with AtomicFile(self.path) as target:
                os.chmod(target.tmp, 0o600)
                target.tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        except OSError as exc:
            raise UserError(f"{self.path}: cannot write the users file ({exc.strerror or exc})") from None

    def names(self) -> list[str]:
        return sorted(self._read()["users"])

    def add(self, name: str, password: str) -> None:
        if not valid_name(name):
            raise UserError(f"user name {name[:70]!r}: 1-{MAX_NAME} printable characters, no spaces at either end")
        if len(password) < MIN_LENGTH:
            raise UserError(f"a head-office password needs at least {MIN_LENGTH} characters")
        doc = self._read()
        doc["users"][name] = {"hash": hash_password(password), "created_at": datetime.now(timezone.utc).isoformat()}
        self._write(doc)

    def remove(self, name: str) -> None:
        doc = self._read()
        if doc["users"].pop(name, None) is None:
            raise UserError(f"{self.path}: no user {name!r}")
        self._write(doc)

    def wait_s(self, name: str, client: str = "") -> float:
        """Seconds before ``client`` may try ``name`` again (0: now)."""
        with self._lock:
            _failures, until, _last = self._failures.get((name, client), (0, 0.0, 0.0))
        return max(0.0, until - self._clock())

    def slow_s(self, name: str) -> float:
        """Seconds to hold a try on ``name`` before it is checked: :data:`NAME_SLOW_S` once it has had
        :data:`NAME_CEILING` wrong passwords from all clients (a day quiet forgets them), else 0."""
        with self._lock:
            wrong, last = self._by_name.get(name, (0, 0.0))
        return NAME_SLOW_S if wrong >= NAME_CEILING and self._clock() - last <= FORGET_AFTER_S else 0.0

    def _count_try(self, name: str, client: str) -> bool:
        """Count a try as a wrong password from ``client`` before it is checked (False: this client is locked out
        of this name, refused unchecked), so that tries sent at once meet the wait as tries sent one after another
        do."""
        now = self._clock()
        with self._lock:
            n, until, _last = self._failures.get((name, client), (0, 0.0, 0.0))
            if until > now:
                return False
            n += 1
            wait = 0.0 if n < FREE_FAILURES else min(MAX_WAIT_S, 2.0 ** (n - FREE_FAILURES + 1))
            self._failures[(name, client)] = (n, now + wait, now)
            if len(self._failures) > MAX_REMEMBERED:
                _forget(self._failures, now, key=lambda v: v[2])
        return True

    def _count_wrong(self, name: str) -> None:
        now = self._clock()
        with self._lock:
            wrong, last = self._by_name.get(name, (0, 0.0))
            self._by_name[name] = (1 if now - last > FORGET_AFTER_S else wrong + 1, now)
            if len(self._by_name) > MAX_REMEMBERED:
                _forget(self._by_name, now, key=lambda v: v[1])

    def sign_in(self, name: str, password: str, client: str = "") -> tuple[bool, str]:
        """``(ok, why not)`` of ``client``'s try: ``locked`` (this client's wait for this name runs: refused
        unchecked), ``wrong`` (name or password)."""
        if not valid_name(name):
            check_password(password, _DUMMY)  # the same time as a real check
            return False, "wrong"
        if not self._count_try(name, client):
            return False, "locked"
        try:
            entry = self._read()["users"].get(name)
        except UserError:
            entry = None
        ok = check_password(password, entry["hash"] if entry else _DUMMY) and entry is not None
        if ok:
            with self._lock:
                self._failures.pop((name, client), None)
        else:
            self._count_wrong(name)
        return ok, "" if ok else "wrong"


def _forget(table: dict, now: float, key) -> None:
    """Forget entries quiet for a day (``key``: an entry's last time), then the quietest until ``table`` is back
    under :data:`MAX_REMEMBERED`."""
    for k in [k for k, v in table.items() if now - key(v) > FORGET_AFTER_S]:
        del table[k]
    if len(table) > MAX_REMEMBERED:
        for k in sorted(table, key=lambda k: key(table[k]))[:len(table) - MAX_REMEMBERED]:
            del table[k]
