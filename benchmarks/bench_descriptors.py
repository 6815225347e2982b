"""Descriptor benchmark: spherical-Bessel (Kocer, Mason and Erturk, J. Chem. Phys. 150, 154102 (2019)) against symmetry functions and dscribe's SOAP.

    pip install ".[bench]"
    python benchmarks/bench_descriptors.py            # 4096 Si atoms (a minute or two)
    python benchmarks/bench_descriptors.py --quick    # 512 atoms, for a smoke run

One run, one machine, side by side, at the same cutoff (6.5 Å) on rattled
diamond Si:

* energy + forces + stress through a 30-30 tanh network on the 26 symmetry
  functions of the engine benchmark (the set of Yoo et al., Phys. Rev. Materials 3, 093802 (2019), fused compiled path) and
  on the 25 spherical-Bessel values with n_max = l_max = 4;
* descriptor values alone for the two and for dscribe's SOAP with a comparable
  number of values (n_max = 3, l_max = 4: 30 values; dscribe computes no
  derivatives in this row);
* dscribe's SOAP values with derivatives (numerical: dscribe has no analytical
  ones for periodic systems) against our E+F+stress on a 64-atom cell.

Times are the best of several repetitions after one warm-up call, per atom,
with one Numba thread unless the row says otherwise.
"""

import argparse
import os
import sys

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_setup import best_time, print_table, rattled_si, reference_potential  # noqa: E402

from ase_nnp import Potential  # noqa: E402
from ase_nnp.descriptors import SphericalBessel  # noqa: E402
from ase_nnp.neighbors import build  # noqa: E402

CUTOFF = 6.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    atoms = rattled_si(4 if args.quick else 8)
    n = len(atoms)
    pos, cell, pbc = atoms.positions, atoms.cell[:], atoms.pbc
    species = np.zeros(n, dtype=np.int64)
    sf_pot = reference_potential()
    sb_pot = Potential(["Si"], SphericalBessel(["Si"], CUTOFF, n_max=4, l_max=4),
                       hidden_layers=(30, 30), activation="tanh", seed=0)
    nl = build(pos, cell, pbc, CUTOFF)
    rows = []
    us = lambda t: t / n * 1e6  # noqa: E731
    full = {}
    for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
        numba.set_num_threads(threads)
        for name, pot in (("26 symmetry functions", sf_pot), ("spherical Bessel 4/4 (25)", sb_pot)):
            t = best_time(lambda: pot.evaluate(pos, atoms.numbers, cell, pbc))
            full[(name, threads)] = t
            rows.append((f"E+F+stress, {n} Si, {name}, 30-30", f"ase-nnp ({threads} thr)",
                         f"{us(t):.1f} µs/atom"))
    numba.set_num_threads(1)
    for name, pot in (("26 symmetry functions", sf_pot), ("spherical Bessel 4/4 (25)", sb_pot)):
        t = best_time(lambda: pot.descriptor.forward(nl, species))
        rows.append((f"values only, {n} Si, {name}", "ase-nnp forward (1 thr)",
                     f"{us(t):.1f} µs/atom"))
    soap_t = None
    try:
        from dscribe.descriptors import SOAP
        soap = SOAP(species=["Si"], r_cut=CUTOFF, n_max=3, l_max=4, periodic=True)
        soap_t = best_time(lambda: soap.create(atoms, n_jobs=1), repeat=2)
        rows.append((f"values only, {n} Si, SOAP n_max=3 l_max=4 "
                     f"({soap.get_number_of_features()})", "dscribe (1 thr, no derivatives)",
                     f"{us(soap_t):.1f} µs/atom"))
        # values and derivatives: dscribe has only numerical derivatives for periodic
        # systems and returns them dense in (centre, atom), so this row uses 64 atoms
        small = rattled_si(2)
        ns = len(small)
        soap_deriv_t = best_time(lambda: soap.derivatives(small, method="numerical", n_jobs=1),
                                 repeat=1)
        rows.append((f"values + derivatives, {ns} Si, SOAP n_max=3 l_max=4",
                     "dscribe (1 thr, numerical: no analytical for pbc)",
                     f"{soap_deriv_t / ns * 1e6:.1f} µs/atom"))
        numba.set_num_threads(1)
        small_t = best_time(lambda: sb_pot.evaluate(small.positions, small.numbers,
                                                    small.cell[:], small.pbc))
        rows.append((f"E+F+stress, {ns} Si, spherical Bessel 4/4 (25), 30-30",
                     "ase-nnp (1 thr)", f"{small_t / ns * 1e6:.1f} µs/atom"))
    except ImportError:
        rows.append(("values only, SOAP", "dscribe not installed", "-"))
    ratio = full[("spherical Bessel 4/4 (25)", 1)] / full[("26 symmetry functions", 1)]
    rows.append(("Bessel / symmetry functions, E+F+stress (1 thr)", "ratio (target <= 0.5)",
                 f"{ratio:.2f}"))
    if soap_t is not None:
        rows.append(("dscribe SOAP values / Bessel E+F+stress (1 thr)", "speed-up (target >= 10)",
                     f"{soap_t / full[('spherical Bessel 4/4 (25)', 1)]:.1f}x"))
        rows.append(("dscribe SOAP values+derivatives / Bessel E+F+stress (64 Si)", "speed-up",
                     f"{soap_deriv_t / small_t:.0f}x"))
    print(f"machine: {os.cpu_count()} cores, Numba threads available: "
          f"{numba.config.NUMBA_NUM_THREADS}, {nl.n_pairs / n:.0f} pairs/atom")
    print_table(rows)

if __name__ == "__main__":
    main()
