"""Watch an ASE dynamics for steps where the potential cannot be trusted.

    from ase_nnp import NNPCalculator, UncertaintyMonitor
    atoms.calc = NNPCalculator("ensemble.nnp")
    md = Langevin(atoms, 1 * fs, temperature_K=1500, friction=0.01)
    monitor = UncertaintyMonitor(atoms, "md_uncertainty.csv", forces_std_max=0.3,
                                 save="uncertain.extxyz")
    md.attach(monitor)        # every step
    md.run(10000)

Each call logs one CSV row: step, the largest per-atom force uncertainty max_a σ_F,a
(eV/Å), the energy uncertainty per atom σ_E / N (eV/atom), the number of atoms with
descriptor values outside the training range, the largest extrapolation grade max_a γ_a
(a model with an active set), whether the two σ are calibrated (1) or raw committee
spreads (0), and the raw largest force spread beside them.

σ is what the calculator reports as ``forces_std`` and ``energy_std``: for a model with
a calibration (``ase-nnp calibrate``) the calibrated expected error, so the thresholds
are error bars in physical units (eV/Å, eV/atom); for an ensemble without one the raw
spread of the members, which underestimated the error several-fold out of domain in
docs/uncertainty.md (the ``calibrated`` column says 0). Empty cells where the
calculator has no such value (a single potential without a calibration).

When a row passes a threshold (``forces_std_max`` in eV/Å, ``energy_std_max`` in
eV/atom, ``extrapolating_max`` atoms, ``extrapolation_grade_max``), the structure is
appended to ``save`` (an ase.io file, with the step and the reason in ``atoms.info``)
and, with ``stop=True``, the run ends with
:class:`~ase_nnp.exceptions.UncertaintyExceeded` carrying the structure: the hook of
on-the-fly sampling.
"""

import os

import numpy as np

from .exceptions import UncertaintyExceeded

COLUMNS = ("step", "max_forces_std_eV_A", "energy_std_eV_atom", "extrapolating_atoms",
           "max_extrapolation_grade", "calibrated", "max_forces_std_raw_eV_A")


class UncertaintyMonitor:
    """See the module docstring. ``picked`` lists the (step, reason) of every structure
    that passed a threshold."""

    def __init__(self, atoms, logfile=None, forces_std_max=None, energy_std_max=None,
                 extrapolating_max=None, save=None, stop=False, extrapolation_grade_max=None):
        self.atoms = atoms
        self.logfile = None if logfile is None else os.fspath(logfile)
        self.limits = {"max_forces_std_eV_A": forces_std_max,
                       "energy_std_eV_atom": energy_std_max,
                       "extrapolating_atoms": extrapolating_max,
                       "max_extrapolation_grade": extrapolation_grade_max}
        for name, limit in self.limits.items():
            if limit is not None and (isinstance(limit, bool) or not isinstance(
                    limit, (int, float, np.number)) or not limit > 0):
                raise ValueError(f"the threshold on {name} must be a positive number, got "
                                 f"{limit!r}")
        self.save = save
        self.stop = stop
        self.step = 0
        self.picked = []
        if self.logfile is not None:
            with open(self.logfile, "w") as fh:
                fh.write(",".join(COLUMNS) + "\n")

    def row(self):
        """The current step's values (None where the calculator has no such value)."""
        calc = self.atoms.calc
        results = calc.results
        if "energy" not in results:
            self.atoms.get_potential_energy()
            results = calc.results
        f_std = results.get("forces_std")
        e_std = results.get("energy_std")
        f_raw = results.get("forces_std_raw")
        outside = results.get("extrapolation")
        grade = results.get("extrapolation_grade")
        calibrated = getattr(calc, "calibrated", None)
        return {"step": self.step,
                "max_forces_std_eV_A": None if f_std is None else float(np.max(f_std)),
                "energy_std_eV_atom": None if e_std is None else e_std / len(self.atoms),
                "extrapolating_atoms": None if outside is None
                else int(np.count_nonzero(outside)),
                "max_extrapolation_grade": None if grade is None else float(np.max(grade)),
                "calibrated": None if calibrated is None or f_std is None else int(calibrated),
                "max_forces_std_raw_eV_A": None if f_raw is None else float(np.max(f_raw))}

    def __call__(self):
        row = self.row()
        if self.logfile is not None:
            with open(self.logfile, "a") as fh:
                fh.write(",".join("" if row[c] is None else f"{row[c]:.6g}" for c in COLUMNS)
                         + "\n")
        passed = [f"{k} = {row[k]:.4g} > {limit:g}" for k, limit in self.limits.items()
                  if limit is not None and row[k] is not None and row[k] > limit]
        self.step += 1
        if not passed:
            return
        reason = "; ".join(passed)
        self.picked.append((row["step"], reason))
        snapshot = self.atoms.copy()
        snapshot.info.update(step=row["step"], reason=reason)
        if self.save is not None:
            from ase.io import write
            write(self.save, snapshot, append=True)
        if self.stop:
            raise UncertaintyExceeded(f"step {row['step']}: {reason}", snapshot, row["step"])
