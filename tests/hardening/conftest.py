"""The hardening suite reuses the bundle tests' fixtures: a head-office key, tiny signed bundles and a real kiosk
catalog/config (tests/bundles/conftest.py)."""

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
