"""The cost of the extrapolation grade γ: one potential with and without its active set.

    python benchmarks/bench_extrapolation_grade.py [--rounds 15] [--repeat 5]

The shipped potential (data/si.nnp: 29 symmetry functions, 3.8 Å, 25-25 tanh) with an active set
selected from 20 rattled 64-atom cells, against the same potential without one, on
rattled diamond Si of 64, 512 and 4,096 atoms: energy, forces and stress per call
(``Potential.evaluate``; with the active set it also keeps each atom's last hidden layer
in the fused kernel and computes γ = max_j |(φ_i A⁻¹)_j|).

Paired and interleaved: each round times plain then graded (or graded then plain, the
order alternating from round to round) on the same structure, each as the best of
``--repeat`` calls after a warm-up; the ratio reported is the median over the rounds of
each round's graded/plain ratio, with the first and third quartiles, so that a load
change on shared cores affects both sides of a ratio alike.
"""

import argparse
import copy
import os
import statistics
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from reference_setup import best_time, rattled_si  # noqa: E402

from ase_nnp import ExtrapolationWarning, Potential, select_active_set  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8],
                    help="cubic 8-atom cells per edge (2: 64 atoms)")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ExtrapolationWarning)
    plain = Potential.load(os.path.join(ROOT, "data", "si.nnp"))
    graded = copy.deepcopy(plain)
    t0 = time.perf_counter()
    select_active_set(graded, [rattled_si(2, 0.1, seed=s) for s in range(20)])
    print(f"active set: {graded.active_set.rows['Si'].shape[0]} atoms of 1,280, selected in "
          f"{time.perf_counter() - t0:.2f} s")
    rows = []
    for n in args.sizes:
        atoms = rattled_si(n, 0.05, seed=1)
        call = {name: (lambda pot=pot: pot.evaluate(atoms.positions, atoms.numbers,
                                                     atoms.cell[:], atoms.pbc))
                for name, pot in (("plain", plain), ("graded", graded))}
        gamma = call["graded"]().extrapolation_grade
        assert gamma is not None and call["plain"]().extrapolation_grade is None
        times = {"plain": [], "graded": []}
        ratios = []
        for r in range(args.rounds):
            order = ("plain", "graded") if r % 2 == 0 else ("graded", "plain")
            got = {name: best_time(call[name], args.repeat) for name in order}
            for name in got:
                times[name].append(got[name])
            ratios.append(got["graded"] / got["plain"])
        q1, med, q3 = np.percentile(ratios, [25, 50, 75])
        rows.append((len(atoms), statistics.median(times["plain"]) * 1e3,
                     statistics.median(times["graded"]) * 1e3, med, q1, q3,
                     float(np.max(gamma))))
    print(f"\nRattled diamond Si, data/si.nnp, E+F+S per call, {args.rounds} interleaved "
          f"rounds (best of {args.repeat}), NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'all')}, load {os.getloadavg()[0]:.1f}\n")
    print("| atoms | plain (ms) | with γ (ms) | ratio (median) | quartiles | max γ |")
    print("|---|---|---|---|---|---|")
    for n, tp, tg, med, q1, q3, gmax in rows:
        print(f"| {n} | {tp:.2f} | {tg:.2f} | {med:.3f} | {q1:.3f}–{q3:.3f} | {gmax:.2f} |")


if __name__ == "__main__":
    main()
