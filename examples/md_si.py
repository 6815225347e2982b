"""Molecular dynamics of crystalline Si with data/si.nnp: Langevin to temperature, then NVE.

    python examples/md_si.py [--size 3] [--temperature 1000] [--nvt-steps 500] [--nve-steps 2000]

Prints temperature and total energy along the NVE part and the energy drift
per atom (the integrator's, with a 1 fs step; the forces are the exact
gradient of the energy, so there is no drift from inconsistent forces).
"""

import argparse
import os
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.md.langevin import Langevin
from ase.md.verlet import VelocityVerlet

from ase_nnp import NNPCalculator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "si.nnp"))
    ap.add_argument("--size", type=int, default=3, help="cubic cells per side (8 atoms each)")
    ap.add_argument("--temperature", type=float, default=1000.0)
    ap.add_argument("--nvt-steps", type=int, default=500)
    ap.add_argument("--nve-steps", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    atoms = bulk("Si", "diamond", a=5.431, cubic=True) * ((args.size,) * 3)
    atoms.calc = NNPCalculator(args.model)
    rng = np.random.default_rng(args.seed)
    m = atoms.get_masses()[:, None]
    p = rng.normal(0.0, 1.0, (len(atoms), 3)) * np.sqrt(m * units.kB * args.temperature)
    atoms.set_momenta(p - m * p.sum(0) / m.sum())
    print(f"{len(atoms)} atoms; Langevin at {args.temperature:.0f} K for {args.nvt_steps} fs")
    Langevin(atoms, 1.0 * units.fs, temperature_K=args.temperature, friction=0.02,
             fixcm=False, rng=rng).run(args.nvt_steps)
    dyn = VelocityVerlet(atoms, 1.0 * units.fs)
    e0 = atoms.get_total_energy()
    n = len(atoms)

    def report():
        e = atoms.get_total_energy()
        print(f"  t = {dyn.get_time() / units.fs:7.0f} fs   T = {atoms.get_temperature():7.1f} K   "
              f"E_tot = {e / n:.6f} eV/atom   drift = {1000 * (e - e0) / n:+.4f} meV/atom")
    print("NVE, velocity Verlet, 1 fs:")
    dyn.attach(report, interval=max(1, args.nve_steps // 10))
    t = time.perf_counter()
    dyn.run(args.nve_steps)
    dt = time.perf_counter() - t
    print(f"{args.nve_steps} NVE steps in {dt:.1f} s: {1e6 * dt / args.nve_steps / n:.1f} µs per "
          "atom and step (ASE overhead included)")


if __name__ == "__main__":
    main()
