"""Subprocess for test_atomic: one update check against a channel, to be SIGKILLed at a random moment.

usage: kill_worker.py STATE_DIR PUBKEY CHANNEL_DIR
Prints READY once imports are done (the parent starts its clock then), then DONE <outcome> <seconds>.
"""

import sys
import time

from kiosk.bundle_format.trust import TrustStore
from kiosk.bundles.store import BundleStore
from kiosk.bundles.updater import Updater
from kiosk.recognition.recognizer import Recognizer  # noqa: F401 - import cost before READY
from tests.bundles.factory import tiny_catalog

state, pub, channel = sys.argv[1:4]
updater = Updater(BundleStore(state), TrustStore.load(pub), channel, "store-0001", catalog=tiny_catalog())
updater.add_listener(lambda status: print("STATE", status.state, flush=True))
print("READY", flush=True)
t0 = time.perf_counter()
result = updater.check_once()
print("DONE", result.outcome, f"{time.perf_counter() - t0:.3f}", result.message, flush=True)
