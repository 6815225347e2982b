r"""Evaluating K ≥ 1 potentials with one descriptor on one structure: one pass, one result.

A :class:`~ase_nnp.Potential` is the K = 1 view of :func:`evaluate_members` and an
:class:`~ase_nnp.Ensemble` the means and spreads over its K members; both return an
:class:`Evaluation`.

The pass (:func:`members_pass`)
-------------------------------
For every member k it gives the atomic energies E_i^(k) and, when gradients are asked
for, the pair gradients g_p^(k) = ∂E^(k)/∂D_p (:mod:`ase_nnp.potential`), the short-range
repulsion of each member included, and per atom the descriptor columns outside the
training range (the most over the members) and the largest excess. Three ways give the
same numbers (tests hold them to 1e-11):

* with gradients, the descriptor family's fused kernel (:mod:`ase_nnp.engine`): per atom
  the descriptor once, then each member's network and backward pass;
* a shared :class:`~ase_nnp.descriptors.base.DescriptorPass` (G, and J = ∂G/∂D for
  gradients), given by the caller or made here for K > 1 when the family has no fused
  kernel: each member's g_p is a contraction of its ∂E_i/∂G_i with J;
* for one potential without a fused kernel, or without gradients: ``descriptor.forward``,
  the networks (forward only without gradients) and, for gradients,
  ``descriptor.backward``.

Forces and stress from pair gradients
-------------------------------------
    F_a = Σ_{p: i_p = a} g_p − Σ_{p: j_p = a} g_p,
    σ_i = (1/V) Σ_{p: i_p = i} D_p ⊗ g_p,   σ = Σ_i σ_i          (ASE's sign)

(derivation in :mod:`ase_nnp.potential`).

Means and spreads
-----------------
With ``spread`` (an ensemble) the :class:`Evaluation` holds the members' means and their
population standard deviations as :mod:`ase_nnp.committee` defines them, and the members'
totals; without it (one potential's view) only the values, the spread fields ``None``.

Extrapolation grade
-------------------
Members that carry an active set (``potential.active_set``) give each atom's grade γ
(:mod:`ase_nnp.extrapolation_grade`) from the last hidden layer the pass kept; the
:class:`Evaluation` holds the largest γ over those members (``None`` when none has one),
and ``forces_grade`` γ^F, the largest γ over each atom and its neighbours (what the force
on the atom depends on).
"""

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import engine
from .descriptors.base import backward_from_jacobian
from .engine import MembersPass, has_fused_kernel
from .extrapolation_grade import neighbourhood_max


@dataclass
class Evaluation:
    """What one evaluation gives: values (the members' means for an ensemble) and, for an
    ensemble, the spreads (``None`` in a single potential's view)."""
    energy: float                      # eV
    energies: np.ndarray               # (n,) per-atom energies
    outside: np.ndarray = None         # (n,) descriptor columns outside the training range
    excess: np.ndarray = None          # (n,) largest excess, in units of the column's range
    forces: np.ndarray = None          # (n, 3)
    stress: np.ndarray = None          # (3, 3), only with full periodicity
    stresses: np.ndarray = None        # (n, 3, 3), sum to stress
    energy_std: float = None           # the spreads over an ensemble's members
    extrapolation_grade: np.ndarray = None  # (n,) γ, with an active set (largest over members)
    forces_grade: np.ndarray = None    # (n,) γ^F: the largest γ of the atom and its neighbours
    energies_std: np.ndarray = None    # (n,)
    forces_std: np.ndarray = None      # (n,)  sqrt(mean_k |F_k - F̄|²)
    stress_std: np.ndarray = None      # (3, 3) per component
    members_energy: np.ndarray = None  # (K,)
    members_forces: np.ndarray = None  # (K, n, 3)
    calibrated: object = None          # uncertainty.CalibratedSpreads of a calibrated model


def members_pass(potentials, nl, species, gradients=True, descriptors=None, nets=None,
                 fused=True, features=False):
    """The :class:`~ase_nnp.engine.MembersPass` (E[k, i], g[k, p] or None without
    ``gradients``, outside, excess) of K potentials with one descriptor specification on
    neighbour list ``nl`` (module docstring). ``descriptors``: a shared
    :class:`~ase_nnp.descriptors.base.DescriptorPass` of this structure (its Jacobian is
    needed for gradients); ``nets``: ``engine.pack_networks(*potentials)`` when the caller
    keeps it; ``fused=False`` leaves the fused kernel out; ``features``: each member's
    last hidden layer per atom as well (``MembersPass.features``, for the extrapolation
    grade)."""
    desc = potentials[0].descriptor
    H = None
    if gradients and fused and descriptors is None and has_fused_kernel(desc):
        E, g, outside, excess, H = engine.members_energies_and_pair_gradients(
            potentials, nl, species, nets, features)
    else:
        if descriptors is not None and gradients and descriptors.J is None:
            raise ValueError("forces from a shared descriptor pass need its Jacobian: make "
                             "it with evaluate_pass(..., jacobian=True)")
        if descriptors is None and gradients and len(potentials) > 1:
            descriptors = desc.evaluate_pass(nl, species, jacobian=True)
        G = desc.forward(nl, species) if descriptors is None else descriptors.G
        E = np.empty((len(potentials), len(species)))
        g = np.empty((len(potentials), nl.n_pairs, 3)) if gradients else None
        outside = np.zeros(len(species), dtype=np.int64)
        excess = np.zeros(len(species))
        if features:
            width = max(max(net.layer_sizes[-2] for net in pot.networks.values())
                        for pot in potentials)
            H = np.zeros((len(potentials), len(species), width))
        for k, pot in enumerate(potentials):
            if features:
                for e, (idx, x) in pot.network_inputs(G, species).items():
                    h = pot.networks[e].last_hidden(x)
                    H[k, idx, :h.shape[1]] = h
            count, over = pot.outside_training_range(G, species)
            np.maximum(outside, count, out=outside)
            np.maximum(excess, over, out=excess)
            if not gradients:
                E[k] = pot.atomic_energies(G, species)
                continue
            E[k], dEdG = pot.atomic_energies_and_gradients(G, species)
            g[k] = (desc.backward(nl, species, dEdG) if descriptors is None else
                    backward_from_jacobian(nl.first, dEdG, descriptors.J))
    for k, pot in enumerate(potentials):
        if pot.repulsion is not None:
            E_rep, g_rep = pot.repulsion.energies_and_pair_gradients(nl, species)
            E[k] += E_rep
            if gradients:
                g[k] += g_rep
    return MembersPass(E, g, outside, excess, H)


def check_training_ranges(potentials, structure):
    """Each distinct training range of the interatomic distances checked once
    (:meth:`~ase_nnp.Potential.check_training_range`): one warning, not one per member."""
    checked = []
    for pot in potentials:
        md = pot.min_distances
        if not any(md is c or (md is not None and c is not None and
                               np.array_equal(md, c, equal_nan=True)) for c in checked):
            checked.append(md)
            pot.check_training_range(structure.nl, structure.species, structure.r_min)


def evaluate_members(potentials, structure, forces=True, stress=True, descriptors=None,
                     nets=None, spread=True):
    """The :class:`Evaluation` of K ≥ 1 potentials with one descriptor specification on a
    prepared :class:`~ase_nnp.potential.Structure`: energy, per-atom energies and, as
    asked, forces and (full periodicity only) stress and per-atom stresses — the members'
    means, with their spreads and totals when ``spread``. Without forces and stress no
    backward pass runs. ``descriptors``, ``nets``: as for :func:`members_pass`."""
    nl, species, volume = structure.nl, structure.species, structure.volume
    for pot in potentials:
        if nl.cutoff < pot.cutoff - 1e-12:
            raise ValueError(f"the structure was prepared at cutoff {nl.cutoff} Å, shorter "
                             f"than this potential's {pot.cutoff} Å")
    check_training_ranges(potentials, structure)
    want_stress = stress and volume > 0
    graded = [k for k, pot in enumerate(potentials)
              if getattr(pot, "active_set", None) is not None]
    E, g, outside, excess, H = members_pass(potentials, nl, species, forces or want_stress,
                                            descriptors, nets, features=bool(graded))
    totals = E.sum(axis=1)
    out = Evaluation(energy=float(totals.mean()), energies=E.mean(axis=0), outside=outside,
                     excess=excess)
    if graded:
        out.extrapolation_grade = np.max(
            [potentials[k].active_set.grades(potentials[k].elements, species, H[k])
             for k in graded], axis=0)
        out.forces_grade = neighbourhood_max(nl.i, nl.j, out.extrapolation_grade)
    if spread:
        out.energy_std, out.energies_std = float(totals.std()), E.std(axis=0)
        out.members_energy = totals
    n = len(species)
    if forces:
        Fk = np.stack([forces_from_pair_gradients(nl, gk, n) for gk in g])
        out.forces = Fk.mean(axis=0)
        if spread:
            out.forces_std = np.sqrt(((Fk - out.forces) ** 2).sum(axis=2).mean(axis=0))
            out.members_forces = Fk
    if want_stress:
        Sk = np.stack([atomic_stresses_from_pair_gradients(nl, gk, n, volume) for gk in g])
        out.stresses = Sk.mean(axis=0)
        totals_s = Sk.sum(axis=1)
        out.stress = totals_s.mean(axis=0)
        if spread:
            out.stress_std = totals_s.std(axis=0)
    return out


def forces_from_pair_gradients(nl, g, n_atoms):
    """F_a = Σ_{p: i_p = a} g_p - Σ_{p: j_p = a} g_p  (module docstring)."""
    return _forces(nl.i, nl.j, g, n_atoms)


def atomic_stresses_from_pair_gradients(nl, g, n_atoms, volume):
    """σ_i = (1/V) Σ_{p: i_p = i} D_p ⊗ g_p, shape (n_atoms, 3, 3); they sum to σ."""
    return _atomic_stresses(nl.i, nl.D, g, n_atoms, float(volume))


@njit(cache=True)
def _forces(i, j, g, n_atoms):
    """One pass over the pairs; the two sums are kept apart and subtracted at the end."""
    plus = np.zeros((n_atoms, 3))
    minus = np.zeros((n_atoms, 3))
    for p in range(i.shape[0]):
        a = i[p]
        b = j[p]
        for d in range(3):
            plus[a, d] += g[p, d]
            minus[b, d] += g[p, d]
    return plus - minus


@njit(cache=True)
def _atomic_stresses(i, D, g, n_atoms, volume):
    out = np.zeros((n_atoms, 3, 3))
    for p in range(i.shape[0]):
        a = i[p]
        for x in range(3):
            for y in range(3):
                out[a, x, y] += D[p, x] * g[p, y]
    return out / volume
