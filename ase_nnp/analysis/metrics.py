r"""Prediction errors against reference data: RMSE, MAE, largest error, parity data.

The one implementation behind the trainer's reports, ``ase-nnp evaluate`` and
``data/si_physics.py`` (pure numpy). For the residuals r_k = pred_k - ref_k of
one property, pooled over every structure that has that reference,

    RMSE = sqrt(Σ_k r_k² / n),   MAE = Σ_k |r_k| / n,   max = max_k |r_k| ,

with n the number of values: structures for the energy per atom, components
for forces and stress, atoms for per-atom energies. The values are in the
units reported everywhere (:data:`UNITS`): energy per atom in meV/atom, force
components in eV/Å, stress components in GPa, per-atom energies in meV; the
inputs are in ASE's units (eV, eV/Å, eV/Å³).

With ``groups`` (one label per structure, e.g. its ``config_type``) the same
statistics are also given per group, over the values of that group's structures.

Two yardsticks come with every report (:attr:`ErrorReport.trivial`), the errors of
predictions that know nothing: for the energy the mean reference energy per atom,
RMSE_0 = sqrt(Σ_f (e_f - ē)² / n_f) with e_f = E_f / N_f; for the forces zero,
RMSE_0 = sqrt(Σ_k F_k² / n). A model whose RMSE exceeds them is worse than knowing
nothing — the sign of a unit mix-up (a potential in Bohr and Hartree read as Å and eV)
or of the wrong model, not of a poor fit. :func:`compare_references` also counts the
atoms whose descriptor values leave the model's training range
(:attr:`ErrorReport.extrapolation`, :mod:`ase_nnp.extrapolation`).
"""

from dataclasses import dataclass, field

import numpy as np

from ..engine import training_range

#: elementary charge (C), CODATA 2014 as ase.units uses it by default
_E = 1.6021766208e-19
#: 1 GPa in eV/Å³ (ase.units.GPa)
GPA = 1e9 * (1.0 / _E) / 1e10 ** 3

#: property -> (unit of the statistics, factor from ASE units to that unit)
UNITS = {"energy": ("meV/atom", 1000.0), "forces": ("eV/Å", 1.0), "stress": ("GPa", 1.0 / GPA),
         "atomic_energies": ("meV", 1000.0)}
#: units of the parity data (pred and ref as stored in :attr:`ErrorReport.parity`)
PARITY_UNITS = {"energy": "eV/atom", "forces": "eV/Å", "stress": "GPa", "atomic_energies": "eV"}


@dataclass(frozen=True)
class Stats:
    """RMSE, MAE and largest absolute error of one property (in :data:`UNITS`), over
    ``n_values`` values from ``n_structures`` structures."""
    rmse: float
    mae: float
    max_abs: float
    n_values: int
    n_structures: int

    @classmethod
    def of(cls, residuals, frames):
        """From residuals (already in the reported unit) and the structure of each."""
        r = np.ravel(residuals)
        a = np.abs(r)
        return cls(float(np.sqrt(np.mean(r * r))), float(np.mean(a)), float(np.max(a)), len(r),
                   len(np.unique(frames)))


@dataclass
class ErrorReport:
    """``stats``: property -> :class:`Stats` (only properties with a reference, in the
    order energy, forces, stress, atomic_energies); ``groups``: label -> property ->
    Stats (empty without groups); ``parity``: property -> (reference, prediction),
    flat arrays in :data:`PARITY_UNITS`."""
    stats: dict
    groups: dict = field(default_factory=dict)
    parity: dict = field(default_factory=dict)
    #: property -> RMSE (in :data:`UNITS`) of the prediction that knows nothing (module
    #: docstring): "energy" with two or more structures, "forces"
    trivial: dict = field(default_factory=dict)
    #: :class:`Extrapolation` counts (set by :func:`compare_references`), or None
    extrapolation: "Extrapolation" = None

    def rmse(self):
        """{property: RMSE}."""
        return {k: s.rmse for k, s in self.stats.items()}

    def worse_than_trivial(self):
        """[(property, RMSE, trivial RMSE)] of the properties whose RMSE exceeds that of
        the prediction that knows nothing."""
        return [(k, self.stats[k].rmse, t) for k, t in self.trivial.items()
                if k in self.stats and self.stats[k].rmse > t]


@dataclass(frozen=True)
class Extrapolation:
    """Atoms (and structures holding them) whose descriptor values lie outside the
    model's training range in at least one column (n2p2's count); ``checked`` is False
    when the model stores no training range (e.g. imported SNAP or an untrained model),
    so nothing could be counted."""
    atoms: int
    n_atoms: int
    structures: int
    n_structures: int
    checked: bool


def compare(n_atoms, energy, energy_ref, forces=None, forces_ref=None, force_frame=None,
            stress=None, stress_ref=None, stress_frame=None, energies=None, energies_ref=None,
            energies_frame=None, groups=None):
    """An :class:`ErrorReport` of predictions against references.

    ``n_atoms``, ``energy``, ``energy_ref``: per structure (eV). ``forces``,
    ``forces_ref``: (m, 3) of the atoms that have reference forces, ``force_frame``
    (m,) the structure of each. ``stress``, ``stress_ref``: (s, 3, 3) or (s, 6) of
    the structures with a reference stress, ``stress_frame`` (s,) which ones.
    ``energies``, ``energies_ref``, ``energies_frame``: per-atom energies likewise.
    ``groups``: a label per structure, or None.
    """
    n_atoms = np.asarray(n_atoms, dtype=np.float64)
    per_atom = (np.asarray(energy, dtype=np.float64) / n_atoms,
                np.asarray(energy_ref, dtype=np.float64) / n_atoms)
    values = {"energy": per_atom + (np.arange(len(n_atoms)),)}
    for name, pred, ref, frame in (("forces", forces, forces_ref, force_frame),
                                   ("stress", stress, stress_ref, stress_frame),
                                   ("atomic_energies", energies, energies_ref, energies_frame)):
        if pred is not None and len(pred):
            values[name] = (np.asarray(pred, dtype=np.float64), np.asarray(ref, dtype=np.float64),
                            np.asarray(frame))
    report = ErrorReport({})
    for name, (pred, ref, frame) in values.items():
        factor = UNITS[name][1]
        # one structure label per value, so every component of an atom or a stress counts
        frames = np.broadcast_to(frame.reshape((-1,) + (1,) * (pred.ndim - 1)), pred.shape)
        report.stats[name] = Stats.of((pred - ref) * factor, frames)
        parity = 1.0 / GPA if name == "stress" else 1.0
        report.parity[name] = (np.ravel(ref) * parity, np.ravel(pred) * parity)
        if groups is not None:
            labels = np.asarray(groups, dtype=object)[np.ravel(frames)]
            residual = np.ravel(pred - ref) * factor
            for label in sorted(set(labels.tolist())):
                mask = labels == label
                report.groups.setdefault(label, {})[name] = Stats.of(
                    residual[mask], np.ravel(frames)[mask])
    if groups is not None:
        report.groups = {k: report.groups[k] for k in sorted(report.groups)}
    ref_e = values["energy"][1]
    if len(ref_e) > 1:
        report.trivial["energy"] = float(np.sqrt(np.mean((ref_e - ref_e.mean()) ** 2))
                                         * UNITS["energy"][1])
    if "forces" in values:
        report.trivial["forces"] = float(np.sqrt(np.mean(values["forces"][1] ** 2)))
    return report


def _has_training_range(potential):
    """True when any descriptor column of the model has a training range to check."""
    members = getattr(potential, "members", [potential])
    return any(np.isfinite(training_range(m.scalings[e])[0]).any()
               for m in members for e in m.elements)


def compare_references(potential, refs, group=None, stress=True):
    """:func:`compare` of ``potential`` against reference structures (objects with
    ``atoms``, ``energy``, ``forces`` and ``stress``, as
    :func:`ase_nnp.training.dataset.read` returns), one evaluation each. ``group``:
    an ``atoms.info`` key to break the errors down by ("(none)" where a structure
    has none); ``stress=False`` skips the stress."""
    n, energy, energy_ref = [], [], []
    forces, stresses = ([], [], []), ([], [], [])
    outside = []
    for k, ref in enumerate(refs):
        a = ref.atoms
        want_stress = stress and ref.stress is not None
        res = potential.evaluate(a.positions, a.numbers, a.cell[:], a.pbc,
                                 forces=ref.forces is not None, stress=want_stress)
        outside.append(0 if res.outside is None else int(np.count_nonzero(res.outside)))
        n.append(len(a))
        energy.append(res.energy)
        energy_ref.append(ref.energy)
        if ref.forces is not None:
            forces[0].append(res.forces)
            forces[1].append(ref.forces)
            forces[2].append(np.full(len(a), k))
        if want_stress:
            stresses[0].append(np.reshape(res.stress, (1, 3, 3)))
            stresses[1].append(np.reshape(ref.stress, (1, 3, 3)))
            stresses[2].append([k])
    labels = None if group is None else [str(r.atoms.info.get(group, "(none)")) for r in refs]
    extra = {}
    for names, parts in ((("forces", "forces_ref", "force_frame"), forces),
                         (("stress", "stress_ref", "stress_frame"), stresses)):
        if parts[0]:
            extra.update(zip(names, (np.concatenate(p) for p in parts)))
    report = compare(n, energy, energy_ref, groups=labels, **extra)
    report.extrapolation = Extrapolation(sum(outside), int(sum(n)),
                                         sum(1 for x in outside if x), len(outside),
                                         _has_training_range(potential))
    return report
