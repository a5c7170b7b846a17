"""Keep a long job's memory flat on glibc: by default glibc raises its mmap threshold each time a large block is
freed (up to 32 MiB), after which the large, differently sized tensors of length-varying batches come from the
heap, whose freed pieces it rarely returns to the system. Measured: `protdidi generate --nfe 1` at natural lengths
peaked at 654 MiB for 1,000 sequences and 1,161 MiB for 4,000; with the threshold fixed at 128 KiB, 348 MiB for
3,000 (benchmarks/generate_memory.py --natural keeps the figures)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter; setting it also turns the dynamic adjustment off
THRESHOLD = 128 * 1024  # glibc's own starting value


@functools.cache
def return_freed_memory() -> bool:
    """Fix glibc's mmap threshold for this process (once); False where the C library is not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    if not hasattr(libc, "gnu_get_libc_version"):
        return False
    return bool(mallopt(ctypes.c_int(M_MMAP_THRESHOLD), ctypes.c_int(THRESHOLD)))
