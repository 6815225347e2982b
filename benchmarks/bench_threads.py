"""Threads against system size: is the default ever slower than one thread?

    python benchmarks/bench_threads.py [--rounds 7]

E + F + stress with the shipped ``data/si.nnp`` on rattled diamond Si of 32, 108, 512 and
4,096 atoms, with 1 thread, with all threads, and with the default (ase-nnp picks one
thread below ``ase_nnp.policy.SERIAL_BELOW`` atoms). Rounds are interleaved; the best
time of each is printed as µs/atom, with the machine's load average.
"""

import argparse
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    pot = Potential.load(os.path.join(HERE, "..", "data", "si.nnp"))
    n_all = numba.config.NUMBA_NUM_THREADS
    settings = {"1 thread": 1, f"{n_all} threads": n_all, "default": None}
    sizes = (32, 108, 512, 4096)
    best = {(n, s): np.inf for n in sizes for s in settings}
    structures = {n: cell(n) for n in sizes}
    for _ in range(args.rounds):
        for n, atoms in structures.items():
            a = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
            reps = max(1, 4096 // n)
            for name, threads in settings.items():
                policy.THREADS = "auto" if threads is None else threads
                pot.evaluate(*a)
                t = time.perf_counter()
                for _ in range(reps):
                    pot.evaluate(*a)
                best[n, name] = min(best[n, name], (time.perf_counter() - t) / reps / n * 1e6)
    policy.THREADS = "auto"
    print(f"\n| atoms | {' | '.join(settings)} |")
    print("|---|" + "---|" * len(settings))
    for n in sizes:
        print(f"| {n} | " + " | ".join(f"{best[n, s]:.1f}" for s in settings) + " |")
    print(f"\nµs/atom, E + F + stress, data/si.nnp; default = 1 thread below "
          f"{policy.SERIAL_BELOW} atoms; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
