"""Head office's private keys: generating them, their PEM files, signing, and writing key-rotation documents.

* ``NAME.key`` — a private key, PKCS#8 PEM, mode 0600. Lives at head office only; never in a repository.
* ``NAME.pub`` — its public key (format and checking: :mod:`kiosk.bundle_format.trust`).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.bundle_format.trust import CONTEXT_ROTATION, ROTATION_TYPE, KeyFileError, PublicKey, canonical_json
from kiosk.inputfiles import KB, read_bounded


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
    def generate(cls, name: str = "") -> SigningKey:
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


def write_keypair(out_dir: Path | str, name: str, allow_in_repo: bool = False,
                  expires: str = "") -> tuple[Path, Path]:
    """Generate a key pair: ``out_dir/NAME.key`` (0600) and ``out_dir/NAME.pub`` (with ``expires=`` when given: kiosks
    stop taking new bundles signed by it then). Refuses to overwrite, and refuses to put a private key inside a git
    work tree unless ``allow_in_repo``."""
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
    pub_path.write_text(dataclasses.replace(key.public, expires=expires).line())
    return key_path, pub_path


def load_signing_key(path: Path | str) -> SigningKey:
    path = Path(path)
    try:
        data = read_bounded(path, 64 * KB, "a private key", error=KeyFileError)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read private key ({exc.strerror})") from None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PKCS#8 PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return SigningKey(private, path.stem)


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
