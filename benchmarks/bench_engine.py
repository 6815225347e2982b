"""Engine benchmark: ase-nnp side by side with n2p2, vesin and LAMMPS+n2p2, in one run.

    pip install ".[bench]"                      # vesin
    python benchmarks/bench_engine.py [--n2p2 DIR] [--lammps LMP] [--rounds 3]
    python benchmarks/bench_engine.py --quick   # smaller systems, one round, a smoke run

``--n2p2 DIR``: a folder with ``n2p2_time`` (the stage-timing harness built against a
released libnnp by the peer scripts; ``nnp-predict`` alone is not enough). ``--lammps``:
an ``lmp`` built with ML-HDNNP (``pair_style hdnnp``) on a released n2p2. Without them
those columns are left out and the table says so.

Every comparison is measured in interleaved rounds (ase-nnp, then the peer, then the
next case, ``--rounds`` times), each round with the machine's 1-minute load average;
the ratios reported are medians over the rounds of each round's ratio. Times within a
round are the best of ``--repeat`` calls after a warm-up call.

1. **Reference setup** (Yoo et al., Phys. Rev. Materials 3, 093802 (2019): 8 radial + 18
   narrow angular symmetry functions, cosine cutoff 6.5 Å, 26-30-30-1 tanh) on 4,096
   rattled diamond Si: ase-nnp E+F+S with its neighbour list, on 1 and 2 threads, against
   n2p2's SF+NN+F on one thread (its own O(N²) neighbour list excluded, reported apart).
   The same potential on both sides (exported with ``write_n2p2``); the energies are
   compared each round.
2. **Neighbour list** at 6.5 Å, one thread: ase-nnp against vesin (``full_list=True``,
   i, j, S, d) at 4,096 and 32,768 atoms.
3. **The shipped potential** (data/si.nnp, 3.8 Å, 34 functions): E+F+S per atom and ASE
   ``VelocityVerlet`` steps per second at 4,096 and 32,768 atoms (1 and 2 threads),
   against LAMMPS ``pair_style hdnnp`` (its own ZBL overlay as ``ase-nnp export``
   writes it), NVE, the loop time per atom-step on one MPI rank and on two.
4. **Unchanged elsewhere**: spherical-Bessel E+F+S (n_max 4, l_max 5, 6.5 Å), one
   training loss+gradient evaluation (500 × 64 Si, energies + forces + stress), and the
   start-up (import + first E/F/S, cold Numba cache and warm).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numba
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from reference_setup import best_time, print_table, rattled_si, reference_potential  # noqa: E402

from ase_nnp import NNPCalculator, Potential  # noqa: E402
from ase_nnp.neighbors import build  # noqa: E402

CUTOFF = 6.5
THREADS = numba.config.NUMBA_NUM_THREADS


def load():
    return os.getloadavg()[0]


def with_threads(n, fn):
    numba.set_num_threads(min(n, THREADS))
    try:
        return fn()
    finally:
        numba.set_num_threads(THREADS)


# ---------------------------------------------------------------- peers
class N2P2:
    """n2p2_time on one potential directory and structure (a subprocess per round)."""

    def __init__(self, bindir, potential, atoms, workdir):
        from ase_nnp.interop import write_input_data, write_n2p2
        self.exe = os.path.join(bindir, "n2p2_time")
        if not os.access(self.exe, os.X_OK):
            raise FileNotFoundError(f"{self.exe} is missing (build it with the peer scripts)")
        self.pot_dir = os.path.join(workdir, "n2p2")
        write_n2p2(potential, self.pot_dir)
        self.data = os.path.join(workdir, "input.data")
        write_input_data([atoms], self.data)

    def run(self, reps):
        env = dict(os.environ, OMP_NUM_THREADS="1")
        out = subprocess.run([self.exe, self.pot_dir, self.data, str(reps)], capture_output=True,
                             text=True, env=env, check=True, cwd=self.pot_dir).stdout

        def value(label):
            m = re.search(rf"^n2p2 {re.escape(label)}\s+([0-9.eE+-]+)", out, re.M)
            return float(m.group(1)) if m else np.nan
        energy = re.search(r"energy\s+([-0-9.eE+]+)", out)
        return {"SF+NN+F": value("SF+NN+F (median of per-rep sums)"), "NL": value("NL"),
                "energy": float(energy.group(1)) if energy else np.nan}


def lammps_md(lmp, potential, n_cells, steps, ranks, workdir):
    """LAMMPS pair_style hdnnp NVE on the exported potential: µs per atom and step."""
    from ase_nnp.interop import write_n2p2
    from ase_nnp.interop.lammps import pair_lines
    pot_dir = os.path.join(workdir, "lammps-n2p2")
    if not os.path.exists(pot_dir):
        write_n2p2(potential, pot_dir, without_repulsion=True)
    lines = pair_lines(potential, pot_dir)
    deck = textwrap.dedent(f"""\
        units metal
        boundary p p p
        atom_style atomic
        lattice diamond 5.431
        region box block 0 {n_cells} 0 {n_cells} 0 {n_cells}
        create_box 1 box
        create_atoms 1 box
        mass 1 28.0855
        """) + "\n".join(lines) + textwrap.dedent(f"""
        velocity all create 600.0 2026 mom yes rot yes dist gaussian
        fix nve all nve
        timestep 0.001
        thermo {steps}
        run {steps}
        """)
    path = os.path.join(workdir, "in.bench")
    with open(path, "w") as fh:
        fh.write(deck)
    logpath = os.path.join(workdir, f"log.{ranks}")
    cmd = [lmp, "-in", path, "-log", logpath, "-screen", "none"]
    if ranks > 1:
        cmd = ["mpirun", "--allow-run-as-root", "-np", str(ranks)] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=workdir,
                         env=dict(os.environ, OMP_NUM_THREADS="1"))
    log = open(logpath).read() if os.path.exists(logpath) else ""
    m = re.search(r"Loop time of ([0-9.eE+-]+) on", log)
    if out.returncode or m is None:
        raise RuntimeError(f"LAMMPS failed: {(out.stdout + out.stderr + log)[-600:]}")
    n_atoms = 8 * n_cells ** 3
    return float(m.group(1)) / (steps * n_atoms) * 1e6


# ---------------------------------------------------------------- sections
def reference_section(n_cells, rounds, repeat, n2p2_dir, workdir):
    atoms = rattled_si(n_cells)
    n = len(atoms)
    pot = reference_potential()
    args = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    peer = None
    if n2p2_dir:
        peer = N2P2(n2p2_dir, pot, atoms, workdir)
    rows, ratios, loads = [], [], []
    e_ours = pot.evaluate(*args).energy
    for k in range(rounds):
        loads.append(load())
        t1 = with_threads(1, lambda: best_time(lambda: pot.evaluate(*args), repeat)) / n * 1e6
        t2 = with_threads(2, lambda: best_time(lambda: pot.evaluate(*args), repeat)) / n * 1e6
        line = f"round {k + 1} (load {loads[-1]:.2f}): ase-nnp {t1:.1f} (1 thr), {t2:.1f} (2 thr)"
        if peer is not None:
            res = peer.run(repeat)
            ratios.append(t1 / res["SF+NN+F"])
            line += (f"; n2p2 SF+NN+F {res['SF+NN+F']:.1f}, its NL {res['NL']:.1f} µs/atom; "
                     f"ratio {ratios[-1]:.3f}; |ΔE|/|E| = "
                     f"{abs(res['energy'] - e_ours) / abs(e_ours):.1e}")
        print(line, flush=True)
        rows.append((t1, t2, peer and res["SF+NN+F"]))
    label = f"E+F+S, {n} Si, 26 SF 6.5 Å, 26-30-30-1 (neighbour list incl.)"
    med = [statistics.median(r[c] for r in rows) for c in range(2)]
    out = [(label, "ase-nnp (1 thr)", f"{med[0]:.1f} µs/atom"),
           (label, f"ase-nnp ({min(2, THREADS)} thr)", f"{med[1]:.1f} µs/atom")]
    if peer is not None:
        out.append((label, "n2p2 SF+NN+F (1 thr, its NL excluded)",
                    f"{statistics.median(r[2] for r in rows):.1f} µs/atom"))
        out.append((label, "ratio ase-nnp (1 thr) / n2p2, median of rounds",
                    f"{statistics.median(ratios):.3f} (rounds "
                    + ", ".join(f"{x:.3f}" for x in ratios) + ")"))
    else:
        out.append((label, "n2p2", "not run (give --n2p2 DIR with n2p2_time)"))
    return out, loads


def neighbour_section(sizes, rounds, repeat):
    try:
        from vesin import NeighborList as Vesin
    except ImportError:
        Vesin = None
    out, loads = [], []
    for n_cells in sizes:
        atoms = rattled_si(n_cells)
        n = len(atoms)
        pos, cell, pbc = atoms.positions, atoms.cell[:], atoms.pbc
        ours, theirs = [], []
        for _ in range(rounds):
            loads.append(load())
            ours.append(with_threads(1, lambda: best_time(lambda: build(pos, cell, pbc, CUTOFF),
                                                          repeat)) / n * 1e6)
            if Vesin is not None:
                vnl = Vesin(cutoff=CUTOFF, full_list=True)
                theirs.append(best_time(lambda: vnl.compute(pos, cell, True, quantities="ijSd"),
                                        repeat) / n * 1e6)
        label = f"neighbour list 6.5 Å, {n} Si, {build(pos, cell, pbc, CUTOFF).n_pairs // n} pairs/atom"
        out.append((label, "ase-nnp (1 thr)", f"{statistics.median(ours):.2f} µs/atom"))
        if theirs:
            r = [a / b for a, b in zip(ours, theirs)]
            out.append((label, "vesin (1 thr)", f"{statistics.median(theirs):.2f} µs/atom"))
            out.append((label, "ratio ase-nnp / vesin, median of rounds",
                        f"{statistics.median(r):.2f} (rounds " + ", ".join(f"{x:.2f}" for x in r)
                        + ")"))
        else:
            out.append((label, "vesin", "not installed (pip install vesin)"))
    return out, loads


def shipped_section(sizes, rounds, lmp, workdir, md_steps):
    from ase.md.verlet import VelocityVerlet
    from ase.units import fs
    pot = Potential.load(os.path.join(ROOT, "data", "si.nnp"))
    out, loads = [], []
    for n_cells in sizes:
        atoms = rattled_si(n_cells)
        n = len(atoms)
        args = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        steps = md_steps if n <= 8192 else max(2, md_steps // 5)
        res = {"efs1": [], "efs2": [], "md1": [], "md2": [], "lmp1": [], "lmp2": []}
        for _ in range(rounds):
            loads.append(load())
            for thr in (1, 2):
                res[f"efs{thr}"].append(with_threads(thr, lambda: best_time(
                    lambda: pot.evaluate(*args), 3)) / n * 1e6)
                a = atoms.copy()
                a.calc = NNPCalculator(pot)
                dyn = VelocityVerlet(a, 1.0 * fs)
                with_threads(thr, lambda: dyn.run(1))
                t = time.perf_counter()
                with_threads(thr, lambda: dyn.run(steps))
                res[f"md{thr}"].append(steps / (time.perf_counter() - t))
            if lmp:
                for ranks in (1, 2):
                    res[f"lmp{ranks}"].append(lammps_md(lmp, pot, n_cells, steps, ranks, workdir))
        label = f"shipped data/si.nnp, {n} Si"
        med = {k: statistics.median(v) for k, v in res.items() if v}
        out.append((label, "ase-nnp E+F+S (1 thr / 2 thr)",
                    f"{med['efs1']:.1f} / {med['efs2']:.1f} µs/atom"))
        out.append((label, "ase-nnp ASE VelocityVerlet (1 thr / 2 thr)",
                    f"{med['md1']:.2f} / {med['md2']:.2f} steps/s = "
                    f"{1e6 / (med['md1'] * n):.1f} / {1e6 / (med['md2'] * n):.1f} µs/atom/step"))
        if lmp:
            out.append((label, "LAMMPS hdnnp NVE (1 rank / 2 ranks)",
                        f"{1e6 / (med['lmp1'] * n):.2f} / {1e6 / (med['lmp2'] * n):.2f} steps/s = "
                        f"{med['lmp1']:.1f} / {med['lmp2']:.1f} µs/atom/step"))
            out.append((label, "ratio ase-nnp MD / LAMMPS per step (1 thr / 1 rank)",
                        f"{(1e6 / (med['md1'] * n)) / med['lmp1']:.2f}"))
        else:
            out.append((label, "LAMMPS hdnnp", "not run (give --lammps LMP)"))
    return out, loads


def unchanged_section(repeat, quick):
    from ase_nnp.descriptors import SphericalBessel
    atoms = rattled_si(4 if quick else 8)
    n = len(atoms)
    bessel = Potential(["Si"], SphericalBessel(["Si"], CUTOFF, n_max=4, l_max=5),
                       hidden_layers=(30, 30), seed=0)
    args = (atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
    t = with_threads(1, lambda: best_time(lambda: bessel.evaluate(*args), repeat)) / n * 1e6
    out = [(f"E+F+S, {n} Si, spherical Bessel n_max 4 l_max 5, 6.5 Å", "ase-nnp (1 thr)",
            f"{t:.1f} µs/atom")]
    frames = 50 if quick else 500
    line = subprocess.run([sys.executable, os.path.join(HERE, "bench_training.py"), "--frames",
                           str(frames)], capture_output=True, text=True, check=True).stdout
    prep = re.search(r"once\) ([0-9.]+) s", line)
    m = re.search(r"best of \d+: ([0-9.]+) s", line)
    out.append((f"training, {frames} × 64 Si, E+F+S", "ase-nnp: preparation (G, dG/dD) / "
                "one loss+gradient (all threads)",
                f"{prep.group(1)} s / {m.group(1)} s" if m and prep else line.strip()))
    return out


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
        r = pot.evaluate(atoms.positions, atoms.numbers, atoms.cell[:], atoms.pbc)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(len(atoms), peak / 1024)
    """
    n, peak = _subprocess(code).split()
    return (f"peak memory, E+F+S, {n} Si (reference setup)", "ase-nnp (process peak RSS)",
            f"{float(peak):.0f} MB")


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
    with tempfile.TemporaryDirectory() as cache:
        env = {"NUMBA_CACHE_DIR": cache}
        cold = float(_subprocess(code, env))
        warm = float(_subprocess(code, env))
    label = "start-up: import + first E/F/S (64 Si)"
    return [(label, "ase-nnp, cold (compiling)", f"{cold:.1f} s"),
            (label, "ase-nnp, warm Numba cache", f"{warm:.2f} s")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n2p2", default="", help="folder with n2p2_time")
    ap.add_argument("--lammps", default="", help="lmp with pair_style hdnnp")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="small systems, one round")
    ap.add_argument("--only", default="", help="comma-separated sections: reference, "
                    "neighbours, shipped, unchanged, startup")
    args = ap.parse_args()
    rounds = 1 if args.quick else args.rounds
    repeat = 1 if args.quick else args.repeat
    only = set(filter(None, args.only.split(","))) or {"reference", "neighbours", "shipped",
                                                      "unchanged", "startup"}
    print(f"machine: {os.cpu_count()} cores, Numba threads {THREADS}, numpy {np.__version__}, "
          f"numba {numba.__version__}, load at start {load():.2f}")
    table, loads = [], []
    with tempfile.TemporaryDirectory() as work:
        if "reference" in only:
            rows, ld = reference_section(4 if args.quick else 8, rounds, repeat, args.n2p2, work)
            table += rows
            loads += ld
        if "neighbours" in only:
            rows, ld = neighbour_section((4, 8) if args.quick else (8, 16), rounds, repeat)
            table += rows
            loads += ld
        if "shipped" in only:
            rows, ld = shipped_section((4,) if args.quick else (8, 16), rounds, args.lammps,
                                       work, 5 if args.quick else 20)
            table += rows
            loads += ld
    if "unchanged" in only:
        table += unchanged_section(repeat, args.quick)
    if "startup" in only:
        table += startup_rows()
        table.append(memory_row((8, 8, 8) if args.quick else (25, 25, 20)))
    print_table(table)
    if loads:
        print(f"\nload average (1 min) during the rounds: {min(loads):.2f}-{max(loads):.2f}")


if __name__ == "__main__":
    main()
