"""Relaxations with data/si.nnp: a vacancy (BFGS, fixed cell) and the cell itself (FrechetCellFilter).

    python examples/relax_si.py

1. A 64-atom cell with one atom removed: positions relaxed with BFGS; the
   vacancy formation energy E_v = E(N-1) - (N-1)/N E(N), against
   Stillinger–Weber when matscipy is installed.
2. A strained, rattled 8-atom cell: positions and cell relaxed together with
   ``FrechetCellFilter`` until forces < 1e-3 eV/Å and stress < 1e-4 eV/Å³;
   the final lattice constant.
"""

import os

import numpy as np
from ase.build import bulk
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS

from ase_nnp import NNPCalculator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def vacancy_energy(calc, a=5.431):
    perfect = bulk("Si", "diamond", a=a, cubic=True) * (2, 2, 2)
    perfect.calc = calc
    e_perfect = perfect.get_potential_energy()
    vac = perfect.copy()
    del vac[0]
    vac.rattle(0.02, seed=1)
    vac.calc = calc
    BFGS(vac, logfile=None).run(fmax=1e-3, steps=1000)
    n = len(perfect)
    return vac.get_potential_energy() - (n - 1) / n * e_perfect


def main():
    import sys
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "data", "si.nnp")
    nnp = NNPCalculator(model)
    calcs = {"NNP": nnp}
    try:
        from eos_si import stillinger_weber
        sw = stillinger_weber()
        if sw is not None:
            calcs["SW"] = sw
    except ImportError:
        pass
    for name, calc in calcs.items():
        print(f"{name}: relaxed vacancy formation energy {vacancy_energy(calc):.4f} eV")
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.set_cell(atoms.cell[:] @ np.array([[1.02, 0.01, 0], [0.01, 0.98, 0], [0, 0, 1.01]]),
                   scale_atoms=True)
    atoms.rattle(0.03, seed=2)
    atoms.calc = nnp
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    opt.run(fmax=1e-3, steps=1000)
    lengths = atoms.cell.cellpar()
    print(f"NNP cell relaxation: {opt.nsteps} BFGS steps; cell {np.round(lengths, 5).tolist()}; "
          f"max |F| {np.abs(atoms.get_forces()).max():.1e} eV/Å, max |σ| "
          f"{np.abs(atoms.get_stress()).max():.1e} eV/Å³")


if __name__ == "__main__":
    main()
