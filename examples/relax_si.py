"""Relaxations with data/si.nnp: a vacancy (BFGS, fixed cell) and the cell itself (FrechetCellFilter).

    python examples/relax_si.py [model.nnp] [--smoke]

1. A 64-atom cell with one atom removed: the vacancy formation energy
   E_v = E(N-1) - (N-1)/N E(N), unrelaxed and with positions relaxed by BFGS,
   against Stillinger–Weber when matscipy is installed.
2. A strained, rattled 8-atom cell: positions and cell relaxed together with
   ``FrechetCellFilter`` until forces < 1e-3 eV/Å and stress < 1e-4 eV/Å³;
   the final lattice constant.

``--smoke`` stops both relaxations at fmax = 0.05 (BFGS's force criterion; for the cell,
the filter's generalised forces): seconds, for the test that the script runs end to end;
the numbers are then not converged.
"""

import argparse
import os

import numpy as np
from ase.build import bulk
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS

from ase_nnp import NNPCalculator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def formation_energy(calc, vac, a=5.431):
    """E_v = E(N-1) - (N-1)/N E(N) with the perfect 64-atom cell at lattice constant a."""
    perfect = bulk("Si", "diamond", a=a, cubic=True) * (2, 2, 2)
    perfect.calc = calc
    vac.calc = calc
    n = len(perfect)
    return vac.get_potential_energy() - (n - 1) / n * perfect.get_potential_energy()


def vacancy(calcs, fmax=1e-4):
    """Unrelaxed and relaxed vacancy formation energies. The relaxation starts
    with the network (lightly rattled start); SW then relaxes from the network's
    structure, so both land in the same basin: SW has a symmetric local minimum
    (E_v = E_coh = 4.337 eV) and a lower, distorted one (2.84 eV), and which one
    BFGS finds depends on the start."""
    start = bulk("Si", "diamond", a=5.431, cubic=True) * (2, 2, 2)
    del start[0]
    out = {name: {"unrelaxed": formation_energy(c, start.copy())} for name, c in calcs.items()}
    vac = start.copy()
    vac.rattle(0.02, seed=1)
    for name, calc in calcs.items():
        vac.calc = calc
        BFGS(vac, logfile=None).run(fmax=fmax, steps=2000)
        out[name]["relaxed"] = formation_energy(calc, vac)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, "data", "si.nnp"))
    ap.add_argument("--smoke", action="store_true",
                    help="loose tolerances (seconds): a test that the script runs")
    args = ap.parse_args()
    fmax_vacancy, fmax_cell = (0.05, 0.05) if args.smoke else (1e-4, 1e-3)
    nnp = NNPCalculator(args.model)
    calcs = {"NNP": nnp}
    try:
        from eos_si import stillinger_weber
        sw = stillinger_weber()
        if sw is not None:
            calcs["SW"] = sw
    except ImportError:
        pass
    for name, e in vacancy(calcs, fmax_vacancy).items():
        print(f"{name}: vacancy formation energy {e['unrelaxed']:.4f} eV unrelaxed, "
              f"{e['relaxed']:.4f} eV relaxed")
    atoms = bulk("Si", "diamond", a=5.431, cubic=True)
    atoms.set_cell(atoms.cell[:] @ np.array([[1.02, 0.01, 0], [0.01, 0.98, 0], [0, 0, 1.01]]),
                   scale_atoms=True)
    atoms.rattle(0.03, seed=2)
    atoms.calc = nnp
    opt = BFGS(FrechetCellFilter(atoms), logfile=None)
    opt.run(fmax=fmax_cell, steps=1000)
    lengths = atoms.cell.cellpar()
    print(f"NNP cell relaxation: {opt.nsteps} BFGS steps; cell {np.round(lengths, 5).tolist()}; "
          f"max |F| {np.abs(atoms.get_forces()).max():.1e} eV/Å, max |σ| "
          f"{np.abs(atoms.get_stress()).max():.1e} eV/Å³")


if __name__ == "__main__":
    main()
