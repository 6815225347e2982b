"""Threads against system size: is the default ever slower than one thread?

    python benchmarks/bench_threads.py [--rounds 7] [--busy N]

E + F + stress with the shipped ``data/si.nnp`` on rattled diamond Si of 32, 108, 512 and
4,096 atoms, with 1 thread, with all threads, and with the default (``ase_nnp.threads``:
one thread below ``SERIAL_BELOW`` atoms, else as many as there are free cores). Rounds
are interleaved, the settings in rotating order; the best and the median time of each are
printed as µs/atom, with the machine's 1-minute load average before and after (it counts
this benchmark's own threads too) and the free cores that ``ase_nnp.threads`` read last.
``--busy N`` starts N processes that spin on a core for the whole run, to measure the
machine under another program's load.
"""

import argparse
import multiprocessing
import os
import time

import numba
import numpy as np
from ase.build import bulk

from ase_nnp import Potential
from ase_nnp import threads as policy

HERE = os.path.dirname(os.path.abspath(__file__))


def cell(n):
    prim = bulk("Si", "diamond", a=5.431)
    reps = {32: (2, 2, 4), 108: (3, 3, 6), 512: (8, 8, 4), 4096: (16, 16, 8)}[n]
    atoms = prim.repeat(reps)
    atoms.rattle(0.05, seed=1)
    return atoms


def _spin():
    while True:
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--busy", type=int, default=0)
    args = ap.parse_args()
    load_before = os.getloadavg()[0]
    spinners = [multiprocessing.Process(target=_spin, daemon=True) for _ in range(args.busy)]
    for p in spinners:
        p.start()
    pot = Potential.load(os.path.join(HERE, "..", "data", "si.nnp"))
    n_all = numba.config.NUMBA_NUM_THREADS
    settings = {"1 thread": 1, f"{n_all} threads": n_all, "default": None}
    sizes = (32, 108, 512, 4096)
    times = {(n, s): [] for n in sizes for s in settings}
    structures = {n: cell(n) for n in sizes}
    names = list(settings)
    for r in range(args.rounds):
        for n, atoms in structures.items():
            a = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
            reps = max(1, 4096 // n)
            for name in names[r % 3:] + names[:r % 3]:      # each setting in turn goes first
                threads = settings[name]
                policy.THREADS = "auto" if threads is None else threads
                pot.evaluate(*a)
                t = time.perf_counter()
                for _ in range(reps):
                    pot.evaluate(*a)
                times[n, name].append((time.perf_counter() - t) / reps / n * 1e6)
    policy.THREADS = "auto"
    load_after = os.getloadavg()[0]
    policy._load.free_cores()
    for p in spinners:
        p.terminate()
    for title, stat in (("best", np.min), ("median", np.median)):
        print(f"\n| atoms ({title}) | {' | '.join(settings)} |")
        print("|---|" + "---|" * len(settings))
        for n in sizes:
            print(f"| {n} | " + " | ".join(f"{stat(times[n, s]):.1f}" for s in settings) + " |")
    free = policy._load.free
    print(f"\nµs/atom, E + F + stress, data/si.nnp; default = 1 thread below "
          f"{policy.SERIAL_BELOW} atoms, else the free cores; {args.busy} spinning processes; "
          f"load average {load_before:.2f} before, {load_after:.2f} after, on "
          f"{os.cpu_count()} CPUs; free cores at the end "
          + ("unknown" if free is None else f"{free:.2f}"))


if __name__ == "__main__":
    main()
