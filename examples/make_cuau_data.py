"""Reference data for the tutorial (docs/tutorial.md): Cu–Au cells labelled by ASE's EMT.

    python examples/make_cuau_data.py            # cuau_train.extxyz, cuau_test.extxyz

32-atom fcc cells with a random 25–50 % of Au, at 0.97–1.03 of the Cu lattice constant,
snapshots of Langevin MD at 300–900 K (EMT: ASE's effective-medium calculator, a stand-in
for your DFT). Training and test sets come from different random streams. About a minute.
"""

import argparse

import numpy as np
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write
from ase.md.langevin import Langevin
from ase.units import fs

try:                                    # ASE >= 3.29 names it thermalize_momenta
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta


def make(n_runs, snapshots, seed):
    rng = np.random.default_rng(seed)
    out = []
    for run in range(n_runs):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 2))
        symbols = np.array(atoms.get_chemical_symbols())
        au = rng.choice(len(atoms), int(len(atoms) * rng.uniform(0.25, 0.5)), replace=False)
        symbols[au] = "Au"
        atoms.set_chemical_symbols(symbols)
        atoms.set_cell(atoms.cell * rng.uniform(0.97, 1.03), scale_atoms=True)
        atoms.calc = EMT()
        T = rng.uniform(300, 900)
        thermalize_momenta(atoms, temperature_K=T, rng=rng)
        md = Langevin(atoms, 2 * fs, temperature_K=T, friction=0.02, rng=rng, fixcm=False)
        md.run(100)
        for _ in range(snapshots):
            md.run(20)
            snap = atoms.copy()
            snap.calc = SinglePointCalculator(snap, energy=atoms.get_potential_energy(),
                                              forces=atoms.get_forces(),
                                              stress=atoms.get_stress())
            out.append(snap)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=12)
    args = ap.parse_args()
    write("cuau_train.extxyz", make(args.runs, 10, seed=1))
    write("cuau_test.extxyz", make(max(2, args.runs // 4), 5, seed=2))
    print("wrote cuau_train.extxyz and cuau_test.extxyz")


if __name__ == "__main__":
    main()
