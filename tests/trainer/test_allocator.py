"""The trainer keeps freed memory for reuse (trainer/allocator.py): with glibc, a large block comes from the heap
instead of a fresh mmap, so a training step stops faulting in new pages for every activation it allocates."""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import subprocess
import sys

import pytest

GLIBC = platform.libc_ver()[0] == "glibc"

# mallinfo2 (glibc ≥ 2.33): hblkhd is the bytes in mmapped blocks, arena the bytes in the heap
PROBE = """
import ctypes, ctypes.util, sys
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                "fsmblks", "uordblks", "fordblks", "keepcost")]
libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "kept":
    from trainer.allocator import keep_freed_memory
    assert keep_freed_memory()
block = libc.malloc(64 << 20)
info = libc.mallinfo2()
libc.free(block)
after = libc.mallinfo2()
print(info.hblkhd >> 20, info.arena >> 20, after.arena >> 20)
"""


def _probe(mode: str) -> list[int]:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=60, check=True)
    return [int(x) for x in out.stdout.split()]


@pytest.mark.skipif(not GLIBC or not hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2"),
                    reason="glibc ≥ 2.33 only (mallinfo2); elsewhere keep_freed_memory() does nothing")
def test_a_large_block_comes_from_the_heap_and_stays_there_once_kept():
    mmapped, _, _ = _probe("default")
    assert mmapped >= 64  # glibc's default: a 64 MiB block is its own mmap, unmapped when freed
    mmapped, heap, heap_after = _probe("kept")
    assert mmapped == 0 and heap >= 64 and heap_after >= 64  # from the heap, and kept there after free()


def test_elsewhere_than_glibc_it_does_nothing(monkeypatch):
    from trainer import allocator

    monkeypatch.setattr(allocator, "_libc", lambda: None)
    assert allocator.keep_freed_memory() is False


def test_a_training_keeps_freed_memory(tmp_path, monkeypatch):
    from kiosk.cli import main as checkout
    from tests.onboarding_kit import TRAIN_ARGS, build_world
    from trainer import allocator

    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(1) or True)
    world = build_world()
    assert checkout(["train", "--train", str(world.train), "--out", str(tmp_path / "run"), "--cache-dir",
                     str(world.root / "cache"), *TRAIN_ARGS, "--epochs", "1"]) == 0
    assert calls  # (build_world trains its own base run first when it has none cached)


STEPS = """
import sys, torch
from torch import nn
if sys.argv[1] == "kept":
    from trainer.allocator import keep_freed_memory
    assert keep_freed_memory()
from trainer.bench import bench_model
torch.set_num_threads(2)
m = bench_model("mobilenet_v2", 81, 3, True)
opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-3)
x, y = torch.randn(16, 3, 288, 288), torch.randint(0, 81, (16,))  # activations of 40 MiB: over the 32 MiB line
m.train()
for _ in range(2):
    loss = nn.functional.cross_entropy(m(x.contiguous(memory_format=torch.channels_last)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(repr(loss.item()), repr(float(sum(p.detach().double().sum() for p in m.parameters()))))
"""


@pytest.mark.skipif(not GLIBC, reason="glibc only; elsewhere keep_freed_memory() does nothing")
def test_kept_memory_leaves_the_arithmetic_bit_for_bit_as_it_was():
    """Two training steps with blocks over 32 MiB, in a child process each: the same loss and weights to the bit."""
    runs = [subprocess.run([sys.executable, "-c", STEPS, mode], capture_output=True, text=True, timeout=300,
                           check=True).stdout.split() for mode in ("default", "kept")]
    assert runs[0] == runs[1] and len(runs[0]) == 2
