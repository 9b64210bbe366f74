"""A run's embeddings of its training photos, kept for the next month's head refit (``--incremental --head-only``).

The exemplar step (:mod:`trainer.exemplars`) already passes every training photo through the kept weights once; it
keeps what it computed: ``RUN/embeddings.safetensors`` (one float16 row per photo, the input of the classifier) and
``RUN/embeddings.csv`` (the photos, a training manifest in the same order). The file names the network that made them
by :func:`backbone_sha256`, a digest of every weight but the classifier's, so an embedding is only ever reused under
the backbone that made it (a head refit keeps the backbone, so its run carries the base's rows on with the new ones).

Size: 2 bytes × the embedding width per photo (1,280 for MobileNetV2: 2.6 KB a photo; the grocery chain's 2,235
training photos 5.7 MB; a catalog of 1.2 million photos 3 GB, at head office).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from kiosk.errors import UserError
from kiosk.inputfiles import not_a, path_kind

__all__ = ["EMBEDDINGS_FILE", "ROWS_FILE", "Stored", "backbone_sha256", "read_embeddings", "write_embeddings"]

EMBEDDINGS_FILE = "embeddings.safetensors"
ROWS_FILE = "embeddings.csv"


def backbone_sha256(model) -> str:
    """SHA-256 of ``model``'s weights and buffers but its classifier's (:func:`last_linear`): what an embedding
    depends on. A calibrated bundle's folded temperature and a refitted head leave it as it was."""
    from trainer.models import last_linear

    fc = last_linear(model)
    prefix = next(name for name, module in model.named_modules() if module is fc) + "."
    digest = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        if key.startswith(prefix):
            continue
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(value.detach().cpu().float().numpy()).tobytes())
    return digest.hexdigest()


class Stored:
    """A run's kept embeddings: ``rows`` (``ManifestRow``) and ``vectors`` (float32, one row per photo)."""

    def __init__(self, rows: list, vectors: np.ndarray):
        self.rows, self.vectors = rows, vectors

    def __len__(self) -> int:
        return len(self.rows)


def write_embeddings(run: Path, rows: list, vectors: np.ndarray, backbone: str) -> Path:
    """Keep ``vectors`` (one per row of ``rows``, ``ManifestRow``) in ``run`` under the digest ``backbone``."""
    from safetensors.numpy import save

    from kiosk.bundle_format.atomic import atomic_write
    from trainer.data.manifest import write_manifest

    if len(rows) != len(vectors):
        raise ValueError(f"{len(rows)} rows for {len(vectors)} embeddings")
    run = Path(run)
    write_manifest(rows, run / ROWS_FILE)
    path = run / EMBEDDINGS_FILE
    data = {"embeddings": np.ascontiguousarray(vectors, dtype=np.float16)}
    return atomic_write(path, save(data, metadata={"backbone_sha256": backbone, "photos": str(len(rows))}))


def read_embeddings(run: Path, backbone: str) -> Stored | None:
    """The embeddings ``run`` keeps for the backbone ``backbone``; ``None`` when it keeps none. Kept under another
    backbone, damaged, or not matching their photo list: one line naming the file."""
    from safetensors import safe_open

    from trainer.data.manifest import read_manifest

    path, listing = Path(run) / EMBEDDINGS_FILE, Path(run) / ROWS_FILE
    kind = path_kind(path)
    if kind == "missing":
        return None
    if kind != "a file":
        raise UserError(f"{not_a(path, 'a file of kept embeddings')} — move it aside (a refit embeds the run's photos "
                        "again when there is none)")
    try:
        with safe_open(str(path), framework="numpy") as f:
            made_by = (f.metadata() or {}).get("backbone_sha256")
            vectors = f.get_tensor("embeddings").astype(np.float32)
    except Exception as exc:  # a cut file, a pickle under this name, no "embeddings" tensor …
        raise UserError(f"{path}: not readable kept embeddings ({type(exc).__name__}) — damaged?") from None
    if made_by != backbone:
        raise UserError(f"{path}: made by another network than {Path(run) / 'best.safetensors'} (backbone digest "
                        f"{str(made_by)[:12]}… ≠ {backbone[:12]}…); the folder mixes two trainings")
    rows = read_manifest(listing)
    if vectors.ndim != 2 or len(rows) != len(vectors):
        raise UserError(f"{path}: {len(vectors)} embeddings for the {len(rows)} photos of {listing} (damaged?)")
    return Stored(rows, vectors)
