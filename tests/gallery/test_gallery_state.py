"""A gallery whose database was edited by hand, restored by another program or damaged: a stored embedding that
cannot be one is embedded again from its photo (and stored right), a photo row pointing outside the gallery is never
read, and a table or column missing is one line naming it when the gallery is opened."""

from __future__ import annotations

import sqlite3

import cv2
import numpy as np
import pytest

from kiosk.gallery import Gallery, GalleryError

KEY = "fp32-test"


def png(value: int) -> bytes:
    return cv2.imencode(".png", np.full((40, 40, 3), value, np.uint8))[1].tobytes()


def embed_mean(images: list[np.ndarray]) -> np.ndarray:
    """A stand-in embedding: 4 numbers from the pixels (the photo's grey level, so each photo is told apart)."""
    embed_mean.calls += len(images)
    return np.asarray([[img.mean() / 255, 1.0, 0.5, 0.25] for img in images], np.float32)


embed_mean.calls = 0


@pytest.fixture
def gallery_dir(tmp_path):
    with Gallery.open(tmp_path / "g") as g:
        photos = [png(v) for v in (10, 60, 110)]
        g.add("kiwi", photos, embed_mean([cv2.imdecode(np.frombuffer(p, np.uint8), 1) for p in photos]), KEY)
    return tmp_path / "g"


def edit(root, query: str) -> None:
    with sqlite3.connect(root / "gallery.sqlite") as c:
        c.execute(query)


@pytest.mark.parametrize("vector", ["x'00'", "'text'", "zeroblob(16)", "x'0000c07f0000803f0000803f0000803f'",
                                    "x'0000803f0000803f'"])
def test_a_stored_vector_that_cannot_be_one_is_embedded_again(gallery_dir, vector):
    """One byte, text, all zero, a NaN, a vector of another length: re-embedded from the stored photo, kept."""
    edit(gallery_dir, f"UPDATE embeddings SET vector = {vector} WHERE photo_id = 2")
    embed_mean.calls = 0
    with Gallery.open(gallery_dir) as g:
        snap = g.snapshot(KEY, embed_mean)
        assert embed_mean.calls == 1 and len(snap.skus) == 1 and np.isfinite(snap.vectors).all()
        assert snap.vectors.shape == (3, 4)
        g.snapshot(KEY, embed_mean)
        assert embed_mean.calls == 1  # stored right this time
        owners, vectors = g.vectors(KEY)
        assert owners == ["kiwi"] * 3 and vectors.shape == (3, 4)


def test_a_photo_row_pointing_outside_the_gallery_is_never_read(gallery_dir, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(png(200))
    for photo_id, path in ((1, str(secret)), (2, "photos/../../secret.png"), (3, "photos\\..\\..\\secret.png")):
        edit(gallery_dir, f"UPDATE photos SET path = '{path}' WHERE photo_id = {photo_id}")
    edit(gallery_dir, "DELETE FROM embeddings")
    with Gallery.open(gallery_dir) as g:
        embed_mean.calls = 0
        assert len(g.snapshot(KEY, embed_mean).skus) == 0 and embed_mean.calls == 0
        assert g.photos_of(1) == []


@pytest.mark.parametrize(("query", "says"), [("DROP TABLE embeddings", "no table embeddings"),
                                             ("ALTER TABLE photos DROP COLUMN sharpness", "table photos has no column "
                                                                                         "sharpness")])
def test_a_table_or_column_missing_is_named_when_the_gallery_opens(gallery_dir, query, says):
    edit(gallery_dir, query)
    with pytest.raises(GalleryError, match=f"not a usable gallery \\({says}\\)"):
        Gallery.open(gallery_dir)
