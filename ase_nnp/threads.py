"""How many threads one evaluation uses.

Numba's parallel loops start and join their worker threads on every call; for a small
cell that costs more than the work it shares. Measured on this project's 2-core machine
with the shipped Si model (``benchmarks/bench_threads.py``, µs/atom, 1 / 2 threads):
32 atoms 40.0 / 44.6, 108 atoms 24.4 / 19.5, 512 atoms 16.5 / 13.9, 4,096 atoms
14.4 / 11.2. So by default
(``THREADS = "auto"``) an evaluation of fewer than ``SERIAL_BELOW`` atoms runs on one
thread, a larger one on Numba's current thread count (``numba.set_num_threads`` or
``NUMBA_NUM_THREADS``; never more). ``THREADS = n`` fixes the count for every call.
``benchmarks/bench_threads.py`` measures where the crossover lies.
"""

import contextlib

import numba

THREADS = "auto"
SERIAL_BELOW = 64


@contextlib.contextmanager
def threads_for(n_atoms):
    """Run the enclosed evaluation of ``n_atoms`` atoms on the thread count above."""
    current = numba.get_num_threads()
    if THREADS == "auto":
        want = 1 if n_atoms < SERIAL_BELOW else current
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
