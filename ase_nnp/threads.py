"""How many threads one evaluation uses.

Numba's parallel loops start and join their worker threads on every call; for a small
cell that costs more than the work it shares, and when another program keeps a core busy
the loop waits at every join for the thread that shares that core. By default
(``THREADS = "auto"``) an evaluation

* of fewer than ``SERIAL_BELOW`` atoms runs on one thread;
* otherwise runs on as many threads as there are free cores, at most Numba's current
  thread count (``numba.set_num_threads`` or ``NUMBA_NUM_THREADS``) and at least one. A
  core counts as taken when other programs keep more than half of it busy: the CPU time
  the machine spent busy (``/proc/stat``, on the CPUs this process may use) less this
  process's own CPU time, over the interval since the previous reading. The machine is read
  at most once every ``LOAD_EVERY`` seconds, first at import; until the second reading, and
  where ``/proc/stat`` does not exist, Numba's count is used.

``THREADS = n`` fixes the count for every call.

Measured on this project's 2-core machine with the shipped Si model
(``benchmarks/bench_threads.py``, µs/atom, best / median of 9 interleaved rounds; table in
docs/benchmarks.md). Idle, 1 thread against 2: 32 atoms 38.3 / 42.7 against 31.6 / 37.3,
108 atoms 20.3 / 22.1 against 15.2 / 21.2, 512 atoms 14.7 / 16.3 against 11.8 / 12.8, 4,096
atoms 13.3 / 13.7 against 7.4 / 11.1. With another process spinning on one core
(``--busy 1``): 32 atoms 38.1 / 43.4 against 118.7 / 160.5, 108 atoms 20.3 / 24.1 against
31.5 / 52.1, 512 atoms 14.8 / 16.9 against 18.8 / 30.7, 4,096 atoms 13.7 / 14.5 against
14.8 / 19.5: two threads lose at every size, and the default (38.6, 22.4, 15.3, 13.6 best)
is one thread's. At 32 atoms the idle gain of 1.2× is small against a loss of 3–14× when
another program wakes up within the second between two readings, hence ``SERIAL_BELOW``. The
system load average (``os.getloadavg``) is not used: it counts this process's own threads
(and OpenMP workers that spin between calls), so a busy 2-thread run would read as a loaded
machine and switch itself to one thread.
"""

import contextlib
import os
import threading
import time

import numba

THREADS = "auto"
SERIAL_BELOW = 64
LOAD_EVERY = 1.0        # seconds between two readings of the machine's load


def _cpu_ticks():
    """``(busy, total, n_cpus)``: clock ticks since boot summed over the CPUs this process
    may run on (busy = all but idle and iowait), from ``/proc/stat``; ``None`` where it
    cannot be read."""
    try:
        cpus = os.sched_getaffinity(0)
        with open("/proc/stat") as fh:
            lines = fh.readlines()
    except (OSError, AttributeError):
        return None
    busy = total = 0
    for line in lines:
        name, *values = line.split()
        if name[:3] == "cpu" and name[3:].isdigit() and int(name[3:]) in cpus:
            ticks = [int(v) for v in values[:8]]
            total += sum(ticks)
            busy += sum(ticks) - ticks[3] - ticks[4]
    return (busy, total, len(cpus)) if total else None


class _Load:
    """Free cores, read at most once every ``LOAD_EVERY`` seconds (module docstring)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.read_at = None          # monotonic time of the previous reading
        self.ticks = self.own = None
        self.free = None

    def free_cores(self):
        """Cores not kept busy by other programs, as a float; ``None`` while unknown."""
        with self.lock:
            now = time.monotonic()
            if self.read_at is not None and now - self.read_at < LOAD_EVERY:
                return self.free
            ticks, own = _cpu_ticks(), time.process_time()
            if ticks is None:
                self.free = None
            elif self.ticks is not None and ticks[1] > self.ticks[1]:
                busy_cores = ticks[2] * (ticks[0] - self.ticks[0]) / (ticks[1] - self.ticks[1])
                own_cores = (own - self.own) / (now - self.read_at)
                self.free = ticks[2] - max(0.0, busy_cores - own_cores)
            self.read_at, self.ticks, self.own = now, ticks, own
            return self.free


_load = _Load()
_load.free_cores()               # the first reading: from the next second on the load is known


def auto_threads(n_atoms, current):
    """The thread count of ``THREADS = "auto"`` for ``n_atoms`` atoms, ``current`` being
    Numba's thread count (module docstring)."""
    if n_atoms < SERIAL_BELOW:
        return 1
    free = _load.free_cores()
    if free is None:
        return current
    return max(1, min(current, int(free + 0.5)))


@contextlib.contextmanager
def threads_for(n_atoms):
    """Run the enclosed evaluation of ``n_atoms`` atoms on the thread count above."""
    current = numba.get_num_threads()
    if THREADS == "auto":
        want = auto_threads(n_atoms, current)
    else:
        want = max(1, min(int(THREADS), numba.config.NUMBA_NUM_THREADS))
    if want == current:
        yield
        return
    numba.set_num_threads(want)
    try:
        yield
    finally:
        numba.set_num_threads(current)
