"""ASE glue: ``atoms.calc = NNPCalculator("si.nnp")``.

Properties: energy, free_energy (= energy: the potential has no electronic
entropy), forces, per-atom energies, and for systems periodic in all three
directions stress and per-atom stresses (Voigt order xx, yy, zz, yz, xz, xy,
ASE's sign; the per-atom stresses sum to the stress). The physics lives in
:class:`ase_nnp.Potential`; this module only translates.

One pass per configuration
--------------------------
Any request computes all of these in one pass and keeps them in ``results``: ASE's usual
``get_potential_energy(); get_forces(); get_stress()`` evaluates the potential once, and
the forces and stress are then read from the cache (the backward pass and two gathers
cost less than a second pass would). ``energy_only=True`` (Monte Carlo, ``ase.eos``:
energies of many configurations, no forces) makes a request for the energy alone
compute only the energies, with no backward pass; forces or stress asked for in that
mode are computed when asked, in a pass of their own that brings everything.

Parameters
----------
``extrapolation``, ``warn_every``, ``energy_only`` and ``coverage`` are ASE parameters:
``calc.parameters``, ``calc.todict()`` and ``calc.set(...)`` know them (a change keeps
the results, which do not depend on them, except that a new ``coverage`` drops
``forces_interval``, computed again when asked).

Ensembles
---------
Given an :class:`~ase_nnp.Ensemble` (an ensemble ``.nnp`` file, or a list of paths or
Potentials with one descriptor), the properties above are the members' means and the
results also hold ``energy_std`` (eV), ``energies_std`` (eV per atom), ``forces_std``
(eV/Å per atom: sqrt of the mean over members of |F_k − F̄|²), ``stress_std`` (Voigt,
eV/Å³, periodic only) and ``members_energy`` (K values): population standard
deviations, see :mod:`ase_nnp.committee`. A Potential and an Ensemble both return an
:class:`~ase_nnp.evaluation.Evaluation`, whose fields the results are read from
(:data:`RESULTS`); a single potential's has no spreads, and asking for one raises
ASE's ``PropertyNotImplementedError``.

Calibrated error bars
---------------------
A model with a :class:`~ase_nnp.uncertainty.Calibration` (``ase-nnp calibrate``,
:func:`ase_nnp.calibrate`) reports under the names above the *calibrated* σ of the
error: ``energy_std`` (eV, total), ``energies_std`` (eV per atom), ``forces_std`` (eV/Å
per atom, the norm over the components, √3 × the component σ), ``stress_std`` (Voigt,
eV/Å³) — for a single potential too, from its extrapolation grade. The raw committee
spreads stay beside them as ``energy_std_raw``, ``energies_std_raw``, ``forces_std_raw``,
``stress_std_raw``, and with conformal scores ``forces_interval`` (n, 3, 2: lower and
upper bound of each force component at the ``coverage`` parameter, default 0.9, with the
split-conformal guarantee in-distribution). ``calc.calibrated`` says which kind the
``*_std`` results are. An ensemble without a calibration reports its raw spreads as
``*_std`` (and ``*_raw``) as before, with an :class:`~ase_nnp.UncalibratedWarning` when
the calculator is made: spreads are not error bars (docs/uncertainty.md).

A model with an active set (:func:`ase_nnp.select_active_set`) also gives
``extrapolation_grade``: γ per atom (:mod:`ase_nnp.extrapolation_grade`; ≤ 1
interpolation, > 1 extrapolation; the largest over an ensemble's members) and
``extrapolation_grade_forces``: γ^F, the largest γ of each atom and its neighbours, the
grade of the force on it.

Extrapolation
-------------
Every call counts, per atom, the descriptor columns outside the training range
(:mod:`ase_nnp.extrapolation`; ``results["extrapolation"]``, and running totals in
``calc.extrapolation_log``). ``extrapolation="warn"`` (default) issues an
:class:`~ase_nnp.ExtrapolationWarning` naming the atoms and columns (on the first such
call, then when more atoms extrapolate than before or every ``warn_every`` calls);
``"raise"`` raises :class:`~ase_nnp.ExtrapolationError` instead; ``"ignore"`` only counts.

Threads
-------
ASE keeps the last ``atoms`` and ``results`` on the calculator, so two threads
sharing one calculator would read each other's results. Every property request
(``get_property``, hence ``atoms.get_forces()`` etc.) and ``calculate`` hold the
calculator's lock: one calculator may be shared by threads, which then take
turns. For parallel speed give each thread its own calculator; they may share
one :class:`~ase_nnp.Potential`, whose evaluation keeps no state between calls.

Copies
------
``pickle``, ``copy.deepcopy`` (hence ``multiprocessing`` and ASE's NEB with one
calculator per image) copy the potential, the parameters, the last results and the
extrapolation log; the lock is not copied, each copy makes its own.
"""

import os
import threading
import warnings

import numpy as np
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes
from ase.stress import full_3x3_to_voigt_6_stress

from .committee import Ensemble, load, partner_name
from .exceptions import ExtrapolationError, ExtrapolationWarning, UncalibratedWarning
from .extrapolation import ExtrapolationLog, describe
from .potential import Potential


#: ASE's result names and the :class:`~ase_nnp.evaluation.Evaluation` field each is read
#: from (a field that is None, such as a single potential's spreads, gives no result)
RESULTS = {"energy": "energy", "free_energy": "energy", "energies": "energies",
           "extrapolation": "outside", "forces": "forces", "stress": "stress",
           "stresses": "stresses", "energy_std": "energy_std", "energies_std": "energies_std",
           "forces_std": "forces_std", "stress_std": "stress_std",
           "members_energy": "members_energy", "extrapolation_grade": "extrapolation_grade",
           "extrapolation_grade_forces": "forces_grade"}
#: the spreads a calibration replaces, each kept beside the calibrated value as <name>_raw
SPREADS = ("energy_std", "energies_std", "forces_std", "stress_std")
#: results given as 3×3 matrices, stored in ASE's Voigt order
VOIGT = {"stress", "stresses", "stress_std", "stress_std_raw"}


class NNPCalculator(Calculator):
    """ASE calculator for an ase-nnp potential or ensemble: a ``.nnp`` path, a
    Potential, an Ensemble, or a list of paths / Potentials (an ensemble)."""

    implemented_properties = ["energy", "free_energy", "forces", "energies", "stress", "stresses",
                              "energy_std", "energies_std", "forces_std", "stress_std",
                              "members_energy", "extrapolation", "extrapolation_grade",
                              "extrapolation_grade_forces",
                              "energy_std_raw", "energies_std_raw", "forces_std_raw",
                              "stress_std_raw", "forces_interval"]

    default_parameters = {"extrapolation": "warn", "warn_every": 100, "energy_only": False,
                          "coverage": 0.9}

    def __init__(self, potential, extrapolation="warn", warn_every=100, energy_only=False,
                 coverage=0.9, **kwargs):
        if isinstance(potential, (str, os.PathLike)):
            potential = load(potential)
        elif isinstance(potential, (list, tuple)):
            potential = Ensemble(potential)
        if not isinstance(potential, (Potential, Ensemble)):
            raise TypeError("NNPCalculator needs a path to a .nnp file, an ase_nnp.Potential, "
                            "an ase_nnp.Ensemble or a list of paths or Potentials, got "
                            f"{type(potential).__name__}")
        self.potential = potential
        self.is_ensemble = isinstance(potential, Ensemble)
        self._lock = threading.RLock()
        self.extrapolation_log = ExtrapolationLog()     # set() gives it warn_every
        super().__init__(extrapolation=extrapolation, warn_every=warn_every,
                         energy_only=energy_only, coverage=coverage, **kwargs)
        if self.is_ensemble and not self.calibrated:
            warnings.warn("this ensemble has no calibration: energy_std, forces_std, ... are "
                          "the members' raw spreads, which rank errors but are not error bars "
                          "(they missed common errors several-fold in docs/uncertainty.md); "
                          "fit one with `ase-nnp calibrate MODEL DATA` on held-out labelled "
                          "structures", UncalibratedWarning, stacklevel=2)

    @property
    def calibrated(self):
        """Whether ``energy_std``, ``forces_std``, ... are calibrated error bars (the model
        has a calibration) rather than raw committee spreads."""
        return getattr(self.potential, "calibration", None) is not None

    def set(self, **kwargs):
        """ASE's ``set``, checking ``extrapolation`` ('warn', 'raise' or 'ignore'),
        ``warn_every`` (a positive integer) and ``energy_only`` (a bool); a new
        ``warn_every`` applies to the running extrapolation log. Returns the changed
        parameters."""
        unknown = set(kwargs) - set(self.default_parameters)
        if unknown:
            raise TypeError(f"NNPCalculator has no parameter(s) {sorted(unknown)}; its "
                            f"parameters are {sorted(self.default_parameters)}")
        if "extrapolation" in kwargs and kwargs["extrapolation"] not in ("warn", "raise",
                                                                         "ignore"):
            raise ValueError(f"extrapolation must be 'warn', 'raise' or 'ignore', got "
                             f"{kwargs['extrapolation']!r}")
        if "warn_every" in kwargs:
            every = kwargs["warn_every"]
            if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
                raise ValueError(f"warn_every must be a positive integer (calls), got {every!r}")
            kwargs["warn_every"] = int(every)
        if "energy_only" in kwargs and not isinstance(kwargs["energy_only"], (bool, np.bool_)):
            raise ValueError(f"energy_only must be True or False, got {kwargs['energy_only']!r}")
        if "coverage" in kwargs:
            c = kwargs["coverage"]
            if isinstance(c, bool) or not isinstance(c, (int, float, np.number)) \
                    or not 0.0 < c < 1.0:
                raise ValueError(f"coverage (of forces_interval) must be a number strictly "
                                 f"between 0 and 1, e.g. 0.9, got {c!r}")
            kwargs["coverage"] = float(c)
        changed = super().set(**kwargs)
        self.extrapolation_log.every = self.parameters["warn_every"]
        if "coverage" in changed:       # the one result that depends on a parameter
            self.results.pop("forces_interval", None)
        return changed

    @property
    def extrapolation(self):
        """'warn', 'raise' or 'ignore' (the ``extrapolation`` parameter)."""
        return self.parameters["extrapolation"]

    @extrapolation.setter
    def extrapolation(self, value):
        self.set(extrapolation=value)

    def __getstate__(self):
        """Everything but the lock, which cannot be pickled (``pickle``, ``copy.deepcopy``,
        ``multiprocessing``, ASE's NEB with its own calculator per image)."""
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        """The pickled state, with a new lock of its own."""
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def get_property(self, name, atoms=None, allow_calculation=True):
        with self._lock:
            return super().get_property(name, atoms, allow_calculation)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        with self._lock:
            self._calculate(atoms, properties, system_changes)

    def _calculate(self, atoms, properties, system_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        periodic = bool(np.all(atoms.pbc))
        if not periodic and {"stress", "stresses", "stress_std", "stress_std_raw"} & set(properties):
            raise PropertyNotImplementedError(
                f"stress needs periodic boundaries in all three directions (pbc={atoms.pbc.tolist()}); "
                "a slab or molecule has no well-defined volume")
        # one pass brings everything (module docstring); in energy_only mode a request
        # for energies alone runs no backward pass
        gradients = not self.parameters["energy_only"] or bool(
            {"forces", "stress", "stresses", "forces_std", "stress_std", "forces_std_raw",
             "stress_std_raw", "forces_interval"} & set(properties))
        res = self.potential.evaluate(atoms.positions, atoms.numbers, atoms.cell[:],
                                      atoms.pbc, forces=gradients, stress=gradients and periodic)
        values = {key: getattr(res, field) for key, field in RESULTS.items()}
        cal = res.calibrated
        if cal is not None:
            for key in SPREADS:
                values[key + "_raw"] = values[key]
                values[key] = getattr(cal, key)
            scores = self.potential.calibration.scores
            if cal.forces_component_std is not None and scores is not None:
                half = (self.potential.calibration.quantile(self.parameters["coverage"])
                        * cal.forces_component_std)[:, None]
                values["forces_interval"] = np.stack([res.forces - half, res.forces + half],
                                                     axis=2)
        elif self.is_ensemble:
            for key in SPREADS:
                values[key + "_raw"] = values[key]
        results = {key: (full_3x3_to_voigt_6_stress(value) if key in VOIGT else value)
                   for key, value in values.items() if value is not None}
        missing = set(properties) - set(results)
        if missing:     # only uncertainties can be missing here
            raise PropertyNotImplementedError(
                f"{', '.join(sorted(missing))} need an ensemble, or a potential with an "
                "active set (extrapolation_grade) and a calibration (the *_std results); "
                "forces_interval needs a calibration with conformal scores: give "
                "NNPCalculator an ensemble file, or run `ase-nnp calibrate`")
        if self.extrapolation_log.record(res.outside) and self.extrapolation != "ignore":
            message = describe(self.potential.members[0], atoms, res.outside, res.excess)
            partner = getattr(self.potential, "partner", None)
            if partner is not None:
                message += (f"; the mixed-in partner ({partner_name(partner)}, weight "
                            f"{self.potential.partner_weight:.3g}) can be far worse than the "
                            "networks outside its data (docs/training.md)")
            if self.extrapolation == "raise":
                raise ExtrapolationError(message)
            warnings.warn(message + self.extrapolation_log.suffix(), ExtrapolationWarning,
                          stacklevel=4)
        self.results = results


def single_point(potential, atoms, energies=False):
    """A copy of ``atoms`` whose calculator (ASE's SinglePointCalculator) holds the
    prediction of ``potential``: energy, forces, stress (Voigt, periodic cells only) and,
    with ``energies``, the per-atom energies — labels for training or for a file."""
    from ase.calculators.singlepoint import SinglePointCalculator
    a = atoms.copy()
    res = potential.evaluate(a.positions, a.numbers, a.cell[:], a.pbc)
    results = {"energy": res.energy, "forces": res.forces}
    if energies:
        results["energies"] = res.energies
    if res.stress is not None:
        results["stress"] = full_3x3_to_voigt_6_stress(res.stress)
    a.calc = SinglePointCalculator(a, **results)
    return a
