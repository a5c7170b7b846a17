"""Progress lines of long work (training, distillation) on stderr: one line when a run starts and one per logged
step with its loss, step rate and ETA.

They go to the `protdidi.progress` logger. The command line shows them (`show_progress(True)`, undone by a
training command's `--quiet`); a Python caller sees them only after `show_progress(True)` or its own logging
setup, so that library use stays silent."""

from __future__ import annotations

import logging
import sys
import time

LOG = logging.getLogger("protdidi.progress")


def show_progress(enabled: bool) -> None:
    """Print progress lines to stderr (`enabled`) or drop them; idempotent."""
    if not any(getattr(h, "protdidi_progress", False) for h in LOG.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler.protdidi_progress = True
        LOG.addHandler(handler)
    LOG.propagate = False
    LOG.setLevel(logging.INFO if enabled else logging.WARNING)


def progress_line(message: str) -> None:
    """One progress line (shown only where progress is on)."""
    LOG.info(message)


def duration(seconds: float) -> str:
    """`seconds` as a short human duration: 45s, 12m05s, 3h20m."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class StepClock:
    """Step rate and ETA of a loop that runs from `start` to `end` steps, measured from when it is made."""

    def __init__(self, start: int, end: int):
        self.start, self.end, self.t0 = start, end, time.perf_counter()

    def line(self, step: int, **values: float) -> str:
        """'step S/END  name value ...  R steps/s  ETA T' after `step` steps."""
        elapsed = time.perf_counter() - self.t0
        done = step - self.start
        rate = done / elapsed if elapsed > 0 and done > 0 else 0.0
        shown = "  ".join(f"{k} {v:.4f}" for k, v in values.items())
        eta = duration((self.end - step) / rate) if rate > 0 else "?"
        speed = f"{rate:.2f} steps/s" if rate >= 0.1 else (f"{1 / rate:.1f} s/step" if rate > 0 else "? steps/s")
        return f"step {step}/{self.end}  {shown}  {speed}  ETA {eta}".replace("    ", "  ")
