"""Ed25519 keys, the kiosk's trust store, and key rotation.

File conventions (see ``assets/keys/README.md`` and ``docs/bundles.md``):

* ``NAME.key`` — a private key, PKCS#8 PEM, mode 0600. Lives at head office only; never in a repository.
* ``NAME.pub`` — a public key, one line ``ed25519 <base64 of the 32 raw bytes> NAME``.
* ``rotations/*.json`` — key-rotation documents: signed by an already trusted (old) key, they introduce a new
  key and may retire the old one.

A key is named by its *key id*: the first 16 hex digits of the sha256 of its 32 raw bytes.

Every signature covers ``CONTEXT + b"\\n" + payload`` where the context names the kind of document
(manifest, channel index, rotation), so a signature made for one kind can never be replayed as another.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import BundleError, UserError

CONTEXT_MANIFEST = b"checkout-bundle-manifest-v1"
CONTEXT_INDEX = b"checkout-channel-index-v1"
CONTEXT_ROTATION = b"checkout-key-rotation-v1"
ROTATION_TYPE = "key-rotation"


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

    @property
    def keyid(self) -> str:
        return key_id(self.raw)

    def line(self) -> str:
        return f"ed25519 {base64.b64encode(self.raw).decode()} {self.name}".rstrip() + "\n"

    @classmethod
    def from_line(cls, text: str, where: str = "<key>") -> "PublicKey":
        parts = text.strip().split()
        if len(parts) < 2 or parts[0] != "ed25519":
            raise KeyFileError(f"{where}: expected 'ed25519 <base64> [name]', got {text.strip()[:40]!r}")
        try:
            raw = base64.b64decode(parts[1], validate=True)
        except ValueError:
            raise KeyFileError(f"{where}: public key is not valid base64") from None
        if len(raw) != 32:
            raise KeyFileError(f"{where}: an Ed25519 public key has 32 bytes, this one {len(raw)}")
        return cls(raw=raw, name=parts[2] if len(parts) > 2 else "")

    def verify(self, signature: bytes, context: bytes, payload: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, context + b"\n" + payload)
            return True
        except InvalidSignature:
            return False


@dataclass(frozen=True)
class SigningKey:
    """A private key (head office)."""

    private: Ed25519PrivateKey
    name: str = ""

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return PublicKey(raw=raw, name=self.name)

    @property
    def keyid(self) -> str:
        return self.public.keyid

    def sign(self, context: bytes, payload: bytes) -> dict:
        """One signature entry ``{"keyid", "sig"}`` over ``context\\npayload``."""
        sig = self.private.sign(context + b"\n" + payload)
        return {"keyid": self.keyid, "sig": base64.b64encode(sig).decode()}

    @classmethod
    def generate(cls, name: str = "") -> "SigningKey":
        return cls(Ed25519PrivateKey.generate(), name)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def _inside_git_worktree(path: Path) -> Path | None:
    for p in [path, *path.parents]:
        if (p / ".git").exists():
            return p
    return None


def write_keypair(out_dir: Path | str, name: str, allow_in_repo: bool = False) -> tuple[Path, Path]:
    """Generate a key pair: ``out_dir/NAME.key`` (0600) and ``out_dir/NAME.pub``. Refuses to overwrite,
    and refuses to put a private key inside a git work tree unless ``allow_in_repo``."""
    out = Path(out_dir).resolve()
    if not name or "/" in name or name.startswith("."):
        raise KeyFileError(f"key name {name!r}: use letters, digits, '-' or '_'")
    repo = _inside_git_worktree(out)
    if repo is not None and not allow_in_repo:
        raise KeyFileError(f"{out}: inside the git work tree {repo}; private keys never go into a repository")
    out.mkdir(parents=True, exist_ok=True)
    key_path, pub_path = out / f"{name}.key", out / f"{name}.pub"
    for p in (key_path, pub_path):
        if p.exists():
            raise KeyFileError(f"{p}: already exists; refusing to overwrite a key")
    key = SigningKey.generate(name)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key.pem())
    pub_path.write_text(key.public.line())
    return key_path, pub_path


def load_signing_key(path: Path | str) -> SigningKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read private key ({exc.strerror})") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PKCS#8 PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return SigningKey(private, path.stem)


def load_public_key(path: Path | str) -> PublicKey:
    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read public key ({exc})") from None
    return PublicKey.from_line(text, where=str(path))


# ---------------------------------------------------------------------------------------------- rotation


def make_rotation(old: SigningKey, new: PublicKey, revoke_old: bool = False, created_at: str = "") -> dict:
    """A rotation document signed by ``old`` that introduces ``new`` (and optionally retires ``old``)."""
    signed = {
        "type": ROTATION_TYPE,
        "old_keyid": old.keyid,
        "new_key": new.line().strip(),
        "new_keyid": new.keyid,
        "revoke_old": bool(revoke_old),
        "created_at": created_at,
    }
    return {"signed": signed, "signatures": [old.sign(CONTEXT_ROTATION, canonical_json(signed))]}


def verify_envelope(doc, context: bytes, keys: dict[str, PublicKey], where: str) -> str:
    """Check a ``{"signed": …, "signatures": […]}`` envelope; returns the key id that verified it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("signed"), dict) or not isinstance(doc.get("signatures"), list):
        raise BundleError(f"{where}: not a signed document (needs 'signed' and 'signatures')")
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
    def from_keys(cls, *keys: PublicKey) -> "TrustStore":
        return cls(trusted={k.keyid: k for k in keys})

    @classmethod
    def load(cls, *sources: Path | str) -> "TrustStore":
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
                        rotation_docs.append((str(p), json.loads(p.read_text())))
                    except (OSError, ValueError) as exc:
                        raise BundleError(f"{p}: unreadable rotation document ({exc})") from None
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

    def keys_for(self, installed: bool) -> dict[str, PublicKey]:
        """Keys that may verify a new bundle (``installed=False``) or one already installed (``True``)."""
        return self.all_keys() if installed else dict(self.trusted)
