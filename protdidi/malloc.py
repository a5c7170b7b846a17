"""Keep a long job's memory flat on glibc. glibc raises its mmap threshold each time a large block is freed (up to
32 MiB), after which the large, differently sized tensors of length-varying batches come from the heap, and the
freed pieces stay with the process. Measured: `protdidi generate --nfe 1` at natural lengths peaked at 654 MiB
for 1,000 sequences and 1,161 MiB for 4,000 (839 MiB for 3,000). Fixing the threshold (mallopt) kept it flat
(347 MiB for 3,000) but made NFE-16 generation 38% slower under load (every large tensor a fresh mmap);
handing the free memory back after each batch (`malloc_trim`, called by `generation.generate_rows`) gave 462 MiB
for 3,000 with no measurable cost (64 sequences at NFE 16, alternating runs on an idle machine: 20.1-21.1 s
against 21.3-23.7 s without). benchmarks/generate_memory.py --natural keeps the figures by job size."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None  # glibc only


def return_freed_memory() -> bool:
    """Give the memory the allocator holds free back to the system (glibc's `malloc_trim`); False where the C
    library has no such call."""
    libc = _libc()
    return bool(libc is not None and libc.malloc_trim(ctypes.c_size_t(0)))
