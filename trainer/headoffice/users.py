"""Head-office users of the dashboard: a JSON file of names and salted scrypt password hashes (mode 0600), and a
sign-in check that slows down a name after repeated wrong passwords (growing waits, like the kiosks' PIN pad).

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
from kiosk.inputfiles import MB, read_bounded

__all__ = ["Users", "hash_password", "check_password"]

_N, _R, _P = 2**14, 8, 1
MIN_LENGTH = 10
FREE_FAILURES = 5
MAX_WAIT_S = 900.0


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
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
    """The users file, and sign-in with a growing wait per name after :data:`FREE_FAILURES` wrong passwords."""

    def __init__(self, path: str | os.PathLike, clock=time.monotonic) -> None:
        self.path = Path(path)
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def _read(self) -> dict:
        try:
            doc = json.loads(read_bounded(self.path, 64 * MB, "a users file", text=True).decode("utf-8"))
        except FileNotFoundError:
            return {"users": {}}
        except (OSError, ValueError) as exc:
            raise UserError(f"{self.path}: not a users file ({exc})") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("users"), dict):
            raise UserError(f"{self.path}: not a users file (no 'users' table)")
        return doc

    def _write(self, doc: dict) -> None:
        from kiosk.bundle_format.atomic import AtomicFile

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with AtomicFile(self.path) as target:
            os.chmod(target.tmp, 0o600)
            target.tmp.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    def names(self) -> list[str]:
        return sorted(self._read()["users"])

    def add(self, name: str, password: str) -> None:
        name = name.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise UserError(f"user name {name[:70]!r}: 1-64 printable characters")
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

    def wait_s(self, name: str) -> float:
        """Seconds before ``name`` may try again (0: now)."""
        with self._lock:
            failures, until = self._failures.get(name, (0, 0.0))
        return max(0.0, until - self._clock())

    def sign_in(self, name: str, password: str) -> tuple[bool, str]:
        """``(ok, why not)``: ``locked`` (refused unchecked), ``wrong`` (name or password)."""
        if self.wait_s(name) > 0:
            return False, "locked"
        entry = self._read()["users"].get(name)
        ok = check_password(password, entry["hash"] if entry else _DUMMY) and entry is not None
        with self._lock:
            if ok:
                self._failures.pop(name, None)
            else:
                n = self._failures.get(name, (0, 0.0))[0] + 1
                wait = 0.0 if n < FREE_FAILURES else min(MAX_WAIT_S, 2.0 ** (n - FREE_FAILURES + 1))
                self._failures[name] = (n, self._clock() + wait)
        return ok, "" if ok else "wrong"
