"""Head office's release tools: signing keys (generation, PEM files, rotation documents), signing bundles, and
publishing them to a channel. Only the public side (``kiosk.bundle_format``) ships to tills: no private-key code
lives in ``kiosk/``."""
