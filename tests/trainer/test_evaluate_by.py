"""checkout evaluate --by: scores per source (and any column), and how many of the till's mistakes a model fixes."""

from __future__ import annotations

import numpy as np

from trainer.evaluate_by import default_columns, format_by, scores_by


def test_scores_per_source_and_the_tills_mistakes_fixed(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,sku,source,predicted\n"
                        "a.jpg,x,base,\n"
                        "b.jpg,y,base,\n"
                        "c.jpg,x,feedback,y\n"   # the till said y, staff said x; the new model says x: fixed
                        "d.jpg,y,feedback,y\n"   # the till was right
                        "e.jpg,zz,feedback,x\n"  # a SKU the model does not know: skipped by predict_manifest
                        "f.jpg,y,feedback,x\n")  # the till said x; the new model says x too: not fixed
    labels = ["x", "y"]
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9], [0.6, 0.4]])
    targets = np.array([0, 1, 0, 1, 1])
    skipped = [{"line": 6, "path": "e.jpg", "reason": "SKU 'zz' unknown to the model"}]
    assert default_columns(manifest) == ["source"]
    by = scores_by(manifest, probs, targets, labels, skipped, ["source"])
    assert by["source"]["base"] == {"n": 2, "top1": 1.0, "top3": 1.0}
    fb = by["source"]["feedback"]
    assert (fb["n"], fb["top1"], fb["till_wrong"], fb["fixed"]) == (3, 2 / 3, 2, 1)
    assert abs(fb["till_top1"] - 1 / 3) < 1e-9
    text = "\n".join(format_by(by))
    assert "by source:" in text and "of the 2 the till got wrong, 1 right now" in text
