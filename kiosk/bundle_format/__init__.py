"""The model-bundle format that the till and head office share.

Everything here is read by the till and written or checked by the trainer's release tools: the manifest and its
files, the preprocessing the network sees, public-key signatures and the trust store, bundle verification (the
self-test runs the model through a runner passed in, so this package never imports the recogniser), safe archive
extraction, the channel index, and one crash-safe ``atomic_write``.

It imports numpy, OpenCV and ``cryptography`` (public keys only), never torch, the recogniser or the trainer;
:mod:`kiosk.bundle_format.architectures` (torch) is imported only by the torch backend and ``trainer.models``.
"""
