"""Equation of state of diamond Si: data/si.nnp against the Stillinger–Weber potential it learned.

    python examples/eos_si.py [--model data/si.nnp] [--plot eos_si.png]

Energies of the 8-atom cubic cell at 13 volumes from 0.92 to 1.08 V0 with both
calculators, Birch–Murnaghan fits with ``ase.eos``, the table of V0, a0, E0, B
and their deviations, and (with matplotlib installed) a plot of both curves.
Stillinger–Weber comes from matscipy (``pip install matscipy``; it is in the
test extra); without it only the NNP is shown.
"""

import argparse
import os

import numpy as np
from ase.build import bulk
from ase.eos import EquationOfState
from ase.units import GPa
from scipy.optimize import minimize_scalar

from ase_nnp import NNPCalculator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def pyplot():
    """matplotlib's pyplot on the Agg backend, or None (with a note) without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    return plt


def stillinger_weber():
    """matscipy's Stillinger–Weber Si, or None without matscipy."""
    from ase_nnp.training.reference import stillinger_weber_si
    try:
        return stillinger_weber_si()
    except ImportError:
        return None


def equilibrium_a(calc, lo=5.38, hi=5.48):
    """Lattice constant minimising the energy of the 8-atom cubic cell."""
    def energy(a):
        atoms = bulk("Si", "diamond", a=a, cubic=True)
        atoms.calc = calc
        return atoms.get_potential_energy()
    return minimize_scalar(energy, bounds=(lo, hi), method="bounded",
                           options={"xatol": 1e-6}).x


def eos_curve(calc, a_ref=5.431, factors=np.linspace(0.92, 1.08, 13)):
    volumes, energies = [], []
    for f in factors:
        atoms = bulk("Si", "diamond", a=a_ref * f ** (1 / 3), cubic=True)
        atoms.calc = calc
        volumes.append(atoms.get_volume() / len(atoms))
        energies.append(atoms.get_potential_energy() / len(atoms))
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    v0, e0, B = eos.fit()
    return np.array(volumes), np.array(energies), eos, {"V0": v0, "a0": (8 * v0) ** (1 / 3),
                                                         "E0": e0, "B": B / GPa}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=os.path.join(ROOT, "data", "si.nnp"))
    ap.add_argument("--plot", default="eos_si.png", help="output image ('' for none)")
    args = ap.parse_args()
    curves = {"NNP": eos_curve(NNPCalculator(args.model, energy_only=True))}   # energies only
    sw = stillinger_weber()
    if sw is not None:
        curves["SW"] = eos_curve(sw)
    print(f"{'':5s} {'V0 (Å³/atom)':>13s} {'a0 (Å)':>9s} {'E0 (eV/atom)':>13s} {'B (GPa)':>9s}")
    for name, (_, _, _, fit) in curves.items():
        print(f"{name:5s} {fit['V0']:13.4f} {fit['a0']:9.5f} {fit['E0']:13.5f} {fit['B']:9.2f}")
    if "SW" in curves:
        nn, ref = curves["NNP"][3], curves["SW"][3]
        print("NNP - SW: " + ", ".join(f"{k} {100 * (nn[k] - ref[k]) / abs(ref[k]):+.3f} %"
                                       for k in ("a0", "B")) +
              f", E0 {1000 * (nn['E0'] - ref['E0']):+.2f} meV/atom")
        err = 1000 * np.abs(curves["NNP"][1] - curves["SW"][1]).max()
        print(f"largest energy difference along the curve: {err:.2f} meV/atom")
    if args.plot:
        plt = pyplot()
        if plt is None:
            return
        fig, ax = plt.subplots(figsize=(5, 4))
        for (name, (v, e, eos, fit)), style in zip(curves.items(), ("o", "s")):
            vv = np.linspace(v.min(), v.max(), 200)
            ax.plot(v, e, style, mfc="none", label=f"{name}: B = {fit['B']:.1f} GPa")
            ax.plot(vv, eos.func(vv, *eos.eos_parameters), "-", lw=1)
        ax.set_xlabel("volume (Å³/atom)")
        ax.set_ylabel("energy (eV/atom)")
        ax.set_title("diamond Si, Birch–Murnaghan fits")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
