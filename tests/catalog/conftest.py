import pytest

from catalog.model import Sku
from catalog.repository import Catalog

HEADER = ("sku,name,group,sold_by,price_paise,gst_percent,hsn,plu,barcodes,"
          "unit_weight_min_g,unit_weight_max_g,active,image\n")


@pytest.fixture
def cat(tmp_path):
    c = Catalog.open(tmp_path / "catalog.sqlite")
    yield c
    c.close()


def _make_sku(sku="milk", **kw) -> Sku:
    base = dict(sku=sku, name=sku.replace("-", " ").title(), group="Milk", sold_by="unit", price_paise=7200,
                gst_bp=0, hsn="040120")
    base.update(kw)
    return Sku(**base)


@pytest.fixture
def make_sku():
    """Build a valid Sku, overriding any field."""
    return _make_sku
