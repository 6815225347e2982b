"""Quickstart: the engine end to end on the Si setup of Yoo et al.
(Phys. Rev. Materials 3, 093802 (2019)).

This builds the 26-function, 26-30-30-1 tanh potential with *random*
weights (for silicon itself use the trained ``data/si.nnp``, see
``examples/eos_si.py``): the numbers are those of an untrained network. What it
shows is the machinery: a ``.nnp`` file written and read, an ASE calculator with
energy, forces, stress and per-atom energies, forces and stress checked
against finite differences, a short NVE run, and the speed per atom.

    python examples/quickstart.py [--cells N]
"""

import argparse
import os
import tempfile
import time

import numpy as np
from ase import units
from ase.build import bulk
from ase.md.velocitydistribution import Stationary
from ase.md.verlet import VelocityVerlet

try:                                    # ASE >= 3.29 names it thermalize_momenta
    from ase.md.velocitydistribution import thermalize_momenta
except ImportError:
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta

from ase_nnp import NNPCalculator, Potential
from ase_nnp.descriptors.symmetry_functions.presets import reference_si_descriptor
from ase_nnp.scaling import Scaling


def build_potential():
    sf = reference_si_descriptor(cutoff=6.5)
    pot = Potential(["Si"], sf, hidden_layers=(30, 30), activation="tanh", seed=0,
                    metadata={"note": "untrained: random weights, for demonstration"})
    # scale inputs on a rattled crystal so the random network responds to them
    probe = bulk("Si", "diamond", a=5.43, cubic=True).repeat(2)
    probe.rattle(0.1, seed=1)
    probe.calc = NNPCalculator(pot)
    G = sf.compute(probe)
    pot.scalings["Si"] = Scaling.from_data(G, "scale_center", -1.0, 1.0)
    pot.energy_offsets["Si"] = -4.3
    return pot


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=3, help="cubic 8-atom cells per side (default 3)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "si_untrained.nnp")
        build_potential().save(path)
        calc = NNPCalculator(path)
        print(f"model file written and read back: {path}  ({os.path.getsize(path)} bytes)")
        print(calc.potential)

    atoms = bulk("Si", "diamond", a=5.43, cubic=True).repeat(args.cells)
    atoms.rattle(0.05, seed=2)
    atoms.calc = calc
    t = time.perf_counter()
    e = atoms.get_potential_energy()
    F = atoms.get_forces()
    s = atoms.get_stress()
    dt = time.perf_counter() - t
    print(f"\n{len(atoms)} Si atoms: E = {e:.6f} eV, max|F| = {np.abs(F).max():.4f} eV/Å, "
          f"stress (GPa) = {np.round(s / units.GPa, 3)}")
    print(f"first call (includes Numba load/compile): {dt:.2f} s")

    # forces and stress against central finite differences
    h = 1e-5
    a, d = 0, 0
    p = atoms.positions.copy()
    p[a, d] += h
    atoms.positions = p
    ep = atoms.get_potential_energy()
    p[a, d] -= 2 * h
    atoms.positions = p
    em = atoms.get_potential_energy()
    p[a, d] += h
    atoms.positions = p
    print(f"F[0,x] analytic {F[a, d]:+.9f}  finite difference {-(ep - em) / (2 * h):+.9f}")
    cell0 = atoms.get_cell()
    h = 1e-6   # strain step: the untrained network is steep, keep truncation error small
    for sign in (1, -1):
        atoms.set_cell(cell0 * (1 + sign * h), scale_atoms=True)
        if sign == 1:
            ep = atoms.get_potential_energy()
        else:
            em = atoms.get_potential_energy()
    atoms.set_cell(cell0, scale_atoms=True)
    p_fd = -(ep - em) / (2 * h) / (3 * atoms.get_volume())
    print(f"pressure analytic {-s[:3].mean():+.9f} eV/Å³  finite difference {p_fd:+.9f}")

    # timing and a short NVE run
    t = time.perf_counter()
    for _ in range(5):
        atoms.calc.results.clear()
        atoms.calc.calculate(atoms, ["energy", "forces", "stress"])
    per_atom = (time.perf_counter() - t) / 5 / len(atoms) * 1e6
    print(f"energy + forces + stress: {per_atom:.1f} µs/atom")
    thermalize_momenta(atoms, temperature_K=300, rng=np.random.default_rng(0))
    Stationary(atoms)
    dyn = VelocityVerlet(atoms, 1.0 * units.fs)
    e0 = atoms.get_total_energy()
    dyn.run(50)
    print(f"50 NVE steps of 1 fs: total energy drift {(atoms.get_total_energy() - e0) / len(atoms) * 1e3:+.4f} meV/atom")


if __name__ == "__main__":
    main()
