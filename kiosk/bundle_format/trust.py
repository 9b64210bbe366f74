"""The public side of signatures: Ed25519 public keys, the kiosk's trust store, key rotations and checking
signed documents (``manifest.sig``, channel index, rotations). Private keys live with head office
(``trainer.release.keys``); nothing here can sign.

File conventions (see ``assets/keys/README.md`` and ``docs/bundles.md``):

* ``NAME.pub`` — a public key, one line ``ed25519 <base64 of the 32 raw bytes> NAME [expires=2027-06-30T00:00:00Z]``.
  A key past its ``expires`` no longer verifies new bundles or channel indexes (bundles it signed that are already
  installed keep working, like those of a key retired by rotation); head office rotates to a new key before then.
* ``rotations/*.json`` — key-rotation documents: signed by an already trusted (old) key, they introduce a new
  key and may retire the old one.

A key is named by its *key id*: the first 16 hex digits of the sha256 of its 32 raw bytes.

Every signature covers ``CONTEXT + b"\\n" + payload`` where the context names the kind of document
(manifest, channel index, rotation), so a signature made for one kind can never be replayed as another. A document
may carry at most :data:`MAX_SIGNATURES` signatures (a longer list is refused unread: no unbounded work).
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.bundle_format.bundle import MANIFEST, SIGNATURE
from kiosk.errors import BundleError, UserError
from kiosk.inputfiles import KB, MB, read_bounded, read_document

CONTEXT_MANIFEST = b"checkout-bundle-manifest-v1"
CONTEXT_INDEX = b"checkout-channel-index-v1"
CONTEXT_ROTATION = b"checkout-key-rotation-v1"
ROTATION_TYPE = "key-rotation"
#: the most signatures one document may carry (a manifest.sig, a channel index, a rotation)
MAX_SIGNATURES = 8


class KeyFileError(UserError):
    """A key file that cannot be read or used."""


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def canonical_json(obj) -> bytes:
    """Compact, sorted, UTF-8 JSON: the bytes signed for channel indexes and rotation documents."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class PublicKey:
    raw: bytes
    name: str = ""
    expires: str = ""  # ISO 8601 UTC; empty: no expiry

    @property
    def keyid(self) -> str:
        return key_id(self.raw)

    def line(self) -> str:
        tail = f" expires={self.expires}" if self.expires else ""
        return f"ed25519 {base64.b64encode(self.raw).decode()} {self.name}".rstrip() + tail + "\n"

    def expired(self, now: datetime | None) -> bool:
        """True when the key has an expiry and ``now`` is at or past it (``now=None``: never)."""
        from kiosk.bundle_format.timestamps import parse_time

        return bool(self.expires) and now is not None and parse_time(self.expires, f"key {self.keyid}") <= now

    @classmethod
    def from_line(cls, text: str, where: str = "<key>") -> PublicKey:
        from kiosk.bundle_format.timestamps import parse_time

        parts = text.strip().split()
        if len(parts) < 2 or parts[0] != "ed25519":
            raise KeyFileError(f"{where}: expected 'ed25519 <base64> [name] [expires=TIME]', got {text.strip()[:40]!r}")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except ValueError:
            raise KeyFileError(f"{where}: public key is not valid base64") from None
        if len(raw) != 32:
            raise KeyFileError(f"{where}: an Ed25519 public key has 32 bytes, this one {len(raw)}")
        options = [p for p in parts[2:] if p.startswith("expires=")]
        names = [p for p in parts[2:] if not p.startswith("expires=")]
        expires = options[-1].removeprefix("expires=") if options else ""
        if expires:
            try:
                parse_time(expires, where)
            except BundleError:
                raise KeyFileError(f"{where}: expires={expires!r} is not an ISO 8601 time") from None
        return cls(raw=raw, name=names[0] if names else "", expires=expires)

    def verify(self, signature: bytes, context: bytes, payload: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, context + b"\n" + payload)
            return True
        except InvalidSignature:
            return False


def load_public_key(path: Path | str) -> PublicKey:
    path = Path(path)
    try:
        text = read_bounded(path, 64 * KB, "a public key", text=True, error=KeyFileError).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read public key ({exc})") from None
    return PublicKey.from_line(text, where=str(path))


# ---------------------------------------------------------------------------------------------- rotation


def _bounded(entries: list, where: str) -> None:
    if len(entries) > MAX_SIGNATURES:
        raise BundleError(f"{where}: {len(entries)} signatures; a document may carry at most {MAX_SIGNATURES}")


def verify_envelope(doc, context: bytes, keys: dict[str, PublicKey], where: str,
                    expired: dict[str, PublicKey] | None = None) -> str:
    """Check a ``{"signed": …, "signatures": […]}`` envelope; returns the key id that verified it. ``expired``:
    trusted keys past their expiry, named as such when one of them is all that signed."""
    if (not isinstance(doc, dict) or not isinstance(doc.get("signed"), dict)
            or not isinstance(doc.get("signatures"), list)):
        raise BundleError(f"{where}: not a signed document (needs 'signed' and 'signatures')")
    _bounded(doc["signatures"], where)
    payload = canonical_json(doc["signed"])
    seen = []
    for entry in doc["signatures"]:
        if not isinstance(entry, dict):
            continue
        kid = str(entry.get("keyid", ""))
        seen.append(kid)
        key = keys.get(kid)
        if key is None:
            continue
        try:
            sig = base64.b64decode(str(entry.get("sig", "")), validate=True)
        except ValueError:
            continue
        if key.verify(sig, context, payload):
            return kid
    late = [expired[k] for k in seen if k in (expired or {}) and k not in keys]
    if late and not any(k in keys for k in seen):
        raise BundleError(f"{where}: signed by key {late[0].keyid}, which expired at {late[0].expires}")
    if not any(k in keys for k in seen):
        raise BundleError(f"{where}: signed by untrusted key(s) {seen or '[none]'}; trusted: {sorted(keys)}")
    raise BundleError(f"{where}: signature invalid (document altered after signing)")


@dataclass
class TrustStore:
    """Public keys a kiosk trusts for new bundles (``trusted``) plus keys retired by rotation (``retired``),
    which still verify bundles that are already installed."""

    trusted: dict[str, PublicKey] = field(default_factory=dict)
    retired: dict[str, PublicKey] = field(default_factory=dict)
    rotations: dict[str, dict] = field(default_factory=dict)  # new_keyid → applied rotation document

    @classmethod
    def from_keys(cls, *keys: PublicKey) -> TrustStore:
        return cls(trusted={k.keyid: k for k in keys})

    @classmethod
    def load(cls, *sources: Path | str) -> TrustStore:
        """Read ``*.pub`` files (a directory, or single files) and apply ``rotations/*.json`` found beside them."""
        store = cls()
        rotation_docs: list[tuple[str, dict]] = []
        for src in sources:
            src = Path(src)
            if src.is_dir():
                for p in sorted(src.glob("*.pub")):
                    k = load_public_key(p)
                    store.trusted[k.keyid] = k
                rdir = src / "rotations"
                for p in sorted(rdir.glob("*.json")) if rdir.is_dir() else []:
                    try:
                        rotation_docs.append((str(p), read_document(p, MB, "a rotation document", BundleError)))
                    except FileNotFoundError:
                        continue  # removed meanwhile
            elif src.is_file():
                k = load_public_key(src)
                store.trusted[k.keyid] = k
            else:
                raise KeyFileError(f"{src}: no such key file or directory")
        store.apply_rotations(rotation_docs)
        return store

    def apply_rotations(self, docs: list[tuple[str, dict]]) -> list[str]:
        """Apply every rotation whose old key is trusted, in chain order; returns the new key ids added.
        A rotation signed by an unknown key is ignored only while some other rotation may still introduce
        that key; at the end any left over raises BundleError."""
        pending = list(docs)
        added: list[str] = []
        progress = True
        while pending and progress:
            progress = False
            for item in list(pending):
                where, doc = item
                signed = doc.get("signed") if isinstance(doc, dict) else None
                if not isinstance(signed, dict) or signed.get("type") != ROTATION_TYPE:
                    raise BundleError(f"{where}: not a key-rotation document")
                new_id = str(signed.get("new_keyid", ""))
                if new_id in self.trusted or new_id in self.retired:
                    pending.remove(item)
                    if new_id in self.trusted and signed.get("revoke_old") and signed.get("old_keyid") in self.trusted:
                        self.retired[signed["old_keyid"]] = self.trusted.pop(signed["old_keyid"])
                    continue
                if signed.get("old_keyid") not in self.trusted:
                    continue
                verify_envelope(doc, CONTEXT_ROTATION, {signed["old_keyid"]: self.trusted[signed["old_keyid"]]}, where)
                new = PublicKey.from_line(str(signed.get("new_key", "")), where=where)
                if new.keyid != new_id:
                    raise BundleError(f"{where}: new_keyid {new_id} does not match the new key ({new.keyid})")
                self.trusted[new.keyid] = new
                self.rotations[new.keyid] = doc
                if signed.get("revoke_old"):
                    self.retired[signed["old_keyid"]] = self.trusted.pop(signed["old_keyid"])
                pending.remove(item)
                added.append(new.keyid)
                progress = True
        if pending:
            where, doc = pending[0]
            old = doc.get("signed", {}).get("old_keyid")
            raise BundleError(f"{where}: rotation signed by key {old}, which this kiosk does not trust")
        return added

    def all_keys(self) -> dict[str, PublicKey]:
        return {**self.retired, **self.trusted}

    def expired_keys(self, now: datetime | None) -> dict[str, PublicKey]:
        """Trusted keys past their expiry at ``now`` (they verify nothing new; named when they signed)."""
        return {kid: k for kid, k in self.trusted.items() if k.expired(now)}

    def keys_for(self, installed: bool, now: datetime | None = None) -> dict[str, PublicKey]:
        """Keys that may verify a new bundle or channel index (``installed=False``: trusted ones not expired at
        ``now``) or a bundle already installed (``True``: retired and expired keys too)."""
        if installed:
            return self.all_keys()
        return {kid: k for kid, k in self.trusted.items() if not k.expired(now)}


# ---------------------------------------------------------------------------------------------- manifest.sig
#
# ``manifest.sig`` is JSON::
#
#     {"algorithm": "ed25519", "signed_file": "manifest.json",
#      "signatures": [{"keyid": "<16 hex>", "sig": "<base64 64 bytes>"}]}
#
# Each signature covers ``b"checkout-bundle-manifest-v1\n" + <the exact bytes of manifest.json>``; the manifest
# lists the sha256 of every other file, so one signature covers the whole bundle.

def verify_manifest_signature(root: Path | str, trust: TrustStore, installed: bool = False,
                              now: datetime | None = None) -> str:
    """Check ``manifest.sig`` against the exact bytes of ``manifest.json``; returns the key id that signed.

    ``installed=True`` also accepts keys retired by a rotation or expired (for bundles installed before); otherwise
    a key expired at ``now`` does not count.
    """
    root = Path(root)
    mpath, spath = root / MANIFEST, root / SIGNATURE
    if not spath.is_file():
        raise BundleError(f"{spath}: bundle is not signed (manifest.sig missing)")
    try:
        data = mpath.read_bytes()
    except OSError as exc:
        raise BundleError(f"{mpath}: cannot read manifest ({exc.strerror})") from None
    try:
        doc = read_document(spath, 64 * KB, "a signature file", BundleError)
        entries = doc["signatures"]
        if not isinstance(entries, list):
            raise TypeError
    except (OSError, KeyError, TypeError):
        raise BundleError(f"{spath}: not a valid signature file (expected JSON with 'signatures')") from None
    except BundleError as exc:  # not JSON, nested 100,000 deep, NaN, 1e400: the reason after the usual words
        raise BundleError(f"{spath}: not a valid signature file ({str(exc).removeprefix(f'{spath}: ')})") from None
    _bounded(entries, str(spath))
    keys = trust.keys_for(installed, now)
    seen = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        kid = str(entry.get("keyid", ""))
        seen.append(kid)
        if kid not in keys:
            continue
        try:
            sig = base64.b64decode(str(entry.get("sig", "")), validate=True)
        except ValueError:
            continue
        if keys[kid].verify(sig, CONTEXT_MANIFEST, data):
            return kid
    expired = [trust.trusted[k] for k in seen if k in trust.trusted and k not in keys]
    if expired and not any(k in keys for k in seen):
        raise BundleError(f"{spath}: signed by key {expired[0].keyid}, which expired at {expired[0].expires}")
    if not any(k in keys for k in seen):
        raise BundleError(f"{spath}: signed by untrusted key(s) {', '.join(seen) or '[none]'}; "
                          f"this kiosk trusts {', '.join(sorted(keys)) or '[no keys]'}")
    raise BundleError(f"{spath}: signature does not verify against manifest.json (manifest edited after signing, "
                      "or signature damaged)")
