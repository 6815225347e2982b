"""GDF density benchmark: the exact O(n² D) kernel on the shipped training set.

    python benchmarks/bench_gdf.py            # all 78,049 training atoms (about a minute)
    python benchmarks/bench_gdf.py --quick    # 10,000 of them

The descriptor rows are those of data/si.nnp on data/si_sw_train.extxyz.gz, scaled per
component to [-1, 1] over the training atoms, as GDF weighting uses them (Jeong et al.,
J. Phys. Chem. C 122, 22790 (2018)); σ = 0.02. Rows: the kernel for growing n on all
Numba threads, and on one for the two smallest (one timed call each after a warm-up on a
small set), and the machine's load average before the run. Measured on the 2-core machine
(load 1.2): 78,049 atoms x 29 functions in 49.7 s on 2 threads (8.2 ns per pair).
"""

import argparse
import os
import sys
import time

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_setup import print_table  # noqa: E402

from ase_nnp import load  # noqa: E402
from ase_nnp.analysis.gdf import gdf_density, scale_to_unit_box  # noqa: E402
from ase_nnp.neighbors import build  # noqa: E402


def training_descriptors(structures=0):
    """data/si.nnp's descriptor rows of the shipped training set (its first ``structures``
    structures; 0: all), scaled per column to [-1, 1]."""
    from ase.io import read
    pot = load(os.path.join(HERE, "..", "data", "si.nnp"))
    rows = []
    for atoms in read(os.path.join(HERE, "..", "data", "si_sw_train.extxyz.gz"),
                      f":{structures or ''}"):
        nl = build(atoms.positions, atoms.cell[:], atoms.pbc, pot.cutoff)
        rows.append(pot.descriptor.forward(nl, pot.species_indices(atoms.numbers)))
    return scale_to_unit_box(np.concatenate(rows))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    load_avg = os.getloadavg()[0]
    G = training_descriptors()
    gdf_density(G[:200])                        # compile
    sizes = [10_000] if args.quick else [10_000, 20_000, 40_000, len(G)]
    rows = []
    for n in sizes:
        every = numba.config.NUMBA_NUM_THREADS
        for threads in sorted({1, every}) if n <= 20_000 else [every]:
            numba.set_num_threads(threads)
            t = time.perf_counter()
            gdf_density(G[:n], 0.02)
            dt = time.perf_counter() - t
            rows.append((f"{n:,} atoms x {G.shape[1]} functions", f"{threads} thread(s)",
                         f"{dt:.1f} s ({1e9 * dt / n / n:.2f} ns per pair)"))
    print(f"load average before the run: {load_avg:.2f} on {os.cpu_count()} cores")
    print_table(rows)


if __name__ == "__main__":
    main()
