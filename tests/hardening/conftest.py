"""The hardening suite reuses the bundle tests' fixtures (a head-office key, tiny signed bundles, a real kiosk
catalog/config: tests/bundles/conftest.py) and the service kit (tests/services/conftest.py)."""

from tests.bundles.conftest import (  # noqa: F401 - fixtures, registered by being imported here
    bundle_copy,
    bundles_dir,
    catalog_schema_version,
    head_office_key,
    kiosk_bundles,
    kiosk_catalog_db,
    kiosk_config,
    kiosk_v1,
)
from tests.services.conftest import kit  # noqa: F401 - the checkout service over the demo catalog
