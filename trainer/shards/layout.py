"""The shard format on disk: names, format tag and version of ``index.json``, the image extensions."""

INDEX = "index.json"
FORMAT = "checkout-shards"
VERSION = 1
IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff")
