"""The shard format on disk: names, format tag and version of ``index.json``, the image extensions (the formats
the kiosk's decoder reads)."""

from kiosk.bundle_format.preprocess import IMAGE_SUFFIXES

INDEX = "index.json"
FORMAT = "checkout-shards"
VERSION = 1
IMAGE_EXTS = tuple(s.lstrip(".") for s in IMAGE_SUFFIXES)
