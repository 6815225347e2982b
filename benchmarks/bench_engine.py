"""Engine benchmark: neighbour list, energy+forces+stress, memory and start-up, against peers.

    pip install ".[bench]"
    python benchmarks/bench_engine.py            # full table (a few minutes)
    python benchmarks/bench_engine.py --quick    # smaller systems, for a smoke run

Everything is measured in this one run on this machine; the table printed at
the end is what the README shows. Times are the best of several repetitions
(the first call, which may load Numba's cache, is excluded except in the
start-up rows). Setup: the Si potential of Yoo et al., Phys. Rev. Materials 3, 093802 (2019) (26 symmetry functions, cosine
cutoff 6.5 Å, 26-30-30-1 tanh) on rattled diamond Si.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reference_setup import best_time, print_table, rattled_si, reference_potential  # noqa: E402

from ase_nnp.descriptors.presets import (SI_ANGULAR_ETAS, SI_LAMBDAS,  # noqa: E402
                                         SI_RADIAL_ETAS, SI_ZETAS)
from ase_nnp.neighbors import build  # noqa: E402

CUTOFF = 6.5
N2P2_US_PER_ATOM = 145.0   # n2p2, one thread, this potential (measured earlier on this machine, not run here)


def neighbour_rows(sizes, repeat):
    from ase.neighborlist import neighbor_list as ase_nl
    rows = []
    for n_cells in sizes:
        atoms = rattled_si(n_cells)
        n = len(atoms)
        pos, cell, pbc = atoms.positions, atoms.cell[:], atoms.pbc
        peers = {}
        for threads in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(threads)
            peers[f"ase-nnp ({threads} thr)"] = best_time(lambda: build(pos, cell, pbc, CUTOFF), repeat)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        try:
            from vesin import NeighborList as VesinNL
            vnl = VesinNL(cutoff=CUTOFF, full_list=True)
            peers["vesin"] = best_time(lambda: vnl.compute(pos, cell, True, quantities="ijSd"), repeat)
        except ImportError:
            pass
        try:
            from matscipy.neighbours import neighbour_list as msp_nl
            peers["matscipy"] = best_time(lambda: msp_nl("ijdDS", atoms, CUTOFF), repeat)
        except ImportError:
            pass
        if n <= 8192:
            peers["ase"] = best_time(lambda: ase_nl("ijdDS", atoms, CUTOFF), 1)
        n_pairs = build(pos, cell, pbc, CUTOFF).n_pairs
        for name, t in peers.items():
            rows.append((f"neighbour list, {n} Si, {n_pairs // n} pairs/atom", name, t / n * 1e6))
    return rows


def energy_rows(n_cells, repeat):
    atoms = rattled_si(n_cells)
    n = len(atoms)
    pot = reference_potential()
    rows = []
    label = f"E+F+stress, {n} Si, 26 SF, 26-30-30-1"
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        t = best_time(lambda: pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc),
                      repeat)
        rows.append((label, f"ase-nnp ({threads} thr, neighbour list incl.)", t / n * 1e6))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    rows.append((label, "n2p2 (earlier measurement, not run here)", N2P2_US_PER_ATOM))
    try:
        from dscribe.descriptors import ACSF
        acsf = ACSF(r_cut=CUTOFF, g2_params=[[e, 0.0] for e in SI_RADIAL_ETAS],
                    g4_params=[[e, z, lam] for e in SI_ANGULAR_ETAS for z in SI_ZETAS
                               for lam in SI_LAMBDAS],
                    species=["Si"], periodic=True)
        t = best_time(lambda: acsf.create(atoms, n_jobs=1), max(1, repeat // 2))
        rows.append((f"26 SF values only, {n} Si", "dscribe ACSF (1 thr, no derivatives)", t / n * 1e6))
    except ImportError:
        pass
    numba.set_num_threads(1)
    sf = pot.descriptor
    nl = build(atoms.positions, atoms.cell[:], atoms.pbc, CUTOFF)
    sp = np.zeros(n, dtype=np.int64)
    t = best_time(lambda: sf.forward(nl, sp), repeat)
    rows.append((f"26 SF values only, {n} Si", "ase-nnp forward (1 thr)", t / n * 1e6))
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    return rows


def _subprocess(code, env=None):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, env={**os.environ, **(env or {})}, cwd=HERE, check=True)
    return out.stdout.strip().splitlines()[-1]


def memory_row(cells):
    """Peak RSS of a fresh process evaluating E+F+stress on 8 * prod(cells) atoms."""
    code = f"""
        import resource, sys, numpy as np
        sys.path.insert(0, {HERE!r})
        from reference_setup import rattled_si, reference_potential
        atoms = rattled_si({cells!r})
        pot = reference_potential()
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(len(atoms), peak / 1024, base / 1024)
    """
    n, peak, base = _subprocess(code).split()
    return (f"peak memory, E+F+stress, {n} Si", "ase-nnp (process peak RSS, MB)", float(peak))


def startup_rows():
    code = f"""
        import time
        t0 = time.perf_counter()
        import sys
        sys.path.insert(0, {HERE!r})
        from reference_setup import rattled_si, reference_potential
        from ase_nnp import NNPCalculator
        atoms = rattled_si(2)
        atoms.calc = NNPCalculator(reference_potential())
        atoms.get_forces(); atoms.get_stress()
        print(time.perf_counter() - t0)
    """
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = float(_subprocess(code, env))
        warm = float(_subprocess(code, env))
    rows.append(("start-up: import + first E/F/stress (64 Si)", "ase-nnp, cold (compiling)", cold))
    rows.append(("start-up: import + first E/F/stress (64 Si)", "ase-nnp, warm Numba cache", warm))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small systems, one repetition")
    args = ap.parse_args()
    repeat = 1 if args.quick else 9
    print(f"machine: {os.cpu_count()} cores, Numba threads available: "
          f"{numba.config.NUMBA_NUM_THREADS}, numpy {np.__version__}, numba {numba.__version__}")
    rows = []
    rows += neighbour_rows((4, 8) if args.quick else (8, 16), repeat)
    rows += energy_rows(4 if args.quick else 8, repeat)
    rows += startup_rows()
    rows.append(memory_row((8, 8, 8) if args.quick else (25, 25, 20)))   # 4,096 or 100,000 atoms
    table = []
    for case, name, value in rows:
        unit = "s" if case.startswith("start-up") else ("MB" if "memory" in case else "µs/atom")
        table.append((case, name, f"{value:.2f} s" if unit == "s" else f"{value:.1f} {unit}"))
    print_table(table)


if __name__ == "__main__":
    main()
