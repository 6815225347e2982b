"""What ASE's usual request order costs: one pass per configuration, and energy_only mode.

    python benchmarks/bench_one_pass.py                # 4,096 Si, 7 rounds, 1 thread
    python benchmarks/bench_one_pass.py --quick        # 512 Si, 3 rounds
    python benchmarks/bench_one_pass.py --threads 2

The shipped ``data/si.nnp`` on rattled diamond Si (``bulk('Si', 'diamond', 5.431,
cubic=True) * (8, 8, 8)``, 4,096 atoms), through :class:`~ase_nnp.NNPCalculator` as ASE
uses it. Each call is timed on a fresh copy of the atoms with positions of its own (a
displacement of 1e-7 Å × the call's number on one atom) and a reset calculator, so no
case reads another's results:

* (a) ``get_potential_energy(); get_forces(); get_stress()`` — ASE's usual order;
* (b) ``get_forces(); get_potential_energy(); get_stress()`` — forces first;
* (c) ``get_potential_energy()`` with ``energy_only=True`` (Monte Carlo).

The cases run interleaved, in rotating order, ``--rounds`` times; the table gives per
case the best and median time and the median over rounds of each round's ratio to (b),
and to (a) for (c), with the 1-minute load average (``os.getloadavg``) before and after.
The targets: (a)/(b) ≤ 1.05, (c)/(a) ≤ 0.6. ``--threads`` sets Numba's and
the BLAS thread count (numpy's matrix products in the energy-only path) before either
is imported.
"""

import argparse
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "data", "si.nnp")


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="512 atoms, 3 rounds")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    return ap.parse_args()


def main():
    args = parse()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numba
    import numpy as np
    from ase.build import bulk

    from ase_nnp import NNPCalculator, load, threads

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    threads.THREADS = args.threads
    reps = 4 if args.quick else 8
    rounds = 3 if args.quick else args.rounds
    base = bulk("Si", "diamond", a=5.431, cubic=True) * (reps, reps, reps)
    base.rattle(0.02, seed=0)
    pot = load(MODEL)
    calcs = {"a": NNPCalculator(pot), "b": NNPCalculator(pot),
             "c": NNPCalculator(pot, energy_only=True)}
    order = {"a": ("energy", "forces", "stress"), "b": ("forces", "energy", "stress"),
             "c": ("energy",)}
    names = {"a": "(a) E; F; S", "b": "(b) F; E; S", "c": "(c) E, energy_only=True"}
    getters = {"energy": lambda a: a.get_potential_energy(), "forces": lambda a: a.get_forces(),
               "stress": lambda a: a.get_stress()}
    counter = [0]

    def run(case):
        counter[0] += 1
        atoms = base.copy()
        atoms.positions[0, 0] += 1e-7 * counter[0]      # a configuration of its own
        calc = calcs[case]
        calc.reset()
        atoms.calc = calc
        t = time.perf_counter()
        for prop in order[case]:
            getters[prop](atoms)
        return time.perf_counter() - t

    for case in calcs:                                  # compile / warm up
        run(case)
    load_before = os.getloadavg()[0]
    times = {case: [] for case in calcs}
    cases = list(calcs)
    for r in range(rounds):
        for case in cases[r % 3:] + cases[:r % 3]:
            times[case].append(run(case))
    load_after = os.getloadavg()[0]

    n = len(base)
    ratio_b = {c: statistics.median(x / y for x, y in zip(times[c], times["b"])) for c in cases}
    ratio_c_a = statistics.median(x / y for x, y in zip(times["c"], times["a"]))
    print(f"{n} atoms, data/si.nnp, {args.threads} thread(s), {rounds} interleaved rounds; "
          f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after, "
          f"{os.cpu_count()} CPUs")
    print(f"\n| case | best (ms) | median (ms) | µs/atom (best) | ratio to (b) | ratio to (a) |")
    print("|---|---|---|---|---|---|")
    for c in cases:
        best, med = min(times[c]), statistics.median(times[c])
        to_a = f"{ratio_c_a:.2f}" if c == "c" else ("1" if c == "a" else "")
        print(f"| {names[c]} | {best * 1e3:.1f} | {med * 1e3:.1f} | {best / n * 1e6:.2f} | "
              f"{ratio_b[c]:.2f} | {to_a} |")
    ok_a = ratio_b["a"] <= 1.05
    ok_c = ratio_c_a <= 0.6
    print(f"\n(a)/(b) = {ratio_b['a']:.2f} (target ≤ 1.05: {'met' if ok_a else 'NOT met'}); "
          f"(c)/(a) = {ratio_c_a:.2f} (target ≤ 0.6: {'met' if ok_c else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
