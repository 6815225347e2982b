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

and ``members_energy`` (the K totals). Every member's energy, forces and stress are
exact derivatives of its own energy, so the means are the exact derivatives of Ē.

Replica ensembles (:mod:`ase_nnp.training.replicas`) carry a ``reference``: the
potential whose predictions the ensemble reports (energy, forces, stress, per-atom
energies are the reference's), while the spreads are those of the members, replicas
trained on the reference's own per-atom energies.

Cost: all members share one :class:`~ase_nnp.potential.Structure` (checks and the
neighbour list); when the descriptor family has a fused kernel
(:mod:`ase_nnp.engine`) the descriptor values and triplet records are computed once
per atom and each member adds only its network and backward pass.
"""

from dataclasses import dataclass

import numpy as np

from .descriptors.base import same_specification
from .engine import has_fused_kernel, members_energies_and_pair_gradients, pack_networks
from .potential import (Potential, atomic_stresses_from_pair_gradients,
                        forces_from_pair_gradients)
from .threads import threads_for


@dataclass
class EnsembleEvaluation:
    energy: float                      # mean over members (eV)
    energies: np.ndarray               # (n,) mean per-atom energies
    energy_std: float
    energies_std: np.ndarray           # (n,)
    members_energy: np.ndarray         # (K,)
    outside: np.ndarray = None         # (n,) columns outside the training range (max over
    excess: np.ndarray = None          # (n,) members) and the largest excess
    forces: np.ndarray = None          # (n, 3) mean
    forces_std: np.ndarray = None      # (n,)  sqrt(mean_k |F_k - F̄|²)
    stress: np.ndarray = None          # (3, 3) mean, only with full periodicity
    stress_std: np.ndarray = None      # (3, 3) per component
    stresses: np.ndarray = None        # (n, 3, 3) mean per-atom stresses
    members_forces: np.ndarray = None  # (K, n, 3)


class Ensemble:
    """K :class:`~ase_nnp.Potential` members with the same elements and descriptor
    specification (module docstring). ``Ensemble.load(path)`` / ``save(path)`` use one
    ``.nnp`` file (format version 3)."""

    def __init__(self, members, metadata=None, reference=None):
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
                                  min_distances=m.min_distances) for m in members]
        self.metadata = dict(metadata or {})
        self._nets = None
        self.reference = reference
        if reference is not None and reference.elements != first.elements:
            raise ValueError(f"the reference covers {reference.elements}, the members "
                             f"{first.elements}")

    @classmethod
    def from_members(cls, members, metadata=None, reference=None):
        return cls(members, metadata, reference)

    def __len__(self):
        return len(self.members)

    def __repr__(self):
        return f"Ensemble({len(self)} members, elements={self.elements}, cutoff={self.cutoff})"

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
    def _members_pass(self, st, gradients):
        """(E[k, i], g[k, p] or None, outside, excess) of every member on Structure ``st``;
        the training-range counts are the largest over the members."""
        nl, species = st.nl, st.species
        if gradients and has_fused_kernel(self.descriptor):
            if self._nets is None:
                self._nets = pack_networks(*self.members)
            E, g, outside, excess = members_energies_and_pair_gradients(self.members, nl,
                                                                        species, self._nets)
            for k, m in enumerate(self.members):
                if m.repulsion is not None:
                    E_rep, g_rep = m.repulsion.energies_and_pair_gradients(nl, species)
                    E[k] += E_rep
                    g[k] += g_rep
            return E, g, outside, excess
        shared = self.descriptor.evaluate_pass(nl, species, jacobian=gradients)
        passes = [m._pass(nl, species, gradients, descriptors=shared) for m in self.members]
        E = np.stack([p.E for p in passes])
        g = np.stack([p.g for p in passes]) if gradients else None
        return (E, g, np.max([p.outside for p in passes], axis=0),
                np.max([p.excess for p in passes], axis=0))

    def evaluate(self, positions, numbers, cell, pbc, forces=True, stress=True):
        """Means and spreads of every member's predictions (:class:`EnsembleEvaluation`);
        stress only with periodicity in all three directions."""
        with threads_for(len(numbers)):
            st = self.members[0].prepare(positions, numbers, cell, pbc)
            return self.evaluate_structure(st, forces, stress)

    def evaluate_structure(self, st, forces=True, stress=True):
        """As :meth:`evaluate`, on a prepared :class:`~ase_nnp.potential.Structure`."""
        checked = []
        for m in self.members:      # one warning per distinct training range, not per member
            md = m.min_distances
            if not any(md is c or (md is not None and c is not None and
                                   np.array_equal(md, c, equal_nan=True)) for c in checked):
                checked.append(md)
                m.check_training_range(st.nl, st.species, st.r_min)
        want_stress = stress and st.volume > 0
        gradients = forces or want_stress
        E, g, outside, excess = self._members_pass(st, gradients)
        totals = E.sum(axis=1)
        out = EnsembleEvaluation(energy=float(totals.mean()), energies=E.mean(axis=0),
                                 energy_std=float(totals.std()), energies_std=E.std(axis=0),
                                 members_energy=totals, outside=outside, excess=excess)
        if gradients:
            n = len(st.species)
            if forces:
                Fk = np.stack([forces_from_pair_gradients(st.nl, gk, n) for gk in g])
                out.forces = Fk.mean(axis=0)
                out.forces_std = np.sqrt(((Fk - out.forces) ** 2).sum(axis=2).mean(axis=0))
                out.members_forces = Fk
            if want_stress:
                Sk = np.stack([atomic_stresses_from_pair_gradients(st.nl, gk, n, st.volume)
                               for gk in g])
                out.stresses = Sk.mean(axis=0)
                totals_s = Sk.sum(axis=1)
                out.stress = totals_s.mean(axis=0)
                out.stress_std = totals_s.std(axis=0)
        if self.reference is not None:
            # a replica ensemble reports the reference's predictions with the members' spreads
            ref = self.reference.evaluate_structure(st, forces, stress)
            out.energy, out.energies = ref.energy, ref.energies
            out.forces, out.stress, out.stresses = ref.forces, ref.stress, ref.stresses
            out.outside = np.maximum(out.outside, ref.outside)
            out.excess = np.maximum(out.excess, ref.excess)
        return out

    # ----------------------------------------------------------------- I/O
    def save(self, path, **metadata):
        """Write one ``.nnp`` file holding every member, atomically."""
        from .modelfile import write_ensemble
        write_ensemble(self, path, metadata)

    @classmethod
    def load(cls, path):
        """Read an ensemble file; a single-potential file gives an ensemble of one."""
        loaded = load(path)
        return loaded if isinstance(loaded, Ensemble) else cls([loaded])


def load(path):
    """A model file as what it holds: a :class:`~ase_nnp.Potential`, or an
    :class:`Ensemble` for an ensemble file."""
    from .modelfile import read
    return read(path, Potential, Ensemble.from_members)
