"""Short-range repulsion of data/si.nnp: a collapse curve and 3,000 K MD, against Stillinger–Weber.

    python examples/repulsion_si.py [--steps 3000] [--temperature 3000] [--plot repulsion_si.png]

1. **Collapse.** One atom of a diamond cell is pushed along the bond onto its
   neighbour (distance d). The shipped potential (networks + ZBL switched off at
   the smallest training distance) against its networks alone and SW.
2. **Hot MD.** 64 atoms, Langevin at 3,000 K (liquid Si; SW melts near 1,700 K)
   with 0.5 fs steps, then NVE: the smallest distance ever seen, the potential
   energy and the energy drift, for the shipped potential, its networks alone and SW.
   Physical means: no pair closer than SW lets it come, finite energies, a small drift.

Needs matscipy for the SW reference (``pip install ".[test]"``); the plot needs matplotlib.
"""

import argparse
import os
import time
import warnings

import numpy as np
from ase import units
from ase.build import bulk
from ase.md.langevin import Langevin
from ase.md.verlet import VelocityVerlet

from ase_nnp import ExtrapolationWarning, NNPCalculator, Potential, load
from ase_nnp.training.reference import stillinger_weber_si

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def collapse_atoms(d):
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    a, b = atoms.positions[0].copy(), atoms.positions[1].copy()
    atoms.positions[1] = a + d * (b - a) / np.linalg.norm(b - a)
    return atoms


def smallest_distance(atoms):
    from ase.neighborlist import neighbor_list
    d = neighbor_list("d", atoms, 3.0)
    return d.min() if len(d) else np.inf


def hot_md(calc, temperature, steps, seed):
    """(min distance, mean potential energy per atom, NVE drift per atom, status)."""
    atoms = bulk("Si", "diamond", a=5.431, cubic=True) * (2, 2, 2)
    atoms.calc = calc
    rng = np.random.default_rng(seed)
    m = atoms.get_masses()[:, None]
    p = rng.normal(0.0, 1.0, (len(atoms), 3)) * np.sqrt(m * units.kB * temperature)
    atoms.set_momenta(p - m * p.sum(0) / m.sum())
    dmin, epot = [np.inf], []

    def watch():
        dmin[0] = min(dmin[0], smallest_distance(atoms))
        epot.append(atoms.get_potential_energy() / len(atoms))
    dyn = Langevin(atoms, 0.5 * units.fs, temperature_K=temperature, friction=0.02,
                   fixcm=False, rng=rng)
    dyn.attach(watch, interval=5)
    try:
        dyn.run(steps)
        nve = VelocityVerlet(atoms, 0.5 * units.fs)
        nve.attach(watch, interval=5)
        e0 = atoms.get_total_energy()
        nve.run(steps // 3)
        drift = (atoms.get_total_energy() - e0) / len(atoms)
        status = "ok" if np.isfinite(drift) else "diverged"
    except Exception as err:          # a collapse ends in overlapping atoms
        drift, status = np.nan, f"stopped: {type(err).__name__}"
    return dmin[0], float(np.mean(epot)) if epot else np.nan, drift, status


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "si.nnp"))
    ap.add_argument("--steps", type=int, default=3000, help="Langevin steps of 0.5 fs")
    ap.add_argument("--temperature", type=float, default=3000.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plot", metavar="PNG", help="draw the collapse curve (needs matplotlib)")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ExtrapolationWarning)    # extrapolating on purpose here
    pot = load(args.model)
    bare = Potential(pot.elements, pot.descriptor, networks=pot.networks, scalings=pot.scalings,
                     energy_offsets=pot.energy_offsets, min_distances=pot.min_distances)
    rep = pot.repulsion
    print(f"{args.model}: ZBL from {rep.inner[0, 0]:.3f} Å, off at {rep.outer[0, 0]:.3f} Å "
          f"(smallest Si-Si distance in training {pot.min_distances[0, 0]:.3f} Å)")
    calcs = {"NNP + ZBL": NNPCalculator(pot), "networks alone": NNPCalculator(bare),
             "SW": stillinger_weber_si()}

    print("\n1. one atom pushed onto its neighbour in diamond Si: E(d) - E(2.35 Å) in eV, "
          "and the force on it along the bond (eV/Å, > 0 pushes it back)")
    ds = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 1.9, 2.0, 2.2, 2.35])
    curves = {}
    for name, calc in calcs.items():
        e, f = [], []
        for d in ds:
            atoms = collapse_atoms(d)
            atoms.calc = calc
            e.append(atoms.get_potential_energy())
            u = atoms.positions[1] - atoms.positions[0]
            f.append(atoms.get_forces()[1] @ u / np.linalg.norm(u))
        curves[name] = (np.array(e) - e[-1], np.array(f))
    print(f"{'d (Å)':>6s}" + "".join(f"{n:>26s}" for n in calcs))
    for k, d in enumerate(ds):
        print(f"{d:6.2f}" + "".join(f"{curves[n][0][k]:15.3f} {curves[n][1][k]:+10.2f}"
                                    for n in calcs))

    print(f"\n2. 64 atoms, Langevin at {args.temperature:.0f} K for {args.steps} steps of 0.5 fs, "
          f"then {args.steps // 3} NVE steps")
    print(f"{'':16s} {'min distance (Å)':>17s} {'<E_pot> (eV/atom)':>18s} "
          f"{'NVE drift (meV/atom)':>21s}  {'s':>5s}  status")
    for name, calc in calcs.items():
        t = time.perf_counter()
        dmin, epot, drift, status = hot_md(calc, args.temperature, args.steps, args.seed)
        print(f"{name:16s} {dmin:17.3f} {epot:18.4f} {1000 * drift:21.3f}  "
              f"{time.perf_counter() - t:5.0f}  {status}")

    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5.5, 4))
        for name, (e, _) in curves.items():
            ax.plot(ds, e, "o-", ms=3, label=name)
        ax.axvline(pot.min_distances[0, 0], color="k", lw=0.6, ls=":")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0.0)
        ax.set_xlabel("Si-Si distance d (Å)")
        ax.set_ylabel("E(d) - E(2.35 Å) (eV)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"\nplot written to {args.plot}")


if __name__ == "__main__":
    main()
