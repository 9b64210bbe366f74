"""Model bundle: a directory with ``manifest.json`` and the files it lists.

Layout (format version 1)::

    bundle/
      manifest.json        # this module's BundleManifest
      manifest.sig         # Ed25519 signature over manifest.json (signed bundles, see kiosk.bundles)
      model.onnx           # dynamic batch, input "input" NCHW float32, output "logits"
      model.safetensors    # the same weights for the torch backend (no pickle anywhere)
      selftest/000.jpg …   # images with the outputs recorded at export time

Loading verifies the size and sha256 of every listed file and refuses files that are
not listed; every failure is a :class:`BundleError` naming the file and the reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.bundle_format.atomic import atomic_write
from kiosk.bundle_format.preprocess import PreprocessSpec
from kiosk.errors import BundleError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: Files that may sit in a bundle directory without being listed in the manifest.
UNLISTED_OK = {MANIFEST, SIGNATURE}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class SelfTestCase:
    """An image shipped in the bundle with the top-k the exporter saw for it."""

    image: str
    top_labels: list[str]
    top_scores: list[float]

    @classmethod
    def from_json(cls, d: dict) -> SelfTestCase:
        return cls(image=d["image"], top_labels=list(d["top_labels"]), top_scores=[float(s) for s in d["top_scores"]])

    def to_json(self) -> dict:
        return {"image": self.image, "top_labels": self.top_labels, "top_scores": self.top_scores}


@dataclass(frozen=True)
class BundleManifest:
    format_version: int
    model_version: int
    architecture: str
    preprocess: PreprocessSpec
    labels: list[str]  # output index → SKU id
    files: dict[str, dict]  # relative path → {"sha256": hex, "size": bytes}
    backends: list[str] = field(default_factory=lambda: ["onnxruntime", "torch"])
    created_at: str = ""
    expires_at: str | None = None
    auto_add_threshold: float = 1.01  # top-1 score at which an item is added without a tap (>1: never)
    metrics: dict = field(default_factory=dict)
    selftest: list[SelfTestCase] = field(default_factory=list)
    catalog: dict = field(default_factory=dict)  # {"schema_version": int, "skus": [...]}
    trainer: dict = field(default_factory=dict)  # provenance: args, code version, data manifest hashes
    extra: dict = field(default_factory=dict)  # keys added by later format revisions

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def to_json(self) -> dict:
        d = {
            "format_version": self.format_version,
            "model_version": self.model_version,
            "architecture": self.architecture,
            "preprocess": self.preprocess.to_json(),
            "labels": self.labels,
            "files": self.files,
            "backends": self.backends,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "auto_add_threshold": self.auto_add_threshold,
            "metrics": self.metrics,
            "selftest": [c.to_json() for c in self.selftest],
            "catalog": self.catalog,
            "trainer": self.trainer,
        }
        d.update(self.extra)
        return d

    def dumps(self) -> bytes:
        """Canonical bytes of the manifest (sorted keys): what gets hashed and signed."""
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, d: dict, where: str = MANIFEST) -> BundleManifest:
        if not isinstance(d, dict):
            raise BundleError(f"{where}: expected a JSON object")
        try:
            fv = int(d["format_version"])
            if fv != FORMAT_VERSION:
                raise BundleError(f"{where}: format_version {fv} is not supported (this kiosk reads {FORMAT_VERSION})")
            known = set(cls.__dataclass_fields__) - {"extra", "selftest", "preprocess"}
            extra = {k: v for k, v in d.items() if k not in known | {"selftest", "preprocess"}}
            labels = [str(x) for x in d["labels"]]
            if not labels or len(set(labels)) != len(labels):
                raise BundleError(f"{where}: labels must be a non-empty list of distinct SKU ids")
            files = d["files"]
            if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
                raise BundleError(f"{where}: 'files' must map each path to {{sha256, size}}")
            return cls(
                format_version=fv,
                model_version=int(d["model_version"]),
                architecture=str(d["architecture"]),
                preprocess=PreprocessSpec.from_json(d["preprocess"]),
                labels=labels,
                files=files,
                backends=list(d.get("backends", ["onnxruntime", "torch"])),
                created_at=str(d.get("created_at", "")),
                expires_at=d.get("expires_at"),
                auto_add_threshold=float(d.get("auto_add_threshold", 1.01)),
                metrics=dict(d.get("metrics", {})),
                selftest=[SelfTestCase.from_json(c) for c in d.get("selftest", [])],
                catalog=dict(d.get("catalog", {})),
                trainer=dict(d.get("trainer", {})),
                extra=extra,
            )
        except BundleError:
            raise
        except KeyError as exc:
            raise BundleError(f"{where}: missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class Bundle:
    """A bundle directory whose files were checked against its manifest."""

    root: Path
    manifest: BundleManifest

    def path(self, name: str) -> Path:
        if name not in self.manifest.files:
            raise BundleError(f"{self.root}: {name} is not part of this bundle")
        return self.root / name

    @property
    def version(self) -> int:
        return self.manifest.model_version


def read_manifest(root: Path) -> BundleManifest:
    root = Path(root)
    mpath = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"{root}: model bundle directory not found")
    if not mpath.is_file():
        raise BundleError(f"{mpath}: manifest missing")
    try:
        data = json.loads(mpath.read_bytes())
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number is a ValueError, deep nesting a RecursionError
        raise BundleError(f"{mpath}: not valid JSON ({str(exc)[:120]})") from None
    return BundleManifest.from_json(data, where=str(mpath))


def verify_files(root: Path, manifest: BundleManifest) -> None:
    """Check every listed file's size and sha256, and that nothing unlisted sits beside them."""
    root = Path(root)
    for name, meta in sorted(manifest.files.items()):
        p = (root / name).resolve()
        if root.resolve() not in p.parents:
            raise BundleError(f"{root}: manifest lists a path outside the bundle: {name}")
        if not p.is_file():
            raise BundleError(f"{root / name}: listed in the manifest but missing")
        size = p.stat().st_size
        if "size" in meta and size != int(meta["size"]):
            raise BundleError(f"{root / name}: size {size} bytes, manifest says {meta['size']} (truncated or altered)")
        digest = sha256_file(p)
        if digest != meta["sha256"]:
            raise BundleError(f"{root / name}: sha256 mismatch (file altered or corrupt)")
    listed = set(manifest.files) | UNLISTED_OK
    for p in root.rglob("*"):
        if p.is_file() and p.relative_to(root).as_posix() not in listed:
            raise BundleError(f"{p}: file not listed in the manifest")


def load_bundle(root: Path | str, verify: bool = True) -> Bundle:
    """Read and (by default) verify a bundle directory. Raises BundleError naming file and reason."""
    root = Path(root)
    manifest = read_manifest(root)
    if verify:
        verify_files(root, manifest)
    return Bundle(root=root, manifest=manifest)


def file_entry(path: Path) -> dict:
    return {"sha256": sha256_file(path), "size": path.stat().st_size}


def write_manifest(root: Path, manifest: BundleManifest) -> Path:
    """Write manifest.json (canonical bytes) atomically."""
    return atomic_write(Path(root) / MANIFEST, manifest.dumps())
