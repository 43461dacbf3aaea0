"""What every registry-scale benchmark shares: a simulated trial per size, kept between runs,
honest timing (no tracemalloc: it makes Python work look several times slower than it is), peak
memory measured in a run of its own, and the line that prints a figure beside its floor.

Peak memory is the growth of the process's resident set during the work: Linux's high-water
mark (VmHWM) is reset through /proc/self/clear_refs before the work and read after it.
"""
from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CACHE = Path("/tmp/pro-benchmarks")
SIZES = (200, 2_000, 20_000)


def trial_database(size: int, *, clinical: bool = False) -> Path:
    """A SQLite file holding a simulated trial of ``size`` participants (6 timepoints each, with
    the reminders and messages sent for them), built once by tests/trial_data.py and reused by
    later runs (delete /tmp/pro-benchmarks to redo), migrated to the app's newest schema."""
    from app import create_app
    from storage import init_db
    from tests.trial_data import populate

    CACHE.mkdir(exist_ok=True)
    # "-r": with the reminders and messages a live trial has sent (tests.trial_data).
    path = CACHE / f"trial-{size}{'-clinical' if clinical else ''}-r.sqlite3"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        init_db(partial)
        populate(partial, create_app({"DATABASE": str(partial), "TESTING": True}).extensions["protocol"],
                 per_arm=size // 2, seed=size, clinical=clinical, reminders=True)
        partial.rename(path)
    else:
        init_db(path)   # one cached by an earlier version gets the migrations since (none: nothing done)
    return path


def _status(key: str) -> int:
    """A VmRSS/VmHWM figure of this process, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


# What ``seconds`` reads: the wall clock, or with use_cpu_time() this process's CPU time, which
# other processes loading a shared machine disturb far less (for work that runs in this process
# and does not wait: an export, a report).
CLOCK = time.perf_counter


def use_cpu_time() -> None:
    global CLOCK
    CLOCK = time.process_time


def seconds(fn: Callable[[], Any], repeat: int = 1) -> float:
    """The best of ``repeat`` runs, by CLOCK, with nothing tracing."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = CLOCK()
        fn()
        best = min(best, CLOCK() - start)
    return best


def paired(fn: Callable[[], Any], floor: Callable[[], Any], repeat: int = 3) -> tuple[float, float]:
    """The best of ``repeat`` runs of ``fn`` and of ``floor``, taken in turn (fn, floor, fn, ...):
    on a shared machine both then meet the same quiet and busy moments, so their ratio holds
    better than that of two series timed one after the other."""
    took, base = float("inf"), float("inf")
    for _ in range(repeat):
        took = min(took, seconds(fn))
        base = min(base, seconds(floor))
    return took, base


def peak_mb(fn: Callable[[], Any]) -> float:
    """How far the resident set rose above where it stood while ``fn`` ran, in MB."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")
    before = _status("VmRSS")
    fn()
    return max(0, _status("VmHWM") - before) / 1e6


HEADER = f"{'path':<24} {'participants':>12} {'seconds':>8} {'peak MB':>8} {'floor s':>8} {'floor MB':>8} {'ratio':>6}"


def line(path: str, size: int, took: float, peak: float, floor: float, floor_peak: float) -> str:
    return (f"{path:<24} {size:>12,} {took:>8.2f} {peak:>8.0f} {floor:>8.2f} {floor_peak:>8.0f} "
            f"{took / floor if floor else float('nan'):>6.2f}")
