r"""An ensemble (committee) of potentials, and the spread of its predictions.

K members with one descriptor specification — different random initial weights,
training subsets, reference energies and scalings, as in the committees of Artrith
and Behler (Phys. Rev. B 85, 045439 (2012)) and the five-network estimate of Yoo et
al. (Phys. Rev. Materials 3, 093802 (2019)) — predict E^(k), E_i^(k), F_a^(k),
σ^(k). The ensemble reports the means

    Ē = (1/K) Σ_k E^(k),   Ē_i, F̄_a, σ̄ likewise,

and the *population* standard deviations (divided by K, not K - 1: the spread of
these K members, numpy's ``std(ddof=0)``)

    energy_std    = sqrt((1/K) Σ_k (E^(k) - Ē)²)                      (eV)
    energies_std  = sqrt((1/K) Σ_k (E_i^(k) - Ē_i)²)                  (eV, per atom)
    forces_std    = sqrt((1/K) Σ_k |F_a^(k) - F̄_a|²)                  (eV/Å, per atom:
                    the spread of the force vector, the norm of its per-component σ)
    stress_std    = sqrt((1/K) Σ_k (σ_ab^(k) - σ̄_ab)²)  per component (eV/Å³, Voigt)

and ``members_energy`` (the K totals). These are the raw spreads; an ensemble with a
:class:`~ase_nnp.uncertainty.Calibration` (``ensemble.calibration``, fitted by
:func:`ase_nnp.calibrate`) also gives the calibrated error bars
(``Evaluation.calibrated``), which the calculator reports under the names above. Every member's energy, forces and stress are
exact derivatives of its own energy, so the means are the exact derivatives of Ē.

Replica ensembles (:mod:`ase_nnp.training.replicas`) carry a ``reference``: the
potential whose predictions the ensemble reports (energy, forces, stress, per-atom
energies are the reference's), while the spreads are those of the members, replicas
trained on the reference's own per-atom energies.

A *partner* (``partner``, ``partner_weight`` w) is a potential of another kind on the
same structures — the quadratic SNAP that :mod:`ase_nnp.training.ensemble` fits beside the
networks — mixed into every member: member k predicts

    M^(k) = (1 - w) E^(k) + w E_P,

so the reported values are (1 - w) Ē + w E_P (forces, stress and per-atom values alike,
each the exact derivative of this energy), the spreads are (1 - w) times the networks'
(the partner is one model: it adds nothing to the disagreement), and ``members_energy``
and ``members_forces`` are those of M^(k). The partner shares the members' neighbour list,
so it must have their cutoff. Extrapolation is judged on the members' descriptor.

Cost: all members share one :class:`~ase_nnp.potential.Structure` (checks and the
neighbour list); when the descriptor family has a fused kernel
(:mod:`ase_nnp.engine`) the descriptor values and triplet records are computed once
per atom and each member adds only its network and backward pass.
"""

import numpy as np

from .descriptors.base import same_specification
from .engine import has_fused_kernel, pack_networks
from .evaluation import evaluate_members
from .potential import Potential
from .threads import threads_for
from .modelfile import read, write_ensemble


class Ensemble:
    """K :class:`~ase_nnp.Potential` members with the same elements and descriptor
    specification (module docstring). ``Ensemble.load(path)`` / ``save(path)`` use one
    ``.nnp`` file (format version 3)."""

    def __init__(self, members, metadata=None, reference=None, partner=None,
                 partner_weight=0.0, calibration=None):
        members = [m if isinstance(m, Potential) else Potential.load(m) for m in members]
        if reference is not None and not isinstance(reference, Potential):
            reference = Potential.load(reference)
        if not members:
            raise ValueError("an ensemble needs at least one member")
        first = members[0]
        for k, m in enumerate(members[1:], 1):
            if m.elements != first.elements:
                raise ValueError(f"member {k} covers {m.elements}, member 0 {first.elements}")
            if not same_specification(m.descriptor, first.descriptor):
                raise ValueError(f"member {k} has another descriptor specification than "
                                 "member 0; an ensemble shares one descriptor")
        # the members share one descriptor object, so its compiled plan is built once
        self.members = [m if m.descriptor is first.descriptor else
                        Potential(m.elements, first.descriptor, networks=m.networks,
                                  scalings=m.scalings, energy_offsets=m.energy_offsets,
                                  metadata=m.metadata, repulsion=m.repulsion,
                                  min_distances=m.min_distances, active_set=m.active_set)
                        for m in members]
        self.metadata = dict(metadata or {})
        self.calibration = None
        self._nets = None
        self.reference = reference
        if reference is not None and reference.elements != first.elements:
            raise ValueError(f"the reference covers {reference.elements}, the members "
                             f"{first.elements}")
        self.partner, self.partner_weight = _check_partner(partner, partner_weight, first,
                                                           reference)
        self.set_calibration(calibration)

    @classmethod
    def from_members(cls, members, metadata=None, reference=None, partner=None,
                     partner_weight=0.0, calibration=None):
        return cls(members, metadata, reference, partner, partner_weight, calibration)

    def set_calibration(self, calibration):
        """Attach a :class:`~ase_nnp.uncertainty.Calibration` (None removes it); ValueError
        when it uses a signal this ensemble lacks."""
        if calibration is not None:
            calibration.check(self)
        self.calibration = calibration

    def __len__(self):
        return len(self.members)

    def __repr__(self):
        mix = "" if self.partner is None else (f", partner {partner_name(self.partner)}"
                                               f" with weight {self.partner_weight:.3g}")
        return f"Ensemble({len(self)} members, elements={self.elements}, cutoff={self.cutoff}{mix})"

    @property
    def elements(self):
        return self.members[0].elements

    @property
    def descriptor(self):
        return self.members[0].descriptor

    @property
    def cutoff(self):
        return self.members[0].cutoff

    # ------------------------------------------------------------ evaluate
    def evaluate(self, positions, numbers, cell, pbc, forces=True, stress=True):
        """Means and spreads of every member's predictions (an
        :class:`~ase_nnp.evaluation.Evaluation`); stress only with periodicity in all
        three directions."""
        with threads_for(len(numbers)):
            st = self.members[0].prepare(positions, numbers, cell, pbc)
            return self.evaluate_structure(st, forces, stress)

    def evaluate_structure(self, st, forces=True, stress=True):
        """As :meth:`evaluate`, on a prepared :class:`~ase_nnp.potential.Structure`:
        :func:`~ase_nnp.evaluation.evaluate_members` over the members, and for a replica
        ensemble the reference's values with the members' spreads."""
        if self._nets is None and has_fused_kernel(self.descriptor):
            self._nets = pack_networks(*self.members)
        out = evaluate_members(self.members, st, forces, stress, nets=self._nets)
        if self.reference is not None:
            # a replica ensemble reports the reference's predictions with the members' spreads
            ref = self.reference.evaluate_structure(st, forces, stress)
            out.energy, out.energies = ref.energy, ref.energies
            out.forces, out.stress, out.stresses = ref.forces, ref.stress, ref.stresses
            out.outside = np.maximum(out.outside, ref.outside)
            out.excess = np.maximum(out.excess, ref.excess)
        if self.partner is not None:
            mix(out, self.partner.evaluate_structure(st, forces, stress), self.partner_weight)
        if self.calibration is not None:
            out.calibrated = self.calibration.apply(out)
        return out

    # ----------------------------------------------------------------- I/O
    def save(self, path, **metadata):
        """Write one ``.nnp`` file holding every member, atomically."""
        write_ensemble(self, path, metadata)

    @classmethod
    def load(cls, path):
        """Read an ensemble file; a single-potential file gives an ensemble of one."""
        loaded = load(path)
        return loaded if isinstance(loaded, Ensemble) else cls([loaded])


def partner_name(partner):
    """'quadratic SNAP, 2J_max = 8' (a bispectrum partner) or the partner descriptor's
    class name."""
    d = partner.descriptor
    if not hasattr(d, "twojmax"):
        return type(d).__name__
    quadratic = bool(getattr(d, "flags", {}).get("quadraticflag", 0))
    return f"{'quadratic ' if quadratic else ''}SNAP, 2J_max = {d.twojmax}"


def _check_partner(partner, weight, first, reference):
    """(partner, weight) validated against member ``first`` (module docstring)."""
    if partner is None:
        if weight:
            raise ValueError(f"partner_weight = {weight} without a partner potential")
        return None, 0.0
    if not isinstance(partner, Potential):
        partner = Potential.load(partner)
    if reference is not None:
        raise ValueError("an ensemble has a reference (replicas) or a partner, not both")
    if partner.elements != first.elements:
        raise ValueError(f"the partner covers {partner.elements}, the members {first.elements}")
    if abs(partner.cutoff - first.cutoff) > 1e-9:
        raise ValueError(f"the partner's cutoff {partner.cutoff} Å differs from the members' "
                         f"{first.cutoff} Å; they share one neighbour list, so fit the partner "
                         "with the members' cutoff")
    weight = float(weight)
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"partner_weight = {weight} is outside [0, 1]")
    return partner, weight


def mix(out, other, w):
    """``out`` (an ensemble's :class:`~ase_nnp.evaluation.Evaluation`) becomes the mixture
    (1 - w)·out + w·other of the module docstring, in place: values mixed, spreads
    scaled by 1 - w, the members' totals mixed with ``other``'s."""
    a = 1.0 - w
    out.energy = a * out.energy + w * other.energy
    out.energies = a * out.energies + w * other.energies
    for name in ("forces", "stress", "stresses"):
        value = getattr(out, name)
        if value is not None:
            setattr(out, name, a * value + w * getattr(other, name))
    for name in ("energy_std", "energies_std", "forces_std", "stress_std"):
        value = getattr(out, name)
        if value is not None:
            setattr(out, name, a * value)
    if out.members_energy is not None:
        out.members_energy = a * out.members_energy + w * other.energy
    if out.members_forces is not None:
        out.members_forces = a * out.members_forces + w * other.forces
    return out


def load(path):
    """A model file as what it holds: a :class:`~ase_nnp.Potential`, or an
    :class:`Ensemble` for an ensemble file."""
    return read(path, Potential, Ensemble.from_members)
