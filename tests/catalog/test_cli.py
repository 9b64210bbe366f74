import argparse

import pytest

from catalog import cli
from kiosk.errors import CatalogError, UserError

CSV = ("sku,name,group,sold_by,price_paise,gst_percent,hsn,plu,barcodes\n"
       "banana,Banana,Banana,weight,6950,0,080390,107,\n"
       "arla-standard-milk,Arla Standard Milk 1 l,Milk,unit,7200,0,040120,,2000000000411\n")


def run(*argv):
    """Parse like ``checkout`` does, with only the catalog commands registered."""
    parser = argparse.ArgumentParser(prog="checkout")
    sub = parser.add_subparsers(dest="command", required=True)
    groups = {}
    cli.register(sub, groups)
    assert "catalog" in groups
    args = parser.parse_args(list(argv))
    return args.func(args)


def test_import_show_export(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text(CSV, encoding="utf-8")
    db = tmp_path / "cat.sqlite"
    assert run("catalog", "import", str(src), "--db", str(db)) == 0
    assert "imported 2 SKUs" in capsys.readouterr().out
    run("catalog", "show", "banana", "--db", str(db))
    out = capsys.readouterr().out
    assert "₹69.50/kg" in out and "PLU         107" in out
    run("catalog", "show", "2000000000411", "--db", str(db))
    assert "arla-standard-milk" in capsys.readouterr().out
    run("catalog", "export", "--db", str(db))
    exported = capsys.readouterr().out
    assert exported.splitlines()[0].startswith("sku,name,group,sold_by,price_paise")
    assert len(exported.splitlines()) == 3
    out_file = tmp_path / "out.csv"
    run("catalog", "export", "--db", str(db), "--out", str(out_file))
    assert out_file.read_text(encoding="utf-8") == exported


def test_user_errors(tmp_path, capsys):
    db = tmp_path / "cat.sqlite"
    with pytest.raises(CatalogError, match="no such file"):
        run("catalog", "import", str(tmp_path / "missing.csv"), "--db", str(db))
    with pytest.raises(CatalogError, match="no catalog there"):
        run("catalog", "show", "banana", "--db", str(db))
    bad = tmp_path / "bad.csv"
    bad.write_text(CSV.replace("6950", "69.5").replace("040120", "40"), encoding="utf-8")
    with pytest.raises(UserError, match="2 problem"):
        run("catalog", "import", str(bad), "--db", str(db))
    err = capsys.readouterr().err.splitlines()
    assert err == [f"{bad}:2: column price_paise value '69.5': not a whole number",
                   f"{bad}:3: column hsn value '40': HSN code must be 4, 6 or 8 digits"]
    assert not db.exists() and not list(tmp_path.glob("cat.sqlite*"))  # a failed import into a new path: no file
    with pytest.raises(CatalogError, match="no catalog there"):
        run("catalog", "show", "kiwi", "--db", str(db))


def test_import_reads_a_pipe_and_names_what_is_not_a_csv(tmp_path, capsys):
    """`checkout catalog import <(export-from-erp)` or /dev/stdin is read (bounded); a folder or a dangling link is
    named for what it is, not "no such file"."""
    import os
    import threading

    fifo = tmp_path / "from-erp.csv"
    os.mkfifo(fifo)
    threading.Thread(target=lambda: fifo.write_text(CSV, encoding="utf-8"), daemon=True).start()
    assert run("catalog", "import", str(fifo), "--db", str(tmp_path / "cat.sqlite")) == 0
    assert "imported 2 SKUs" in capsys.readouterr().out
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "gone.csv").symlink_to(tmp_path / "nothing")
    for name, says in (("folder.csv", "is a folder, not a catalog CSV"), ("gone.csv", "is a link to nothing")):
        with pytest.raises(CatalogError, match=says):
            run("catalog", "import", str(tmp_path / name), "--db", str(tmp_path / "cat.sqlite"))
