"""Errors shared by every room. No imports beyond the standard library."""


class UserError(Exception):
    """Input the user can fix: printed by ``checkout`` as one line naming what and where (exit 2)."""


class BundleError(UserError):
    """A model bundle that is missing, broken, tampered with or incompatible."""


class CatalogError(UserError):
    """Bad catalog input (CSV line/column/value) or an unknown SKU."""


class DataError(UserError):
    """A manifest, image or shard that cannot be used for training."""
