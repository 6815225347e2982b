"""What a call costs by what it asks for, and what sharing a structure saves.

    python benchmarks/bench_sharing.py            # 4,096 Si, the shipped model
    python benchmarks/bench_sharing.py --quick    # 512 Si

Rows (µs per atom, best of several calls, interleaved rounds, one thread and all
threads):

* energy alone (no backward pass) against energy + forces + stress;
* K potentials with the same descriptor on one structure: K full evaluations,
  one :meth:`~ase_nnp.Potential.prepare` (neighbour list and checks) shared by K
  :meth:`~ase_nnp.Potential.evaluate_structure`, and in addition one shared
  descriptor pass with its Jacobian (G, J) that every member contracts;
* an :class:`~ase_nnp.Ensemble` of K = 1, 2, 5, 10 members (E + F + stress, means and
  spreads): the fused kernel computes the descriptor once per atom and runs each
  member's network and backward pass.

Times on a shared machine are noisy: read the ratios; the load average is printed.
"""

import argparse
import os
import sys
import time

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_setup import print_table, rattled_si  # noqa: E402

from ase_nnp import Ensemble, Potential  # noqa: E402

MODEL = os.path.join(HERE, "..", "data", "si.nnp")


def members(k):
    """K potentials with the shipped descriptor and scaling, different random networks."""
    base = Potential.load(MODEL)
    out = [base]
    for seed in range(1, k):
        p = Potential(base.elements, base.descriptor, hidden_layers=(25, 25), seed=seed,
                      scalings=base.scalings, energy_offsets=base.energy_offsets)
        out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-k", type=int, default=5, help="potentials sharing a structure")
    args = ap.parse_args()
    atoms = rattled_si(4 if args.quick else 8)
    n = len(atoms)
    a = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    pots = members(max(args.k, 10))[:args.k]
    ensembles = {k: Ensemble(members(k)) for k in (1, 2, 5, 10)}
    pot = pots[0]

    def ensemble_full():
        return [p.evaluate(*a) for p in pots]

    def ensemble_prepared():
        st = pot.prepare(*a)
        return [p.evaluate_structure(st) for p in pots]

    def ensemble_shared_pass():
        st = pot.prepare(*a)
        shared = pot.descriptor.evaluate_pass(st.nl, st.species, jacobian=True)
        return [p.evaluate_structure(st, descriptors=shared) for p in pots]

    cases = {
        "energy alone": lambda: pot.evaluate(*a, forces=False, stress=False),
        "energy + forces + stress": lambda: pot.evaluate(*a),
        f"{args.k} potentials: {args.k} x evaluate": ensemble_full,
        f"{args.k} potentials: 1 prepare + {args.k} x evaluate_structure": ensemble_prepared,
        f"{args.k} potentials: 1 prepare + 1 descriptor pass (G, J) + {args.k} contractions":
            ensemble_shared_pass,
    }
    for k, ens in ensembles.items():
        cases[f"Ensemble of {k}, E + F + stress with spreads"] = (
            lambda ens=ens: ens.evaluate(*a))
    ref = ensemble_full()
    for got in (ensemble_prepared(), ensemble_shared_pass()):
        for x, y in zip(ref, got):
            assert abs(x.energy - y.energy) < 1e-9 and np.abs(x.forces - y.forces).max() < 1e-9
    rows = []
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        best = {name: np.inf for name in cases}
        for fn in cases.values():
            fn()                                   # compile / warm up
        for _ in range(args.rounds):               # interleaved rounds
            for name, fn in cases.items():
                t = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t)
        for name, t in best.items():
            rows.append((f"{name}, {n} Si", f"ase-nnp ({threads} thr)", f"{t / n * 1e6:.1f} µs/atom"))
    print_table(rows)
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        t = {r[0]: float(r[2].split()[0]) for r in rows if r[1] == f"ase-nnp ({threads} thr)"}
        one = t[f"Ensemble of 1, E + F + stress with spreads, {n} Si"]
        print(f"{threads} thr: Ensemble cost / K = 1: " + ", ".join(
            f"K = {k}: {t[f'Ensemble of {k}, E + F + stress with spreads, {n} Si'] / one:.2f}x"
            for k in ensembles))
    print(f"\nload average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
