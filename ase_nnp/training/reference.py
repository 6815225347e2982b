"""Reference data: calculators to label structures with (extra dependencies, imported
on use), a recorder that freezes their results, and Langevin MD sampling."""

import numpy as np
from ase import Atoms, units
from ase.calculators.singlepoint import SinglePointCalculator
from ase.md.langevin import Langevin

from ..exceptions import NNPError


def stillinger_weber_si():
    """matscipy's Stillinger–Weber calculator with the original Si parameters
    (Stillinger & Weber, PRB 31, 5262 (1985)); energies, forces, stress and
    per-atom energies. Needs ``pip install matscipy`` (in the test extra)."""
    try:
        from matscipy.calculators.manybody import Manybody
        from matscipy.calculators.manybody.explicit_forms import StillingerWeber
        from matscipy.calculators.manybody.explicit_forms.stillinger_weber import (
            Stillinger_Weber_PRB_31_5262_Si)
    except ImportError:
        raise ImportError("the Stillinger-Weber reference needs matscipy: pip install matscipy "
                          "(or pip install 'ase-nnp[test]')") from None
    return Manybody(**StillingerWeber(Stillinger_Weber_PRB_31_5262_Si))


def calculator_from_spec(spec, role="reference"):
    """An ASE calculator from a calculator (returned as is), ``"emt"``, ``"sw"``
    (:func:`stillinger_weber_si`) or ``"module:function"`` / ``"python:module:function"``
    (a function of no arguments that returns an ASE calculator). ``role`` names the
    calculator in the error message."""
    if not isinstance(spec, str):
        return spec
    if spec == "emt":
        from ase.calculators.emt import EMT
        return EMT()
    if spec == "sw":
        return stillinger_weber_si()
    if ":" in spec:
        return import_function(spec, role)()
    raise NNPError(f"unknown {role} {spec!r}: give an ASE calculator, 'emt', 'sw' or "
                   "'module:function' (a function that returns an ASE calculator)")


def import_function(spec, role):
    """The object named by ``"module:function"`` (or ``"python:module:function"``);
    ``role`` names it in the error message."""
    import importlib
    if spec.startswith("python:"):
        spec = spec[len("python:"):]
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as err:
        raise NNPError(f"{role} {spec!r}: {err}; give 'module:function' with the module "
                       "on the Python path") from None


class Recorder:
    """Labels structures with a reference calculator (energy, forces, per-atom
    energies, and the stress when periodic in all directions), freezes the
    results in a SinglePointCalculator, tags ``info["config_type"]`` and keeps them
    in ``images``."""

    def __init__(self, calc):
        self.calc = calc
        self.images = []

    def add(self, atoms, config_type):
        a = Atoms(atoms.numbers, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        a.calc = self.calc
        results = {"energy": a.get_potential_energy(), "forces": a.get_forces(),
                   "energies": a.get_potential_energies()}
        if a.pbc.all():
            results["stress"] = a.get_stress()
        a.calc = SinglePointCalculator(a, **results)
        a.info["config_type"] = config_type
        self.images.append(a)


def md_snapshots(rec, atoms, calc, temperature, n_snap, interval, rng, config_type,
                 equilibrate=300, timestep=1.0):
    """Langevin NVT; one snapshot every ``interval`` steps after equilibration."""
    atoms = atoms.copy()
    atoms.calc = calc
    masses = atoms.get_masses()[:, None]
    atoms.set_momenta(rng.normal(0.0, 1.0, (len(atoms), 3))
                      * np.sqrt(masses * units.kB * 2 * temperature))
    dyn = Langevin(atoms, timestep * units.fs, temperature_K=temperature, friction=0.02,
                   fixcm=False, rng=rng)
    dyn.run(equilibrate)
    for _ in range(n_snap):
        dyn.run(interval)
        rec.add(atoms, config_type)
