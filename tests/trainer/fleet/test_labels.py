"""Head office's labels (DIR/labels.csv): one row per placement, the last label wins, refusals in one line, formula
cells neutralised, and writers at once never lose each other's row."""

from __future__ import annotations

import csv
import multiprocessing
import threading
from datetime import datetime, timezone

import pytest

from kiosk.errors import DataError, UserError
from kiosk.exchange.feedback import CHOOSER_RE
from trainer.fleet import labels as ho_labels

COLUMNS = "path,store,kiosk,placement_id,predicted,chooser,last_sku,label,time,batch,reason"
AT = datetime(2026, 12, 2, 9, 30, tzinfo=timezone.utc)


def review_folder(tmp_path, n: int = 3):
    """A collect folder whose unlabelled.csv holds ``n`` placements with a crop and one without."""
    lines = [COLUMNS] + [f"images/S/K1/p{i}.jpg,S,K1,p{i},banana,removed,,,2026-12-01T10:{i:02d}:00+05:30,b,no label"
                         for i in range(n)] + [",S,K1,nocrop,banana,removed,,,2026-12-01T10:00:00+05:30,b,no label"]
    (tmp_path / "unlabelled.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def rows(folder):
    with open(folder / "labels.csv", newline="") as fh:
        return list(csv.reader(fh))


def test_a_label_again_replaces_the_placements_row(tmp_path):
    folder = review_folder(tmp_path)
    ho_labels.set_label(folder, "S", "K1", "p0", sku="lemon", user="meera", now=AT)
    ho_labels.set_label(folder, "S", "K1", "p1", verdict="not-a-product", sku="ignored", user="meera", now=AT)
    ho_labels.set_label(folder, "S", "K1", "p0", sku=" avocado ", user="ravi", now=AT)
    at = "2026-12-02T09:30:00+00:00"
    assert rows(folder) == [ho_labels.COLUMNS, ["S", "K1", "p0", "images/S/K1/p0.jpg", "avocado", "sku", "ravi", at],
                            ["S", "K1", "p1", "images/S/K1/p1.jpg", "", "not-a-product", "meera",
                             "2026-12-02T09:30:00+00:00"]]
    got = ho_labels.read_labels(folder)
    assert got[("S", "K1", "p0")].sku == "avocado" and got[("S", "K1", "p1")].verdict == "not-a-product"


def test_refusals_are_one_line_and_write_nothing(tmp_path):
    folder = review_folder(tmp_path)
    cases = [(("S", "K1", "p9"), {"sku": "lemon"}, "not for review"),
             (("S", "K2", "p0"), {"sku": "lemon"}, "not for review"),
             (("S", "K1", "p0"), {"sku": "Lemon!"}, "is not a SKU id"),
             (("S", "K1", "p0"), {"sku": ""}, "enter a SKU"),
             (("S", "K1", "p0"), {"sku": "durian", "known": {"lemon"}}, "not in the catalog"),
             (("S", "K1", "p0"), {"verdict": "maybe"}, "verdict"),
             (("S", "K1", "nocrop"), {"sku": "lemon"}, "no crop")]
    for key, kwargs, says in cases:
        with pytest.raises(UserError) as exc:
            ho_labels.set_label(folder, *key, user="meera", **kwargs)
        assert says in str(exc.value) and "\n" not in str(exc.value)
    assert not (folder / "labels.csv").exists()
    ho_labels.set_label(folder, "S", "K1", "nocrop", verdict="not-a-product", user="meera")  # no crop: this is fine
    with pytest.raises(DataError, match="unlabelled.csv: cannot read it"):
        ho_labels.set_label(tmp_path / "elsewhere", "S", "K1", "p0", sku="lemon", user="meera")


@pytest.mark.parametrize("text, says", [
    ("store,kiosk\n", "labels.csv line 1: the header"),
    (",".join(ho_labels.COLUMNS) + "\nS,K1,p0,x,lemon,sku,meera\n", "labels.csv line 2: 7 cells"),
    (",".join(ho_labels.COLUMNS) + "\nS,K1,p0,x,lemon,sku,meera,2026-12-02\nS,K1,p1,x,lemon,guess,m,2026-12-02\n",
     "labels.csv line 3: verdict 'guess'"),
    (",".join(ho_labels.COLUMNS) + "\nS,K1,p0,x,,sku,meera,2026-12-02\n", "line 2: sku '' does not fit"),
    (",".join(ho_labels.COLUMNS) + "\nS,K1,p0,x,lemon,not-a-product,meera,2026-12-02\n", "line 2: sku 'lemon'"),
    (",".join(ho_labels.COLUMNS) + "\nS,K1,p0,x,lemon,sku,meera,yesterday\n", "line 2: labelled_at 'yesterday'"),
    ("\xff\xfe", "not UTF-8"),
])
def test_a_damaged_labels_file_is_named_with_its_line(tmp_path, text, says):
    folder = review_folder(tmp_path)
    (folder / "labels.csv").write_bytes(text.encode("latin-1") if "\xff" in text else text.encode())
    for call in (lambda: ho_labels.read_labels(folder),
                 lambda: ho_labels.set_label(folder, "S", "K1", "p0", sku="lemon", user="meera")):
        with pytest.raises(DataError) as exc:
            call()
        assert says in str(exc.value) and str(folder / "labels.csv") in str(exc.value)
    assert (folder / "labels.csv").read_bytes() == (text.encode("latin-1") if "\xff" in text else text.encode())


def test_every_cell_is_formula_safe_and_reads_back_as_written(tmp_path):
    folder = review_folder(tmp_path)
    ho_labels.set_label(folder, "S", "K1", "p2", sku="lemon", user="=HYPERLINK(\"http://x\")", now=AT)
    assert rows(folder)[1][6] == "'=HYPERLINK(\"http://x\")"
    assert ho_labels.read_labels(folder)[("S", "K1", "p2")].labelled_by == "=HYPERLINK(\"http://x\")"


@pytest.mark.parametrize("user, chooser", [("meera", "staff:meera"), ("Meera Iyer", "staff:Meera-Iyer"),
                                           ("=cmd|' /C calc'!A0", "staff:cmd-C-calc-A0"), ("€€", "staff"),
                                           ("x" * 80, "staff:" + "x" * 64)])
def test_the_chooser_a_head_office_label_carries_is_one_the_exchange_format_accepts(user, chooser):
    assert ho_labels.chooser_of(user) == chooser and CHOOSER_RE.match(chooser)


def _label_many(folder, first: int, n: int) -> None:
    for i in range(first, first + n):
        ho_labels.set_label(folder, "S", "K1", f"p{i}", sku="lemon", user=f"u{first}")


def test_writers_at_once_never_lose_each_others_rows(tmp_path):
    folder = review_folder(tmp_path, n=40)
    threads = [threading.Thread(target=_label_many, args=(folder, 10 * t, 10)) for t in range(2)]
    procs = [multiprocessing.get_context("spawn").Process(target=_label_many, args=(folder, 20 + 10 * p, 10))
             for p in range(2)]
    for w in [*threads, *procs]:
        w.start()
    for w in [*threads, *procs]:
        w.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert sorted(k[2] for k in ho_labels.read_labels(folder)) == sorted(f"p{i}" for i in range(40))
    assert len(rows(folder)) == 41 and not list(folder.glob(".labels.csv.*.tmp"))


def test_catalog_names_are_the_catalogs_skus_with_their_names(demo_catalog_db):
    names = ho_labels.catalog_names(demo_catalog_db)
    assert names and all(isinstance(n, str) for n in names.values()) and any(names.values())


def test_set_labels_is_all_or_nothing_and_writes_once(tmp_path, monkeypatch):
    folder = review_folder(tmp_path, n=4)
    ho_labels.set_label(folder, "S", "K1", "p3", sku="lemon", user="ravi", now=AT)
    with pytest.raises(UserError, match=r"placement S/K1/p9 is not for review"):
        ho_labels.set_labels(folder, [("S", "K1", "p0"), ("S", "K1", "p9")], sku="banana", user="meera", now=AT)
    with pytest.raises(UserError, match=r"placement S/K1/nocrop: no crop"):
        ho_labels.set_labels(folder, [("S", "K1", "p0"), ("S", "K1", "nocrop")], sku="banana", user="meera", now=AT)
    assert [r[2] for r in rows(folder)[1:]] == ["p3"]
    writes = []
    real_write = ho_labels._write
    monkeypatch.setattr(ho_labels, "_write", lambda *a: writes.append(1) or real_write(*a))
    index = ho_labels.unlabelled_index(folder)
    monkeypatch.setattr(ho_labels, "read_unlabelled", lambda folder: pytest.fail("read again"))
    made = ho_labels.set_labels(folder, [("S", "K1", "p0"), ("S", "K1", "p1"), ("S", "K1", "p0")], sku="banana",
                                user="meera", now=AT, rows=index)
    assert [m.placement_id for m in made] == ["p0", "p1"] and writes == [1]
    assert [(r[2], r[4]) for r in rows(folder)[1:]] == [("p0", "banana"), ("p1", "banana"), ("p3", "lemon")]


def test_a_damaged_review_file_is_named_with_its_line_never_thinned(tmp_path):
    """A row of unlabelled.csv cut short is one line naming the file and line (the page and `feedback cluster` say
    so), not a row silently left out of review."""
    folder = review_folder(tmp_path)
    path = folder / "unlabelled.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:2], "S,K1", *lines[2:]]) + "\n")
    with pytest.raises(DataError, match=r"unlabelled.csv line 3: 2 cells, the header has \d+ \(damaged\)\Z"):
        ho_labels.read_unlabelled(folder)
    path.write_text("store,kiosk\nS,K1\n")
    with pytest.raises(DataError, match=r"line 1: not the header `checkout feedback collect` writes"):
        ho_labels.read_unlabelled(folder)
