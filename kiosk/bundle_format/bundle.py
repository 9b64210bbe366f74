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
from kiosk.bundle_format.values import number, sha256_hex
from kiosk.errors import BundleError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
#: Files that may sit in a bundle directory without being listed in the manifest.
UNLISTED_OK = {MANIFEST, SIGNATURE}
#: the highest model_version (what ``checkout kiosk rollback --to`` and ``bundle verify --active-version`` take)
MAX_MODEL_VERSION = 2**31 - 1
#: the highest auto_add_threshold: any value above 1 (a softmax score) means "never add without a tap"
MAX_AUTO_ADD = 2.0
#: the highest softmax score recorded (float32 rounding may put a sum a hair above 1)
MAX_SCORE = 1 + 1e-6


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
    def from_json(cls, d: dict, what: str = "selftest case") -> SelfTestCase:
        """A recorded case; ``ValueError`` naming ``what`` unless it has an image, at least one label and one
        softmax score (0..1, finite) per label."""
        if not isinstance(d, dict) or not isinstance(d.get("image"), str):
            raise ValueError(f"{what} must be an object naming its 'image'")
        labels, scores = d["top_labels"], d["top_scores"]
        if not isinstance(labels, list) or not isinstance(scores, list) or not labels \
                or len(labels) != len(scores) or not all(isinstance(x, str) for x in labels):
            raise ValueError(f"{what} ({d['image']}) must record one or more labels and as many scores")
        return cls(image=d["image"], top_labels=list(labels),
                   top_scores=[number(s, f"{what} ({d['image']}) score", 0, MAX_SCORE) for s in scores])

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
        """The manifest in ``d``; a :class:`BundleError` naming ``where``, the field and what is wrong when any value
        is missing, of the wrong type or out of range (a signature vouches for who wrote it, not for its values)."""
        if not isinstance(d, dict):
            raise BundleError(f"{where}: expected a JSON object")
        try:
            fv = number(d["format_version"], "format_version", integer=True)
            if fv != FORMAT_VERSION:
                raise BundleError(f"{where}: format_version {fv} is not supported (this kiosk reads {FORMAT_VERSION})")
            known = set(cls.__dataclass_fields__) - {"extra", "selftest", "preprocess"}
            extra = {k: v for k, v in d.items() if k not in known | {"selftest", "preprocess"}}
            labels = [str(x) for x in d["labels"]]
            if not labels or len(set(labels)) != len(labels):
                raise BundleError(f"{where}: labels must be a non-empty list of distinct SKU ids")
            return cls(
                format_version=fv,
                model_version=number(d["model_version"], "model_version", 0, MAX_MODEL_VERSION, integer=True),
                architecture=str(d["architecture"]),
                preprocess=PreprocessSpec.from_json(d["preprocess"]),
                labels=labels,
                files=_files(d["files"]),
                backends=_strings(d.get("backends", ["onnxruntime", "torch"]), "backends"),
                created_at=str(d.get("created_at", "")),
                expires_at=d.get("expires_at"),
                auto_add_threshold=_auto_add(d.get("auto_add_threshold", 1.01), len(labels)),
                metrics=dict(d.get("metrics", {})),
                selftest=[SelfTestCase.from_json(c, f"selftest[{i}]") for i, c in enumerate(_list(d, "selftest"))],
                catalog=_catalog(d.get("catalog", {})),
                trainer=dict(d.get("trainer", {})),
                extra=extra,
            )
        except BundleError:
            raise
        except KeyError as exc:
            raise BundleError(f"{where}: missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{where}: {exc}") from None


def _list(d: dict, key: str) -> list:
    value = d.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"{key} must be a list")
    return value


def _strings(value, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise ValueError(f"{what} must be a list of names")
    return list(value)


def _files(files) -> dict[str, dict]:
    """``files``: each path → {"sha256": 64 hex digits, "size": bytes (optional)}."""
    if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
        raise ValueError("'files' must map each path to {sha256, size}")
    for name, meta in files.items():
        sha256_hex(meta["sha256"], f"files[{name!r}].sha256")
        if "size" in meta:
            number(meta["size"], f"files[{name!r}].size", 0, integer=True)
    return files


def _auto_add(value, num_labels: int) -> float:
    """A top-1 softmax score is at least 1/labels: a threshold at or below it would add every item without a tap."""
    low = 1 / num_labels if num_labels > 1 else 0.0
    return number(value, "auto_add_threshold", low, MAX_AUTO_ADD, above=True)


def _catalog(catalog) -> dict:
    """``catalog``: {"schema_version": int, "skus": [names]}, either optional."""
    if not isinstance(catalog, dict):
        raise ValueError("catalog must be an object")
    if "schema_version" in catalog:
        number(catalog["schema_version"], "catalog.schema_version", 0, integer=True)
    if "skus" in catalog:
        _strings(catalog["skus"], "catalog.skus")
    return dict(catalog)


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
