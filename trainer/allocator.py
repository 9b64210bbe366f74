"""Keep freed memory in the process during training, instead of handing it back to the kernel after every step.

glibc's malloc serves every request over 32 MiB (its largest mmap threshold) with a fresh ``mmap`` and returns it
with ``munmap`` when freed. A training step on a CPU allocates and frees many such tensors (MobileNetV2 at 288 px,
32 photos: the first activations alone are 81 MiB each), so every step faults in and zeroes gigabytes of new pages:
on this 2-core VM a quarter of the CPU time went to the kernel (``top``: 26 % sys) and a step's cost grew faster
than its batch. :func:`keep_freed_memory` asks glibc (``mallopt``) to serve them from the heap and not to trim it,
so a step reuses the last step's pages; the process's resident memory stays at its peak instead.

The setting is the process's, from the call on. Only the trainer's entry points call it, never the kiosk (a
long-running process whose inference batches are small). Elsewhere than glibc (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

__all__ = ["keep_freed_memory"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_MAX = -1, -2, -4  # glibc's <malloc.h>
_TOP_PAD = 256 << 20  # grow the heap in 256 MiB steps rather than page by page
_TRIM_THRESHOLD = 2**31 - 1  # an int; glibc never trims less than this from the top of the heap (2 GiB)


def _libc():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "gnu_get_libc_version") else None
    except OSError:
        return None


def keep_freed_memory() -> bool:
    """Large blocks from the heap, freed memory kept for reuse (glibc only): True if glibc took the settings."""
    libc = _libc()
    if libc is None:
        return False
    done = all(libc.mallopt(option, value) == 1 for option, value in (
        (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _TRIM_THRESHOLD), (_M_TOP_PAD, _TOP_PAD)))
    if not done:
        log.debug("mallopt refused a setting; freed memory goes back to the kernel as before")
    return done
